"""Scaled out the way LiveKit scales: two server nodes sharing one Redis."""

from __future__ import annotations

import uuid

import pytest

from ..services import start_or_skip
from .harness import ROOM_TESTS, Candidate, dispatch, token
from .servers import LiveKitServer, Redis
from .test_worker_faults import wait_saved

pytestmark = ROOM_TESTS


@pytest.fixture
def cluster(livekit_server):  # the single-node fixture decides whether LiveKit is here
    redis = start_or_skip(Redis, "the cluster test")
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
        interview_id = await candidate.greeted()  # the greeting crossed the nodes
        await candidate.rpc("interview.end")
        await candidate.wait_for_state(lambda s: s.get("status") == "saved")
    finally:
        await candidate.leave()
    row = await wait_saved(supabase_stack, interview_id)
    assert row["ended_by"] == "client_request" and row["room_name"] == room
