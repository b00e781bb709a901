"""An interview that survives a provider: with keys for two providers of a kind, the one
standing by takes over when the first fails mid-interview.

The worker's own session wiring (``providers_for`` over both keys: Deepgram hears with
OpenAI's streaming speech-to-text standing by, OpenAI speaks with Deepgram's Aura voice
standing by, through LiveKit's fallback adapters), the real plugins on local compatible
servers, real Silero VAD, espeak-ng speech in real time. The stand-ins fail for real: the
Deepgram server cuts its stream in the middle of an answer and refuses to reconnect; the
OpenAI voice starts answering 500; the OpenAI model starts answering 500 and Groq's (an
OpenAI-compatible API) takes over. The interview goes on, what was heard is saved, and
the switch is in ``metadata.errors`` and the report.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import pytest
from livekit.agents import utils

from agent.audio import load_vad
from agent.config import Settings
from agent.runtime import InterviewRuntime
from agent.session import InterviewSession, choice_for, providers_for
from bench.turn_taking import READY, Feed, greeted, quiet, replied
from feedback.render import markdown
from persistence import SqliteStore
from persistence.outbox import Outbox
from providers import Kind, ProviderKeys
from stages.metadata import parse_metadata

from .fake_deepgram import FakeDeepgram
from .fake_openai import FakeOpenAI, last_user_text
from .rooms.harness import DEEPGRAM_KEY, OPENAI_KEY, interviewer, speech

pytestmark = pytest.mark.skipif(
    not shutil.which("espeak-ng") and os.environ.get("CI") != "true",
    reason="espeak-ng is not installed (scripts/test-services installs it)",
)

ANSWER = (
    "I have built payment services for five years, and last year I led the move of our "
    "whole billing system to a new provider with two other engineers."
)
TAIL = "with two other engineers."
GROQ_KEY = "gsk-test-fallback-0123456789abcdef"
NEXT = "I would put a queue in front of the consumers and watch their lag closely."


async def _heard(rt: InterviewRuntime, words: str, limit_s: float = 40) -> None:
    deadline = time.monotonic() + limit_s
    while not any(m.role == "candidate" and words in m.text for m in rt.transcript.messages):
        assert time.monotonic() < deadline, f"never heard {words!r}: {rt.transcript.messages}"
        await asyncio.sleep(0.05)


def _switches(errors: list[dict]) -> list[tuple[str, str, str]]:
    return [(e["source"], e["from"], e["to"]) for e in errors if e.get("type") == "fallback"]


async def test_speech_to_text_fails_mid_answer_and_the_one_standing_by_hears_the_rest(
    tmp_path: Path,
):
    audio = {t: speech(t, tmp_path, Feed().rate) for t in (READY, ANSWER, NEXT)}
    async with (
        utils.http_context.open(),
        FakeOpenAI(interviewer) as openai,
        FakeDeepgram([READY, ANSWER], key=DEEPGRAM_KEY, drop_in_line=1, drop_after_s=1.0,
                     refuse_after_drop=True) as deepgram,
    ):  # fmt: skip
        openai.transcripts = [TAIL, NEXT]
        settings = Settings(
            _env_file=None, openai_base_url=openai.base_url, deepgram_base_url=deepgram.base_url
        )
        rt = InterviewRuntime(
            parse_metadata('{"job_role": "Backend Developer"}', require_user=False),
            room_name="stt-fallback",
        )
        keys = ProviderKeys(openai=OPENAI_KEY, deepgram=DEEPGRAM_KEY)
        async with greeted(rt, settings, keys, load_vad(), tmp_path, audio[READY]) as (
            interview, mic, speaker,
        ):  # fmt: skip
            await mic.speak(audio[ANSWER].tobytes())
            await _heard(rt, TAIL)
            await replied(speaker, 15)  # the interviewer answers what was heard
            await quiet(speaker)
            await mic.speak(audio[NEXT].tobytes())
            await _heard(rt, NEXT)
            await quiet(speaker)
            assert not rt.terminal, "the interview ended with the provider"
            row, feedback = await interview.finish()
    assert deepgram.drops == 1 and deepgram.refused >= 1
    said = [m for m in rt.transcript.messages if m.role == "candidate"]
    assert [m.text for m in said] == [READY, TAIL, NEXT]
    assert said[1].transcription_gap and not said[2].transcription_gap  # the cut one is marked
    assert set(openai.realtime_auth) == {f"Bearer {OPENAI_KEY}"}  # the candidate's own key
    assert row.ended_by != "error"
    assert ("stt", "deepgram", "openai") in _switches(row.metadata["errors"])
    switch = next(e for e in row.metadata["errors"] if e.get("type") == "fallback")
    assert deepgram.dropped_at is not None
    took = datetime.fromisoformat(switch["at"]).timestamp() - deepgram.dropped_at
    print(f"speech-to-text: Deepgram dropped, OpenAI serving {took:.2f} s later")
    assert row.metadata["providers"]["fallback"] == {"stt": ["openai"], "tts": ["deepgram"]}
    report = markdown(asdict(row), feedback.feedback_data)
    assert "Deepgram failed and OpenAI took over the speech-to-text" in report


async def test_the_voice_fails_mid_interview_and_the_one_standing_by_speaks(tmp_path: Path):
    audio = {t: speech(t, tmp_path, Feed().rate) for t in (READY, NEXT)}
    async with (
        utils.http_context.open(),
        FakeOpenAI(interviewer) as openai,
        FakeDeepgram([READY, NEXT], key=DEEPGRAM_KEY) as deepgram,
    ):
        settings = Settings(
            _env_file=None, openai_base_url=openai.base_url, deepgram_base_url=deepgram.base_url
        )
        rt = InterviewRuntime(
            parse_metadata('{"job_role": "Backend Developer"}', require_user=False),
            room_name="tts-fallback",
        )
        keys = ProviderKeys(openai=OPENAI_KEY, deepgram=DEEPGRAM_KEY)
        async with greeted(rt, settings, keys, load_vad(), tmp_path, audio[READY]) as (
            interview, mic, speaker,
        ):  # fmt: skip
            assert not deepgram.spoken  # OpenAI's voice greeted and replied
            openai.speech_status = 500  # from now on OpenAI's voice fails
            played = len(speaker.played)
            await mic.speak(audio[NEXT].tobytes())
            await _heard(rt, NEXT)
            deadline = time.monotonic() + 30
            while len(speaker.played) == played or speaker.playing:
                assert time.monotonic() < deadline, "the reply was never heard"
                await asyncio.sleep(0.05)
            assert not rt.terminal, "the interview ended with the voice"
            row, feedback = await interview.finish()
    assert deepgram.spoken, "Deepgram's voice never spoke"
    replies = [m.text for m in rt.transcript.messages if m.role == "agent"]
    assert deepgram.spoken[-1].split()[:2] == replies[-1].split()[:2]  # the last reply, voiced
    assert ("tts", "openai", "deepgram") in _switches(row.metadata["errors"])
    assert row.ended_by != "error"
    report = markdown(asdict(row), feedback.feedback_data)
    assert "OpenAI failed and Deepgram took over the voice" in report


def _groq_reply(body: dict) -> dict:
    if body.get("response_format"):
        return {"status": 500}  # the assessment is not under test here
    if last_user_text(body) is None:
        return {"content": "Hello from the standby model. Are you ready to begin?"}
    return {"content": "Thank you. Tell me about a project you are proud of."}


async def test_the_model_fails_mid_interview_and_the_one_standing_by_asks(
    tmp_path: Path, monkeypatch
):
    """OpenAI's model greets, then answers 500: Groq's (an OpenAI-compatible API at its
    own endpoint, with the candidate's Groq key) takes over the next reply."""
    failing = {"now": False}

    def openai_reply(body: dict) -> dict:
        return {"status": 500} if failing["now"] else interviewer(body)

    async with FakeOpenAI(openai_reply) as openai, FakeOpenAI(_groq_reply) as groq:
        monkeypatch.setenv("GROQ_BASE_URL", groq.base_url)
        settings = Settings(_env_file=None, openai_base_url=openai.base_url)
        rt = InterviewRuntime(parse_metadata("{}", require_user=False), room_name="llm-fallback")
        keys = ProviderKeys(openai=OPENAI_KEY, groq=GROQ_KEY)
        choice = choice_for(keys, rt).typed("a test of the model")
        assert [p.key for p in choice.chain(Kind.LLM)] == ["openai", "groq"]
        interview = InterviewSession(
            rt, providers_for(settings, keys, rt, vad=None, choice=choice),
            store=SqliteStore(tmp_path / "s.db"), outbox=Outbox(tmp_path / "o.db"),
            mode="test", checkpoints=False,
        )  # fmt: skip
        try:
            await interview.start()
            await interview.wait_for_greeting(10)
            failing["now"] = True
            await interview.session.run(user_input="Yes, I am ready.")
            await interview.driver.settle(20)
            assert not rt.terminal, "the interview ended with the model"
            rt.candidate_left(final=True)
            row, _ = await interview.finish()
        finally:
            await interview.aclose()
    replies = [m.text for m in rt.transcript.messages if m.role == "agent"]
    assert replies[0] == "Hello! Are you ready to begin?"  # OpenAI's model, before it failed
    assert replies[1] == "Thank you. Tell me about a project you are proud of."  # Groq's
    assert set(groq.auth_headers) == {f"Bearer {GROQ_KEY}"}  # the candidate's own Groq key
    assert ("llm", "openai", "groq") in _switches(row.metadata["errors"])
    assert row.metadata["providers"]["fallback"] == {"llm": ["groq"]}
    assert row.ended_by != "error"
