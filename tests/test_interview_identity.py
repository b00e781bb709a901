"""One identity per interview, newer never loses to older: the rules every store keeps.

Each test runs against the embedded SQLite store and against the real PostgreSQL +
PostgREST stack (the ``save_interview`` database function), through the same interface.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest

from persistence import FeedbackRecord, SqliteStore, StoreConflict
from persistence.outbox import Outbox
from persistence.supabase_store import SupabaseStore

from .test_supabase_stack import interview


@pytest.fixture(params=["sqlite", "supabase"])
async def store(request, tmp_path):
    if request.param == "sqlite":
        s = SqliteStore(tmp_path / "store.db")
        s.users = (str(uuid.uuid4()), str(uuid.uuid4()))
    else:
        stack = request.getfixturevalue("supabase_stack")
        s = SupabaseStore(stack.url, stack.service_key)
        tag = uuid.uuid4().hex[:8]
        s.users = (
            stack.create_user(f"ia-{tag}@example.com"),
            stack.create_user(f"ib-{tag}@example.com"),
        )
    yield s
    await s.aclose()


def fb(user, **data):
    return FeedbackRecord(user, {"status": "partial", **data})


def said(saved) -> list[str]:
    return [m["text"] for m in saved.interview.conversation["messages"]]


def convo(*texts: str) -> dict:
    return {
        "schema_version": 1,
        "messages": [{"role": "candidate", "text": t} for t in texts],
        "stages": [],
    }


async def test_a_reused_room_across_users_never_overwrites(store):
    a, b = store.users
    room = f"interview-ada-{uuid.uuid4().hex[:6]}"
    first = interview(room, a, conversation=convo("A's answer"))
    second = interview(room, b, conversation=convo("B's answer"))
    r1 = await store.save(first, fb(a, who="a"))
    r2 = await store.save(second, fb(b, who="b"))
    assert r1.room_name == room and r1.applied
    assert r2.room_name == f"{room}~{second.id[:8]}" and r2.applied
    got_a, got_b = await store.get(first.id), await store.get(second.id)
    assert (got_a.interview.user_id, said(got_a)) == (a, ["A's answer"])
    assert (got_b.interview.user_id, said(got_b)) == (b, ["B's answer"])
    assert got_a.feedback.feedback_data["who"] == "a" and got_b.feedback.feedback_data["who"] == "b"
    # both keep the real room name; the room's latest interview is B's
    assert got_a.interview.room_name == got_b.interview.room_name == room
    assert got_b.saved_room_name != got_a.saved_room_name
    assert (await store.latest_in_room(room)).interview_id in (first.id, second.id)
    # later versions of each land on their own row, under the name each was given
    r2b = await store.save(dataclasses.replace(second, revision=2, ended_by="candidate_left"), None)
    assert r2b.room_name == r2.room_name
    assert (await store.get(first.id)).interview.ended_by == "completed"


async def test_the_same_user_reusing_a_room_gets_two_interviews(store):
    a, _ = store.users
    room = f"practice-{uuid.uuid4().hex[:6]}"
    ids = []
    for n in range(3):
        rec = interview(room, a, conversation=convo(f"answer {n}"))
        ids.append(rec.id)
        await store.save(rec, fb(a, n=n))
    for n, iid in enumerate(ids):
        got = await store.get(iid)
        assert said(got) == [f"answer {n}"] and got.feedback.feedback_data["n"] == n
    assert len({(await store.get(i)).saved_room_name for i in ids}) == 3


async def test_a_row_never_changes_owner(store):
    a, b = store.users
    rec = interview(f"own-{uuid.uuid4().hex[:6]}", a)
    await store.save(rec, fb(a))
    with pytest.raises(StoreConflict):
        await store.save(dataclasses.replace(rec, user_id=b, revision=5), fb(b))
    got = await store.get(rec.id)
    assert got.interview.user_id == a and got.interview.revision == 1


async def test_newer_never_loses_to_older(store):
    a, _ = store.users
    room = f"rev-{uuid.uuid4().hex[:6]}"
    live = interview(room, a, revision=3, ended_by=None, conversation=convo("one", "two"))
    await store.save(live, None)
    final = dataclasses.replace(
        live, revision=7, ended_by="completed", conversation=convo("one", "two", "three")
    )
    assert (await store.save(final, fb(a, stage="computed"))).applied
    assessed = dataclasses.replace(final, revision=8)
    assert (await store.save(assessed, fb(a, stage="assessed", status="complete"))).applied
    # late arrivals: a checkpoint, a stale orphan recovered elsewhere, the computed push
    stale_orphan = dataclasses.replace(live, revision=4, ended_by="worker_shutdown")
    for late, late_fb in ((live, None), (stale_orphan, fb(a, stage="orphan")), (final, fb(a))):
        result = await store.save(late, late_fb)
        assert not result.applied
    got = await store.get(live.id)
    assert got.interview.revision == 8 and got.interview.ended_by == "completed"
    assert said(got) == ["one", "two", "three"]
    assert got.feedback.feedback_data["stage"] == "assessed"


async def test_at_an_equal_revision_the_ended_row_replaces_the_live_one(store):
    a, _ = store.users
    live = interview(f"tie-{uuid.uuid4().hex[:6]}", a, revision=4, ended_by=None)
    await store.save(live, None)
    recovered = dataclasses.replace(live, ended_by="worker_shutdown")
    assert (await store.save(recovered, fb(a))).applied
    assert not (await store.save(live, None)).applied  # and never back to live
    assert (await store.get(live.id)).interview.ended_by == "worker_shutdown"


async def test_find_resumable_is_this_room_instance_and_user_only(store):
    a, b = store.users
    room, sid = f"res-{uuid.uuid4().hex[:6]}", f"RM_{uuid.uuid4().hex[:8]}"

    def rec(user, ended_by, room_sid=sid, revision=1):
        md = {"room_name": room, "room_sid": room_sid}
        return interview(room, user, ended_by=ended_by, metadata=md, revision=revision)

    done = rec(a, "completed")
    other_instance = rec(a, None, room_sid="RM_other")
    other_user = rec(b, None)
    for r in (done, other_instance, other_user):
        await store.save(r, None)
    assert await store.find_resumable(room_name=room, room_sid=sid, user_id=a) is None
    lost = rec(a, "worker_shutdown", revision=2)
    await store.save(lost, fb(a))
    found = await store.find_resumable(room_name=room, room_sid=sid, user_id=a)
    assert found is not None and found.interview_id == lost.id


async def test_an_outbox_replay_of_an_old_version_changes_nothing(store, tmp_path):
    a, _ = store.users
    outbox = Outbox(tmp_path / "outbox.db")
    rec = interview(f"ob-{uuid.uuid4().hex[:6]}", a, revision=2)
    await outbox.put(rec, fb(a, v=2))
    await outbox.put(dataclasses.replace(rec, revision=1), fb(a, v=1))  # older: ignored
    result = await outbox.flush(store, force=True)
    assert result.pushed == 1 and result.remaining == 0
    got = await store.get(rec.id)
    assert got.interview.revision == 2 and got.feedback.feedback_data["v"] == 2


async def test_two_jobs_in_one_room_at_once_keep_their_own_interviews(store, tmp_path):
    """Two jobs dispatched to one room at the same time (a double dispatch, two workers):
    their checkpoints and finals interleave, each lands on its own row with its own words."""
    from agent.config import Settings
    from agent.simulate import run_simulation

    room = f"double-{uuid.uuid4().hex[:6]}"
    scripts = {
        "a": ["Yes, ready.", "I am the first job's candidate and I design databases.",
              "I want to lead a platform team."],
        "b": ["Ready when you are.", "I am the second job's candidate and I test medical devices.",
              "I want to work closer to clinicians.", "I ran the trials for an infusion pump."],
    }  # fmt: skip
    outbox = Outbox(tmp_path / "outbox.db")  # one worker's outbox, shared by both jobs

    async def job(key: str):
        return await run_simulation(
            scripts[key], "{}", settings=Settings(_env_file=None), store=store, outbox=outbox,
            offline=True, room_name=room,
        )  # fmt: skip

    a, b = await asyncio.gather(job("a"), job("b"))
    assert a.interview_id and b.interview_id and a.interview_id != b.interview_id
    for result, key in ((a, "a"), (b, "b")):
        got = await store.get(result.interview_id)
        candidate = [m["text"] for m in got.interview.conversation["messages"]
                     if m["role"] == "candidate"]  # fmt: skip
        assert candidate == scripts[key]
        assert got.interview.room_name == room and got.feedback is not None
    assert {(await store.get(r.interview_id)).saved_room_name for r in (a, b)} == {
        room,
        f"{room}~{(a if a.row['room_name'] != room else b).interview_id[:8]}",
    }
