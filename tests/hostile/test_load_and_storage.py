"""Load and storage faults against the real stack: everything saved, exactly once."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from aiohttp import ClientSession, web

from agent.config import Settings
from agent.simulate import run_simulation
from persistence import FeedbackRecord
from persistence.outbox import Outbox
from persistence.supabase_store import SupabaseStore

from ..local_server import LocalServer
from ..test_supabase_stack import interview

pytestmark = [pytest.mark.hostile, pytest.mark.stack]

SCRIPT = [
    "Yes, ready.",
    "I am a backend developer who enjoys building reliable payment systems in Python.",
    "I want to grow into a staff role where I can shape the architecture of a product.",
    "At my last company I built a reconciliation pipeline that cut manual fixes by half.",
]


async def test_twenty_concurrent_interviews_all_saved_exactly_once(supabase_stack, tmp_path):
    tag = uuid.uuid4().hex[:6]
    outbox = Outbox(tmp_path / "outbox.db")

    async def one(i: int) -> str | None:
        store = SupabaseStore(supabase_stack.url, supabase_stack.service_key)
        try:
            result = await run_simulation(
                SCRIPT, json.dumps({"job_role": "Backend Developer"}), settings=Settings(_env_file=None),
                store=store, outbox=outbox, offline=True, room_name=f"load-{tag}-{i}",
            )  # fmt: skip
            return result.interview_id
        finally:
            await store.aclose()

    ids = await asyncio.gather(*(one(i) for i in range(20)))
    assert all(ids) and len(set(ids)) == 20
    assert (
        supabase_stack.psql(f"select count(*) from interviews where room_name like 'load-{tag}-%'")
        == "20"
    )
    assert (
        supabase_stack.psql(
            f"select count(*) from feedback f join interviews i on i.id=f.interview_id where i.room_name like 'load-{tag}-%'"
        )
        == "20"
    )
    assert (await outbox.status()).pending == 0


class FaultProxy:
    """Between the store and the /rest/v1 proxy: answers 500, or waits, on demand."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode = "pass"
        self.delay_s = 0.0
        self.seen = 0
        self._server = LocalServer()
        self.url = ""

    async def __aenter__(self) -> FaultProxy:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        await self._server.start(app)
        self.url = self._server.origin
        self._client = ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.close()
        await self._server.stop()

    async def _handle(self, request: web.Request) -> web.Response:
        self.seen += 1
        if self.mode == "500":
            return web.json_response({"message": "injected failure"}, status=500)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        async with self._client.request(request.method, self.upstream + request.rel_url.path_qs,
                                        headers=headers, data=await request.read()) as resp:  # fmt: skip
            body = await resp.read()
            out = {k: v for k, v in resp.headers.items()
                   if k.lower() not in ("content-length", "transfer-encoding", "content-encoding")}  # fmt: skip
            return web.Response(status=resp.status, body=body, headers=out)


@pytest.mark.parametrize("fault", ["500", "slow"])
async def test_store_errors_and_slowness_lose_nothing_duplicate_nothing(
    supabase_stack, tmp_path, fault
):
    outbox = Outbox(tmp_path / "outbox.db")
    rooms = [f"fault-{fault}-{uuid.uuid4().hex[:6]}-{i}" for i in range(5)]
    async with FaultProxy(supabase_stack.url) as proxy:
        store = SupabaseStore(proxy.url, supabase_stack.service_key, timeout_s=2)
        try:
            if fault == "500":
                proxy.mode = "500"
            else:
                proxy.delay_s = 5.0  # slower than the store's 2 s timeout
            for room in rooms:
                await outbox.put(interview(room, None), FeedbackRecord(None, {"status": "partial"}))
            first = await outbox.flush(store, force=True)
            assert first.pushed == 0 and first.remaining == 5
            proxy.mode, proxy.delay_s = "pass", 0.0
            second = await outbox.flush(store, force=True)
            assert second.pushed == 5 and second.remaining == 0
            assert (await outbox.flush(store, force=True)).pushed == 0
        finally:
            await store.aclose()
    for room in rooms:
        # a slow request may have reached the database after the client gave up: still one row
        assert (
            supabase_stack.psql(f"select count(*) from interviews where room_name='{room}'") == "1"
        )
        iid = supabase_stack.psql(f"select id from interviews where room_name='{room}'")
        assert (
            supabase_stack.psql(f"select count(*) from feedback where interview_id='{iid}'") == "1"
        )


async def test_postgres_restart_mid_flush(supabase_stack, tmp_path):
    outbox = Outbox(tmp_path / "outbox.db")
    store = SupabaseStore(supabase_stack.url, supabase_stack.service_key, timeout_s=3)
    rooms = [f"restart-{uuid.uuid4().hex[:6]}-{i}" for i in range(30)]
    for room in rooms:
        await outbox.put(interview(room, None), FeedbackRecord(None, {}))
    restart = asyncio.create_task(asyncio.to_thread(supabase_stack.restart_postgres))
    results = []
    try:
        results.append(await outbox.flush(store, force=True))
        await restart
        for _ in range(10):
            result = await outbox.flush(store, force=True)
            results.append(result)
            if result.remaining == 0:
                break
            await asyncio.sleep(1)
    finally:
        await store.aclose()
    assert results[-1].remaining == 0
    assert sum(r.pushed for r in results) == 30
    placeholders = ",".join(f"'{r}'" for r in rooms)
    assert (
        supabase_stack.psql(f"select count(*) from interviews where room_name in ({placeholders})")
        == "30"
    )
    assert (
        supabase_stack.psql(
            f"select count(*) from feedback f join interviews i on i.id=f.interview_id where i.room_name in ({placeholders})"
        )
        == "30"
    )
