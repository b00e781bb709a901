"""A worker on the user's own LiveKit project serving one room (``python -m agent join``).

The credentials go straight to the worker object and the room API client. LiveKit copies
a worker's credentials into ``os.environ`` when it starts, and job processes inherit the
environment of the process they are forked from; so the fork server is started first,
while the environment holds none of the user's credentials, and no child process ever
has them. The room gets the user's id in its metadata when it has none, so the job loads
that user's provider keys exactly like a dispatched job.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from multiprocessing import forkserver

from livekit import api

from byok.user_keys import LiveKitCredentials

from .config import Settings


async def _room_with_user(lk: LiveKitCredentials, room: str, user_id: str) -> api.Room:
    async with api.LiveKitAPI(lk.url, lk.api_key, lk.api_secret) as client:
        found = await client.room.list_rooms(api.ListRoomsRequest(names=[room]))
        if not found.rooms:
            meta = json.dumps({"user_id": user_id})
            return await client.room.create_room(api.CreateRoomRequest(name=room, metadata=meta))
        info = found.rooms[0]
        try:
            current = json.loads(info.metadata or "{}")
        except json.JSONDecodeError:
            current = None
        if not isinstance(current, dict) or current.get("user_id") != user_id:
            merged = {**(current if isinstance(current, dict) else {}), "user_id": user_id}
            info = await client.room.update_room_metadata(
                api.UpdateRoomMetadataRequest(room=room, metadata=json.dumps(merged))
            )
        return info


def serve_room(settings: Settings, lk: LiveKitCredentials, room: str, user_id: str) -> None:
    """A worker on the user's project that serves this one room, until interrupted."""
    from .worker import build_server

    # before the credentials reach the worker (which exports them to os.environ): job
    # processes are forked from this fork server and inherit its environment, not ours
    forkserver.ensure_running()
    server = build_server(settings)
    server.update_options(ws_url=lk.url, api_key=lk.api_key, api_secret=lk.api_secret)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    tasks: set[asyncio.Task[None]] = set()

    async def start_job() -> None:
        info = await _room_with_user(lk, room, user_id)
        # the agent announces its interview in its attributes: it needs the grant that a
        # dispatched agent's token carries and LiveKit's simulated job leaves out
        grants = api.VideoGrants(
            room_join=True, room=room, agent=True, can_update_own_metadata=True
        )
        jwt = (
            api.AccessToken(lk.api_key, lk.api_secret)
            .with_identity(f"interviewer-{uuid.uuid4().hex[:8]}")
            .with_kind("agent")
            .with_grants(grants)
            .to_jwt()
        )
        await server.simulate_job(room=room, fake_job=False, room_info=info, token=jwt)

    @server.once("worker_started")
    def _on_started() -> None:
        task = loop.create_task(start_job())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    try:
        loop.run_until_complete(server.run(devmode=True, unregistered=True))
    except KeyboardInterrupt:
        with contextlib.suppress(Exception):
            loop.run_until_complete(server.aclose())
