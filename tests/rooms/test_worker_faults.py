"""The worker told to stop, a job process killed, two workers at once: nothing is lost."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid

from .harness import ROOM_TESTS, Candidate, dispatch, speech, token
from .test_dispatch import LINES, candidate_said, saved_row

pytestmark = ROOM_TESTS


async def wait_saved(
    stack, interview_id: str, ended_by: str | None = None, limit_s: float = 30, worker=None
):
    deadline = time.monotonic() + limit_s
    while True:
        row = saved_row(stack, interview_id)
        if (
            row
            and row["ended_by"] is not None
            and (ended_by is None or row["ended_by"] == ended_by)
        ):
            return row
        assert time.monotonic() < deadline, (
            f"interview {interview_id} not saved ({row and row['ended_by']}):\n"
            + (worker.tail(60) if worker else "")
        )
        await asyncio.sleep(0.2)


async def answer(candidate: Candidate, samples) -> None:
    t = await candidate.say(samples)
    await candidate.wait_until_heard(t)
    await candidate.wait_until_quiet()


async def test_sigterm_drains_a_live_interview_to_its_end(
    livekit_server, supabase_stack, make_rig, tmp_path
):
    rig = await make_rig(LINES)
    worker = rig.worker(livekit_server)
    await worker.wait_for("registered worker")
    room = f"drain-{uuid.uuid4().hex[:8]}"
    await dispatch(livekit_server, room, rig.agent_name, {"user_id": rig.user_id})
    candidate = Candidate(livekit_server, room)
    await candidate.join(token(livekit_server, room, "ada"))
    try:
        interview_id = await candidate.greeted()
        worker.signal(signal.SIGTERM)  # a deploy: the worker must let the interview finish
        await worker.wait_for("draining worker")
        await answer(candidate, speech(LINES[0], tmp_path))  # the interview goes on
        await candidate.rpc("interview.end")
        await candidate.wait_for_state(lambda s: s.get("status") == "saved")
    finally:
        await candidate.leave()
    row = await wait_saved(supabase_stack, interview_id)
    assert row["ended_by"] == "client_request" and candidate_said(row) == LINES[:1]
    assert worker.proc.wait(30) == 0  # and then it stopped


async def test_a_killed_job_is_saved_by_the_worker_and_continued_by_the_next_dispatch(
    livekit_server, supabase_stack, make_rig, tmp_path
):
    rig = await make_rig(LINES)
    worker = rig.worker(livekit_server)
    await worker.wait_for("registered worker")
    room = f"kill-{uuid.uuid4().hex[:8]}"
    metadata = {"user_id": rig.user_id, "job_role": "Backend Developer"}
    await dispatch(livekit_server, room, rig.agent_name, metadata)
    candidate = Candidate(livekit_server, room)
    await candidate.join(token(livekit_server, room, "ada"))
    said = [speech(line, tmp_path) for line in LINES]
    try:
        first = await candidate.wait_for_agent()
        interview_id = await candidate.greeted()
        await answer(candidate, said[0])
        await answer(candidate, said[1])
        os.kill(await worker.wait_for_job(room), signal.SIGKILL)
        # the running worker recovers the orphan and saves it (within its 15 s cycle)
        row = await wait_saved(
            supabase_stack, interview_id, "worker_shutdown", limit_s=40, worker=worker
        )
        assert candidate_said(row) == LINES[:2]
        # the web app dispatches again: the new job continues the same interview
        await dispatch(livekit_server, room, rig.agent_name, metadata)
        deadline = time.monotonic() + 60
        while (agent := candidate.agent()) is None or agent.identity == first.identity:
            assert time.monotonic() < deadline, f"no new agent:\n{worker.tail()}"
            await asyncio.sleep(0.1)
        assert (await candidate.wait_for_agent()).attributes["interview.id"] == interview_id
        resumed = time.monotonic()
        await candidate.wait_until_heard(resumed)  # "sorry, we were cut off ..."
        await candidate.wait_until_quiet()
        await answer(candidate, said[2])
        await candidate.rpc("interview.end")
        await candidate.wait_for_state(lambda s: s.get("status") == "saved")
    finally:
        await candidate.leave()
    row = await wait_saved(supabase_stack, interview_id, "client_request")
    assert candidate_said(row) == LINES
    assert row["metadata"]["generation"] == 1
    # the first reply of the new job was told to pick up where the interview stopped
    resumes = [r for r in rig.openai.requests
               if "interrupted for a moment" in r["messages"][0]["content"]]  # fmt: skip
    assert len(resumes) == 1
    count = supabase_stack.psql(
        f"select count(*) from interviews where metadata->>'room_name' = '{room}'"
    )
    assert count == "1"


async def test_two_workers_share_the_rooms_and_stopping_one_loses_nothing(
    livekit_server, supabase_stack, make_rig
):
    rig = await make_rig([])
    first = rig.worker(livekit_server)
    await first.wait_for("registered worker")
    candidates: list[tuple[Candidate, str]] = []

    async def open_room(n: int) -> None:
        room = f"pair-{n}-{uuid.uuid4().hex[:6]}"
        await dispatch(livekit_server, room, rig.agent_name, {"user_id": rig.user_id})
        c = Candidate(livekit_server, room, identity=f"c{n}")
        await c.join(token(livekit_server, room, f"c{n}"))
        candidates.append((c, room))

    try:
        for n in range(2):
            await open_room(n)
        second = rig.worker(livekit_server)
        await second.wait_for("registered worker")
        ids = [(await c.wait_for_agent()).attributes["interview.id"] for c, _ in candidates]
        first.signal(signal.SIGTERM)  # the first worker stops taking jobs and drains
        await first.wait_for("draining worker")
        for n in range(2, 4):
            await open_room(n)
        ids += [(await c.wait_for_agent()).attributes["interview.id"] for c, _ in candidates[2:]]
        # the first two rooms were served by the first worker, the last two by the second
        for (_, room), w in zip(candidates, (first, first, second, second), strict=True):
            await w.wait_for_job(room)
        for c, _ in candidates:
            await c.rpc("interview.end")
            await c.wait_for_state(lambda s: s.get("status") == "saved")
    finally:
        for c, _ in candidates:
            await c.leave()
    for interview_id in ids:
        assert (await wait_saved(supabase_stack, interview_id))["ended_by"] == "client_request"
    assert first.proc.wait(30) == 0


async def test_a_second_job_for_a_live_interview_leaves_the_room_to_it(
    livekit_server, supabase_stack, make_rig
):
    """A double dispatch while the interview runs: the second job finds the first
    interviewer in the room (alive), waits for it to leave, then leaves instead; the
    interview is not touched and no second one is started."""
    rig = await make_rig([])
    worker = rig.worker(livekit_server)
    await worker.wait_for("registered worker")
    room = f"double-{uuid.uuid4().hex[:8]}"
    metadata = {"user_id": rig.user_id}
    await dispatch(livekit_server, room, rig.agent_name, metadata)
    candidate = Candidate(livekit_server, room)
    await candidate.join(token(livekit_server, room, "ada"))
    try:
        interview_id = await candidate.greeted()
        await dispatch(livekit_server, room, rig.agent_name, metadata)
        await worker.wait_for("leaving: another interviewer already serves this room", limit_s=45)
        # it never joined the room: the candidate only ever saw one interviewer
        agents = [p for p in candidate.room.remote_participants.values() if p.kind == 4]
        assert [p.attributes.get("interview.id") for p in agents] == [interview_id]
        assert candidate.agents_seen == 1
        await candidate.rpc("interview.end")
        await candidate.wait_for_state(lambda s: s.get("status") == "saved")
    finally:
        await candidate.leave()
    row = await wait_saved(supabase_stack, interview_id)
    assert row["ended_by"] == "client_request" and row["metadata"]["generation"] == 0
    rows = supabase_stack.psql(
        f"select count(*) from interviews where metadata->>'room_name' = '{room}'"
    )
    assert rows == "1"
