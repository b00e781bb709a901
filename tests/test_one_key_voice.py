"""A voice interview with one key: OpenAI alone, or Deepgram alone.

The worker's own session wiring (``providers_for`` choosing from the keys), real Silero
VAD, the real OpenAI and Deepgram plugins on local compatible servers, espeak-ng speech
fed in real time, a loudspeaker that plays the interviewer in real time. With an OpenAI
key alone, OpenAI's streaming speech-to-text (the realtime transcription WebSocket)
hears the candidate and OpenAI's voice speaks; with a Deepgram key alone, Deepgram hears
and its Aura voice speaks the offline interviewer. Each server checks that the
candidate's own key was sent; the row says which providers ran and why, and so does the
report.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import pytest
from livekit.agents import utils

from agent.audio import load_vad
from agent.config import Settings
from agent.runtime import InterviewRuntime
from bench.turn_taking import READY, Feed, greeted, quiet
from feedback.render import html, markdown
from providers import ProviderKeys
from stages.metadata import parse_metadata

from .fake_deepgram import FakeDeepgram
from .fake_openai import FakeOpenAI
from .rooms.harness import DEEPGRAM_KEY, OPENAI_KEY, interviewer, speech

pytestmark = pytest.mark.skipif(
    not shutil.which("espeak-ng") and os.environ.get("CI") != "true",
    reason="espeak-ng is not installed (scripts/test-services installs it)",
)

ANSWER = "I build payment systems, and last year I led our move to a new provider."


async def _answer_heard(rt: InterviewRuntime, mic, speaker, audio, limit_s: float = 30) -> None:  # type: ignore[no-untyped-def]
    await mic.speak(audio.tobytes())
    deadline = time.monotonic() + limit_s
    while not any(m.role == "candidate" and "payment" in m.text for m in rt.transcript.messages):
        assert time.monotonic() < deadline, "the answer was never heard"
        await asyncio.sleep(0.05)
    await quiet(speaker)


async def test_an_openai_key_alone_gives_a_voice_interview(tmp_path: Path):
    audio = {t: speech(t, tmp_path, Feed().rate) for t in (READY, ANSWER)}
    async with utils.http_context.open(), FakeOpenAI(interviewer) as openai:
        openai.transcripts = [READY, ANSWER]
        openai.speech_seconds = 1.0
        settings = Settings(_env_file=None, openai_base_url=openai.base_url)
        rt = InterviewRuntime(
            parse_metadata('{"job_role": "Backend Developer"}', require_user=False),
            room_name="openai-only",
        )
        keys = ProviderKeys(openai=OPENAI_KEY)
        async with greeted(rt, settings, keys, load_vad(), tmp_path, audio[READY]) as (
            interview, mic, speaker,
        ):  # fmt: skip
            assert interview.providers.voice
            await _answer_heard(rt, mic, speaker, audio[ANSWER])
            row, feedback = await interview.finish()
    said = [m.text for m in rt.transcript.messages if m.role == "candidate"]
    assert ANSWER in said, said
    # OpenAI's streaming speech-to-text heard it, with the candidate's key
    assert openai.transcribed[:2] == [READY, ANSWER]
    assert openai.realtime_auth and set(openai.realtime_auth) == {f"Bearer {OPENAI_KEY}"}
    assert openai.realtime_queries[0]["intent"] == "transcription"
    audio_in = openai.sessions[0]["audio"]["input"]
    assert audio_in["transcription"]["model"] == "gpt-4o-mini-transcribe"
    assert openai.speech_requests >= 2  # the greeting and the reply, in OpenAI's voice
    assert set(openai.auth_headers) == {f"Bearer {OPENAI_KEY}"}
    chosen = row.metadata["providers"]
    assert chosen["mode"] == "voice" and chosen["interviewer"] == "model"
    assert (chosen["stt"], chosen["llm"], chosen["tts"]) == ("openai", "openai", "openai")
    assert row.metadata["models"]["stt"] == "gpt-4o-mini-transcribe"
    assert "speech-to-text by OpenAI, voice by OpenAI" in chosen["reason"]
    report = asdict(row)
    assert "speech-to-text by OpenAI" in markdown(report, feedback.feedback_data)
    assert "speech-to-text by OpenAI" in html(report, feedback.feedback_data)


async def test_a_deepgram_key_alone_gives_a_voice_interview_with_the_offline_interviewer(
    tmp_path: Path,
):
    audio = {t: speech(t, tmp_path, Feed().rate) for t in (READY, ANSWER)}
    async with (
        utils.http_context.open(),
        FakeDeepgram([READY, ANSWER], key=DEEPGRAM_KEY) as deepgram,
    ):
        deepgram.speech_seconds = 1.0
        settings = Settings(_env_file=None, deepgram_base_url=deepgram.base_url)
        rt = InterviewRuntime(
            parse_metadata('{"job_role": "Backend Developer"}', require_user=False),
            room_name="deepgram-only",
        )
        keys = ProviderKeys(deepgram=DEEPGRAM_KEY)
        async with greeted(rt, settings, keys, load_vad(), tmp_path, audio[READY]) as (
            interview, mic, speaker,
        ):  # fmt: skip
            assert interview.providers.voice
            await _answer_heard(rt, mic, speaker, audio[ANSWER])
            row, feedback = await interview.finish()
    said = [m.text for m in rt.transcript.messages if m.role == "candidate"]
    assert ANSWER in said, said
    assert deepgram.finals[:2] == [READY, ANSWER] and deepgram.rejected_keys == 0
    # the offline interviewer's words, in Deepgram's Aura voice
    greeting = rt.transcript.messages[0].text
    assert deepgram.spoken and deepgram.spoken[0].split()[:3] == greeting.split()[:3]
    assert deepgram.speak_queries[0]["model"] == "aura-2-thalia-en"
    assert len(deepgram.spoken) >= 2  # the greeting and the reply to "ready", at least
    chosen = row.metadata["providers"]
    assert (chosen["mode"], chosen["interviewer"]) == ("voice", "offline")
    assert (chosen["stt"], chosen["llm"], chosen["tts"]) == ("deepgram", None, "deepgram")
    assert row.metadata["models"]["tts"] == "aura-2-thalia-en"
    assert (
        "no model key (OpenAI, Anthropic, Google Gemini, Groq or the deployment's"
        in (chosen["reason"])
    )
    assert "offline interviewer" in markdown(asdict(row), feedback.feedback_data)
