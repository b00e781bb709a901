"""A worker at its limit is given no new job: LiveKit sends the room to a worker with room.

The limit is ``WORKER_MAX_INTERVIEWS`` (one here): the worker's load is the share of its
interview slots in use (``agent/capacity.py``), and at the default threshold (1.0) the
full worker reports itself unavailable, so the server picks another.
"""

from __future__ import annotations

import uuid

from .harness import ROOM_TESTS, Candidate, dispatch, token

pytestmark = ROOM_TESTS

LINES = ["Yes, I am ready to begin."] * 4
FULL = "worker is at full capacity"
AVAILABLE = "worker is below capacity"


async def test_a_worker_at_its_limit_is_not_given_a_new_job(livekit_server, make_rig):
    rig = await make_rig(LINES)
    busy = rig.worker(livekit_server, WORKER_MAX_INTERVIEWS="1")
    await busy.wait_for("registered worker")
    first, second = (f"cap-{x}-{uuid.uuid4().hex[:6]}" for x in "ab")
    md = {"user_id": rig.user_id, "job_role": "Data Analyst"}
    candidates: list[Candidate] = []
    try:
        await dispatch(livekit_server, first, rig.agent_name, md)
        candidates.append(Candidate(livekit_server, first))
        await candidates[0].join(token(livekit_server, first, "ada"))
        await candidates[0].greeted()
        await busy.wait_for_job(first)
        await busy.wait_for(FULL)  # its one slot is in use, and it told the server
        spare = rig.worker(livekit_server)
        await spare.wait_for("registered worker")
        await dispatch(livekit_server, second, rig.agent_name, md)
        candidates.append(Candidate(livekit_server, second))
        await candidates[1].join(token(livekit_server, second, "grace"))
        await candidates[1].greeted()
        await spare.wait_for_job(second)
        assert busy.job_pid(second) is None
        assert not any(second in line for line in busy.lines)
    finally:
        for c in candidates:
            await c.leave()
    await busy.wait_for(AVAILABLE)  # the slot comes back when the interview ends
