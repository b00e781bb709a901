"""What every real-room test needs: a user with sealed keys, local providers, a worker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..fake_deepgram import FakeDeepgram
from ..fake_openai import FakeOpenAI
from .harness import DEEPGRAM_KEY, MASTER, WorkerProcess, interviewer, seal_keys


@dataclass
class Rig:
    """One real-room set-up: who the candidate is and where everything runs."""

    user_id: str
    agent_name: str
    openai: FakeOpenAI
    deepgram: FakeDeepgram
    env: dict[str, str]
    work: Path
    workers: list[WorkerProcess]

    def worker(self, server: Any, **env: str) -> WorkerProcess:
        w = WorkerProcess(server, self.agent_name, {**self.env, **env})
        self.workers.append(w)
        return w


@pytest.fixture
async def make_rig(supabase_stack, tmp_path) -> AsyncIterator[Callable[..., Any]]:
    """Makes a :class:`Rig`; stops its workers and local providers afterwards."""
    rigs: list[Rig] = []

    async def make(
        lines: list[str],
        reply: Callable[[dict], dict] = interviewer,
        keys: tuple[str, ...] = ("openai", "deepgram"),
    ) -> Rig:
        """``lines``: what the candidate says, for whichever speech-to-text hears them;
        ``keys``: the provider keys the user has saved."""
        user = supabase_stack.create_user(f"room-{uuid.uuid4().hex[:8]}@example.com")
        await seal_keys(supabase_stack, user, keys)
        openai = await FakeOpenAI(reply).__aenter__()
        openai.transcripts = list(lines)
        deepgram = await FakeDeepgram(lines, key=DEEPGRAM_KEY).__aenter__()
        env = {
            "SUPABASE_URL": supabase_stack.url,
            "SUPABASE_SERVICE_ROLE_KEY": supabase_stack.service_key,
            "BYOK_MASTER_KEYS": MASTER,
            "OPENAI_BASE_URL": openai.base_url,
            "DEEPGRAM_BASE_URL": deepgram.base_url,
            "INTERVIEW_OUTBOX_PATH": str(tmp_path / "outbox.db"),
            "INTERVIEW_DB_PATH": str(tmp_path / "interviews.db"),
        }
        rig = Rig(user, f"interviewer-{uuid.uuid4().hex[:6]}", openai, deepgram, env, tmp_path, [])
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        for w in rig.workers:  # off the loop: the local providers must keep answering
            await asyncio.to_thread(w.stop)
        await rig.openai.__aexit__(None, None, None)
        await rig.deepgram.__aexit__(None, None, None)
        # the stack is shared: keys sealed under this rig's master key must not trip
        # tests that walk every row (keys rotate)
        supabase_stack.psql(f"delete from user_api_keys where user_id = '{rig.user_id}'")
