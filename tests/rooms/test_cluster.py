"""Scaled out the way LiveKit scales: two server nodes sharing one Redis."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest

from .harness import Candidate, dispatch, token
from .servers import LiveKitServer, Redis, ServerUnavailable
from .test_worker_faults import wait_saved

pytestmark = [
    pytest.mark.livekit,
    pytest.mark.stack,
    pytest.mark.skipif(
        not shutil.which("espeak-ng") and os.environ.get("CI") != "true",
        reason="needs espeak-ng (Debian)",
    ),
]


@pytest.fixture
def cluster(livekit_server):  # the single-node fixture decides whether LiveKit is here
    try:
        redis = Redis()
    except ServerUnavailable as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(e))
    nodes = [LiveKitServer(redis=redis), LiveKitServer(redis=redis)]
    yield nodes
    for node in nodes:
        node.stop()
    redis.stop()


async def test_a_worker_on_one_node_serves_a_room_created_through_the_other(
    cluster, supabase_stack, make_rig
):
    first, second = cluster
    rig = await make_rig([])
    worker = rig.worker(first)  # registered with the first node only
    await worker.wait_for("registered worker")
    room = f"cluster-{uuid.uuid4().hex[:8]}"
    await dispatch(second, room, rig.agent_name, {"user_id": rig.user_id})
    candidate = Candidate(second, room)  # the candidate is on the second node
    await candidate.join(token(second, room, "ada"))
    try:
        agent = await candidate.wait_for_agent()
        interview_id = agent.attributes["interview.id"]
        await candidate.wait_until_heard(0.0)  # the greeting crossed the nodes
        await candidate.rpc("interview.end")
        await candidate.wait_for_state(lambda s: s.get("status") == "saved")
    finally:
        await candidate.leave()
    row = await wait_saved(supabase_stack, interview_id)
    assert row["ended_by"] == "client_request" and row["room_name"] == room
