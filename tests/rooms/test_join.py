"""``python -m agent join``: an interview on the user's own LiveKit project, whose
credentials are opened from their row and never reach a child process's environment."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psutil
import pytest

from byok.sealing import Keyring
from persistence.supabase_store import SupabaseStore

from .harness import MASTER, ROOM_TESTS, Candidate, seal_keys, token
from .servers import LiveKitServer
from .test_worker_faults import wait_saved

pytestmark = ROOM_TESTS

USER_SECRET = "sk-test-users-own-livekit-secret-0123456789abcdef"


def start_join(user_id: str, room: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "agent", "join", "--user-id", user_id, "--room", room],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def environments_of(pid: int) -> list[tuple[list[str], bytes]]:
    """Each process of the tree under ``pid``: its command line and initial environment."""
    tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    return [(p.cmdline()[:3], Path(f"/proc/{p.pid}/environ").read_bytes()) for p in tree]


@pytest.fixture
def users_project(livekit_server):
    """The user's own LiveKit project: another server, with their own key and secret."""
    server = LiveKitServer(key=("users-key", USER_SECRET))
    yield server
    server.stop()


async def test_join_runs_an_interview_on_the_users_project_without_leaking_its_secret(
    users_project, supabase_stack, make_rig, tmp_path
):
    rig = await make_rig([])
    store = SupabaseStore(supabase_stack.url, supabase_stack.service_key)
    try:
        await seal_keys(supabase_stack, rig.user_id)
        row = await store.load_key_row(rig.user_id)
        ring = Keyring.parse(MASTER)
        for column, value in (("livekit_url_encrypted", users_project.url),
                              ("livekit_key_encrypted", users_project.api_key),
                              ("livekit_secret_encrypted", USER_SECRET)):  # fmt: skip
            row.sealed[column] = ring.seal(
                value, user_id=rig.user_id, field=column, salt=row.encryption_salt
            )
        await store.save_key_row(row)
    finally:
        await store.aclose()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI", "DEEPGRAM", "SUPABASE", "LIVEKIT", "BYOK", "INTERVIEW"))}  # fmt: skip
    env.update(rig.env, HEALTH_PORT="0")
    room = f"join-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "join.log"
    proc = start_join(rig.user_id, room, env, log)
    candidate = Candidate(users_project, room)
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while True:  # the room is created by join; the candidate joins once it exists
            try:
                await candidate.join(token(users_project, room, "ada"))
                break
            except Exception:
                assert asyncio.get_running_loop().time() < deadline, "could not join the room"
                await asyncio.sleep(0.5)
        interview_id = await candidate.greeted()
        # no process of the worker has the user's secret in its environment
        environments = environments_of(proc.pid)
        assert len(environments) >= 3  # the worker, its fork server, job and inference
        for cmdline, environ in environments:
            assert USER_SECRET.encode() not in environ, cmdline
        await candidate.rpc("interview.end")
        await candidate.wait_for_state(lambda s: s.get("status") == "saved")
    finally:
        await candidate.leave()
        os.killpg(proc.pid, 15)
        await asyncio.to_thread(proc.wait, 30)
    assert USER_SECRET not in log.read_text(errors="replace")
    saved = await wait_saved(supabase_stack, interview_id)
    assert saved["ended_by"] == "client_request" and saved["user_id"] == rig.user_id
