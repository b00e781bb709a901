"""Provider faults through the local OpenAI-compatible server: the interview recovers
(retry) or ends gracefully with ``ended_by = "error"``; the transcript is always saved."""

from __future__ import annotations

import asyncio

import pytest
from livekit.agents import APIConnectOptions
from livekit.agents.voice.agent_session import SessionConnectOptions

from agent.config import Settings
from agent.simulate import run_simulation
from persistence import SqliteStore
from persistence.outbox import Outbox

from ..fake_openai import FakeOpenAI, last_user_text

pytestmark = pytest.mark.hostile

KEY = "sk-test-provider-faults-0123456789"
LINES = [
    "Yes, ready.",
    "I design APIs for a living and I enjoy it a lot.",
    "More detail on that answer.",
]


def server_with(fault, *, on_call: int, times: int):
    calls = {"n": 0}

    def decide(body):
        if body.get("response_format"):
            return {"status": 500}  # the assessment: keep it out of the way
        calls["n"] += 1
        reply = "Thanks. Could you tell me more about that project?"
        if last_user_text(body) is None:
            reply = "Hello! Are you ready to begin?"
        if on_call <= calls["n"] < on_call + times:
            return {**fault, "content": reply}
        return {"content": reply}

    return FakeOpenAI(decide), calls


async def simulate(server, tmp_path, room):
    settings = Settings(_env_file=None, openai_api_key=KEY, openai_base_url=server.base_url)
    return await run_simulation(
        LINES, None, settings=settings, store=SqliteStore(tmp_path / "s.db"),
        outbox=Outbox(tmp_path / "o.db"), room_name=room,
    )  # fmt: skip


@pytest.mark.parametrize(
    "fault",
    [{"status": 429}, {"status": 500}, {"cut_after": 2}, {"status": 503}],
    ids=["429", "500", "dropped-mid-stream", "503"],
)
async def test_transient_fault_is_retried_and_the_interview_goes_on(tmp_path, fault):
    server, calls = server_with(fault, on_call=2, times=1)
    async with server:
        result = await simulate(server, tmp_path, "room-transient")
    row = result.row
    assert row["ended_by"] == "candidate_left"  # the script ran out: no error
    said = [m["text"] for m in row["conversation"]["messages"] if m["role"] == "candidate"]
    assert said == LINES
    assert calls["n"] >= len(LINES) + 2  # the failed call was retried


@pytest.mark.parametrize(
    "fault", [{"status": 500}, {"cut_after": 1}], ids=["persistent-500", "persistent-drop"]
)
async def test_persistent_fault_ends_gracefully_and_keeps_the_transcript(tmp_path, fault):
    server, _ = server_with(fault, on_call=3, times=100)
    async with server:
        result = await simulate(server, tmp_path, "room-persistent")
    row = result.row
    assert row["ended_by"] == "error"
    assert row["metadata"]["end_reason"].startswith("LLM:")
    said = [m["text"] for m in row["conversation"]["messages"] if m["role"] == "candidate"]
    assert said[:2] == LINES[:2]
    assert result.interview_id is not None


async def test_stalled_stream_times_out_and_ends_gracefully(tmp_path, monkeypatch):
    # a short per-request timeout so the stall is detected quickly
    import agent.session as assembly

    original = assembly.AgentSession

    def fast_timeouts(*args, **kwargs):
        kwargs["conn_options"] = SessionConnectOptions(
            llm_conn_options=APIConnectOptions(max_retry=1, retry_interval=0.1, timeout=1.0)
        )
        return original(*args, **kwargs)

    monkeypatch.setattr(assembly, "AgentSession", fast_timeouts)
    server, _ = server_with({"stall_after": 1}, on_call=2, times=100)
    async with server:
        result = await simulate(server, tmp_path, "room-stall")
    assert result.row["ended_by"] == "error"
    assert [m["text"] for m in result.row["conversation"]["messages"] if m["role"] == "candidate"][
        :1
    ] == LINES[:1]


async def test_tts_failure_ends_gracefully_and_saves(tmp_path):

    from agent.plugins import build_first
    from agent.runtime import InterviewRuntime
    from agent.session import InterviewSession, Providers
    from bench.fakes import TimedAudioOutput
    from providers import Kind, ProviderKeys
    from stages.metadata import parse_metadata

    from ..fakes import ScriptedLLM

    async with FakeOpenAI(lambda body: {"content": "unused"}) as server:
        server.speech_status = 500
        settings = Settings(_env_file=None, openai_base_url=server.base_url)
        rt = InterviewRuntime(parse_metadata("{}", require_user=False), room_name="room-tts")
        providers = Providers(
            llm=ScriptedLLM({"<start>": "Hello! Are you ready to begin?"}),
            tts=build_first(settings, ProviderKeys(openai=KEY), Kind.TTS),
        )
        interview = InterviewSession(
            rt, providers, store=SqliteStore(tmp_path / "s.db"), outbox=Outbox(tmp_path / "o.db"),
            mode="test", checkpoints=False,
        )  # fmt: skip
        interview.session.output.audio = TimedAudioOutput()
        saver = interview.saver
        try:
            await interview.start()
            await asyncio.wait_for(interview.driver.ended.wait(), 60)
        finally:
            await interview.finish()
            await interview.session.aclose()
        assert server.speech_requests >= 1
    assert rt.machine.ended_by == "error"
    assert (rt.machine.end_reason or "").startswith("TTS")
    assert saver.interview_id is not None
