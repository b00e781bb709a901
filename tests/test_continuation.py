"""A job lost mid-interview: the next job in the same room continues the same interview,
on this machine (the outbox) or another (the store), and nothing older wins afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest

from agent import worker
from agent.config import Settings
from agent.simulate import run_simulation
from agent.worker import find_continuation, flush_forever
from persistence import InterviewIdentity, InterviewRecord
from persistence.outbox import Outbox
from persistence.supabase_store import SupabaseStore

pytestmark = pytest.mark.stack

FIRST = [
    "Yes, I'm ready.",
    "I'm a backend developer; I have built payment services in Go and Python for six years.",
    "I want to own the reliability of a product that people depend on every day.",
]
SECOND = [
    "At my last company I led the move from a monolith to three services over a year.",
    "Let's skip this part.",
]

JOB = """
import asyncio, json, os, sys
from agent.config import Settings
from agent.simulate import run_simulation, stream_lines
from persistence import InterviewIdentity
from persistence.outbox import Outbox
from persistence.supabase_store import SupabaseStore

async def main():
    store = SupabaseStore(os.environ["SUPABASE_URL"], os.environ["SUPABASE_SERVICE_ROLE_KEY"])
    identity = InterviewIdentity(*sys.argv[1:4])
    await run_simulation(
        stream_lines(sys.stdin.readline), sys.argv[4], settings=Settings(_env_file=None),
        store=store, outbox=Outbox(sys.argv[5]), offline=True, identity=identity,
    )

asyncio.run(main())
"""


def checkpointed(outbox_path, interview_id: str) -> InterviewRecord | None:
    try:
        db = sqlite3.connect(outbox_path, timeout=1)
        row = db.execute(
            "select interview from checkpoints where interview_id = ?", (interview_id,)
        ).fetchone()
    except sqlite3.Error:
        return None
    return InterviewRecord(**json.loads(row[0])) if row else None


def replied_to(rec: InterviewRecord | None) -> int:
    """How many candidate messages the checkpoint holds, when the agent's reply to the last
    one is in it too (else one fewer)."""
    if rec is None:
        return 0
    messages = rec.conversation["messages"]
    said = sum(m["role"] == "candidate" for m in messages)
    return said if messages and messages[-1]["role"] == "agent" else said - 1


def lose_a_job(stack, outbox_path, identity: InterviewIdentity, metadata: str) -> InterviewRecord:
    """Run the first part of an interview in a job process, then SIGKILL it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "SUPABASE"))}
    env.update(SUPABASE_URL=stack.url, SUPABASE_SERVICE_ROLE_KEY=stack.service_key)
    proc = subprocess.Popen(
        [sys.executable, "-c", JOB, identity.interview_id, identity.room_name, identity.room_sid,
         metadata, str(outbox_path)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
        env=env,
    )  # fmt: skip
    try:
        for n, line in enumerate(FIRST, start=1):
            proc.stdin.write(line + "\n")
            proc.stdin.flush()
            deadline = time.monotonic() + 30
            while replied_to(checkpointed(outbox_path, identity.interview_id)) < n:
                assert time.monotonic() < deadline, "checkpoint never written"
                time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # the reply to the last answer is checkpointed too
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    rec = checkpointed(outbox_path, identity.interview_id)
    assert rec is not None
    return rec


def said(rows_conversation: dict) -> list[str]:
    return [m["text"] for m in rows_conversation["messages"] if m["role"] == "candidate"]


@pytest.mark.parametrize("where", ["same machine", "another machine"])
async def test_the_next_job_in_the_room_continues_the_interview(supabase_stack, tmp_path, where):
    user = supabase_stack.create_user(f"cont-{uuid.uuid4().hex[:8]}@example.com")
    room, sid = f"cont-{uuid.uuid4().hex[:6]}", f"RM_{uuid.uuid4().hex[:10]}"
    metadata = json.dumps({"user_id": user, "job_role": "Backend Developer"})
    first = InterviewIdentity.new(room, sid)
    lost = lose_a_job(supabase_stack, tmp_path / "a.db", first, metadata)
    assert lost.ended_by == "worker_shutdown"  # the checkpoint is the recovery form

    outbox = Outbox(tmp_path / ("a.db" if where == "same machine" else "b.db"))
    store = SupabaseStore(supabase_stack.url, supabase_stack.service_key)
    try:
        continuation = await find_continuation(
            outbox, store, room_name=room, room_sid=sid, user_id=user
        )
        assert continuation is not None and continuation.record.id == first.interview_id
        assert continuation.job_dead is (where == "same machine")
        found = continuation.record
        # another room instance with the same name, or another user: a new interview
        assert (
            await find_continuation(
                outbox, store, room_name=room, room_sid="RM_other", user_id=user
            )
            is None
        )
        identity = InterviewIdentity(found.id, room, sid, 0).continued()
        result = await run_simulation(
            SECOND, metadata, settings=Settings(_env_file=None), store=store, outbox=outbox,
            offline=True, identity=identity, resume=found,
        )  # fmt: skip
        assert result.interview_id == first.interview_id
        # later, the lost job's stale version turns up (a recovered orphan): it loses
        stale = Outbox(tmp_path / "stale.db")
        await stale.put(lost, None)
        flushed = await stale.flush(store, force=True)
        assert flushed.pushed == 1 and not flushed.saved[lost.id].applied
    finally:
        await store.aclose()

    rows = supabase_stack.psql(
        "select json_build_object('n', count(*), 'conversation', max(conversation::text), "
        "'metadata', max(metadata::text), 'ended_by', max(ended_by)) from interviews "
        f"where id = '{first.interview_id}'"
    )
    row = json.loads(rows)
    assert row["n"] == 1 and row["ended_by"] == "candidate_left"
    conversation, md = json.loads(row["conversation"]), json.loads(row["metadata"])
    assert said(conversation) == FIRST + SECOND
    assert md["generation"] == 1 and md["continued"][0]["from_revision"] >= 1
    agent_lines = [m["text"] for m in conversation["messages"] if m["role"] == "agent"]
    assert sum("we were cut off" in line for line in agent_lines) == 1
    for stage in conversation["stages"]:
        assert stage["answers"] <= stage["questions_asked"]
    assert [s["id"] for s in conversation["stages"] if s["status"] == "skipped"] == ["experience"]
    assert (
        supabase_stack.psql(
            f"select count(*) from interviews where metadata->>'room_name' = '{room}'"
        )
        == "1"
    )


async def test_the_running_worker_saves_an_orphan_within_seconds(
    supabase_stack, tmp_path, monkeypatch
):
    room, sid = f"orph-{uuid.uuid4().hex[:6]}", f"RM_{uuid.uuid4().hex[:10]}"
    identity = InterviewIdentity.new(room, sid)
    lose_a_job(supabase_stack, tmp_path / "outbox.db", identity, json.dumps({"job_role": "Nurse"}))
    monkeypatch.setattr(worker, "FLUSH_EVERY_S", 0.2)
    settings = Settings(
        _env_file=None,
        supabase_url=supabase_stack.url,
        supabase_service_role_key=supabase_stack.service_key,
        interview_outbox_path=str(tmp_path / "outbox.db"),
    )
    flusher = asyncio.create_task(flush_forever(settings))
    try:
        deadline = time.monotonic() + 30
        query = f"select coalesce(max(ended_by), '') from interviews where id = '{identity.interview_id}'"
        while supabase_stack.psql(query) != "worker_shutdown":
            assert time.monotonic() < deadline, "orphan not recovered by the running worker"
            await asyncio.sleep(0.2)
    finally:
        flusher.cancel()
    row = supabase_stack.psql(
        f"select conversation::text from interviews where id = '{identity.interview_id}'"
    )
    assert said(json.loads(row)) == FIRST
