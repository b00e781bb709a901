"""A voice interview heard by AssemblyAI's streaming speech-to-text, and AssemblyAI taking
over when the speech-to-text serving first fails.

The worker's own session wiring (``providers_for`` choosing from the keys and the
candidate's preference), real Silero VAD, the real AssemblyAI plugin on a local
AssemblyAI-compatible server (``ASSEMBLYAI_BASE_URL``), the real OpenAI plugin for the
model and the voice and the real Deepgram plugin on their local compatible servers,
espeak-ng speech fed in real time, a loudspeaker that plays the interviewer in real time.
Each server checks that the candidate's own key was sent; the row says which providers
ran, with which models, what they cost, and each switch.
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
from livekit import rtc
from livekit.agents import APIConnectOptions, APIStatusError, utils

from agent.audio import load_vad
from agent.config import Settings
from agent.plugins import build_first
from agent.runtime import InterviewRuntime
from bench.turn_taking import READY, Feed, greeted, quiet, replied
from feedback.render import markdown
from providers import Kind, ProviderKeys
from stages.metadata import parse_metadata

from .fake_assemblyai import FakeAssemblyAI
from .fake_deepgram import FakeDeepgram
from .fake_openai import FakeOpenAI
from .rooms.harness import DEEPGRAM_KEY, OPENAI_KEY, interviewer, speech

pytestmark = pytest.mark.skipif(
    not shutil.which("espeak-ng") and os.environ.get("CI") != "true",
    reason="espeak-ng is not installed (scripts/test-services installs it)",
)

ASSEMBLYAI_KEY = "aai-test-vendor-0123456789abcdef"
MODEL = "universal-streaming-english"
ANSWER = "I build payment systems, and last year I led our move to a new provider."
CUT = (
    "I have built payment services for five years, and I moved our billing system to a new "
    "provider with two other engineers."
)
TAIL = "with two other engineers."
NEXT = "I would put a queue in front of the consumers and watch their lag closely."


def _metadata(preference: str) -> str:
    return f'{{"job_role": "Backend Developer", "providers": {{"stt": {preference}}}}}'


async def _heard(rt: InterviewRuntime, words: str, limit_s: float = 20) -> None:
    deadline = time.monotonic() + limit_s
    while not any(m.role == "candidate" and words in m.text for m in rt.transcript.messages):
        assert time.monotonic() < deadline, f"never heard {words!r}: {rt.transcript.messages}"
        await asyncio.sleep(0.05)


async def test_assemblyai_hears_a_voice_interview(tmp_path: Path, monkeypatch):
    """Keys for AssemblyAI and OpenAI, AssemblyAI preferred: it hears "ready" and an
    answer, word for word, with the candidate's key; the row names it, its model and its
    price."""
    audio = {t: speech(t, tmp_path, Feed().rate) for t in (READY, ANSWER)}
    async with (
        utils.http_context.open(),
        FakeOpenAI(interviewer) as openai,
        FakeAssemblyAI([READY, ANSWER], key=ASSEMBLYAI_KEY) as assemblyai,
    ):
        openai.speech_seconds = 1.0
        monkeypatch.setenv("ASSEMBLYAI_BASE_URL", assemblyai.base_url)
        settings = Settings(_env_file=None, openai_base_url=openai.base_url)
        rt = InterviewRuntime(
            parse_metadata(_metadata('"assemblyai"'), require_user=False),
            room_name="assemblyai",
        )
        keys = ProviderKeys(assemblyai=ASSEMBLYAI_KEY, openai=OPENAI_KEY)
        async with greeted(rt, settings, keys, load_vad(), tmp_path, audio[READY]) as (
            interview, mic, speaker,
        ):  # fmt: skip
            assert interview.providers.voice
            await mic.speak(audio[ANSWER].tobytes())
            await _heard(rt, ANSWER)
            await replied(speaker)
            await quiet(speaker)
            row, _ = await interview.finish()
    said = [m.text for m in rt.transcript.messages if m.role == "candidate"]
    assert said == [READY, ANSWER]  # word for word: AssemblyAI's formatted turns
    assert assemblyai.transcribed[:2] == [READY, ANSWER]
    assert openai.realtime_auth == []  # OpenAI's speech-to-text only stood by
    # the candidate's own key, in AssemblyAI's bare Authorization
    assert set(assemblyai.keys_seen) == {ASSEMBLYAI_KEY} and assemblyai.rejected_keys == 0
    query = assemblyai.queries[0]
    assert (query["speech_model"], query["sample_rate"], query["encoding"]) == (
        MODEL, "16000", "pcm_s16le",
    )  # fmt: skip
    assert query["format_turns"] == "true"
    chosen = row.metadata["providers"]
    assert (chosen["stt"], chosen["llm"], chosen["tts"]) == ("assemblyai", "openai", "openai")
    assert chosen["fallback"] == {"stt": ["openai"]}
    assert "speech-to-text by AssemblyAI" in chosen["reason"]
    assert row.metadata["models"]["stt"] == MODEL
    cost = row.metadata["cost"]
    assert not any(u.startswith("stt:") for u in cost["unpriced"]), cost["unpriced"]
    heard = [i for i in cost["items"] if i["kind"] == "stt"]
    assert [i["model"] for i in heard] == [MODEL] and heard[0]["cost"] > 0
    assert heard[0]["seconds"] >= 3  # at least the two answers' audio


async def test_assemblyai_takes_over_when_deepgram_fails_mid_answer(tmp_path: Path, monkeypatch):
    """Deepgram hears first with AssemblyAI standing by; Deepgram's stream is cut in the
    middle of an answer and it refuses to come back: AssemblyAI hears the rest of that
    answer (marked as cut) and the next one whole, and the interview goes on."""
    audio = {t: speech(t, tmp_path, Feed().rate) for t in (READY, CUT, NEXT)}
    async with (
        utils.http_context.open(),
        FakeOpenAI(interviewer) as openai,
        FakeDeepgram([READY, CUT], key=DEEPGRAM_KEY, drop_in_line=1, drop_after_s=1.0,
                     refuse_after_drop=True) as deepgram,
        FakeAssemblyAI([TAIL, NEXT], key=ASSEMBLYAI_KEY) as assemblyai,
    ):  # fmt: skip
        monkeypatch.setenv("ASSEMBLYAI_BASE_URL", assemblyai.base_url)
        settings = Settings(
            _env_file=None, openai_base_url=openai.base_url, deepgram_base_url=deepgram.base_url
        )
        rt = InterviewRuntime(
            parse_metadata(_metadata('["deepgram", "assemblyai"]'), require_user=False),
            room_name="stt-fallback-assemblyai",
        )
        keys = ProviderKeys(openai=OPENAI_KEY, deepgram=DEEPGRAM_KEY, assemblyai=ASSEMBLYAI_KEY)
        async with greeted(rt, settings, keys, load_vad(), tmp_path, audio[READY]) as (
            interview, mic, speaker,
        ):  # fmt: skip
            assert not assemblyai.connections  # standing by
            await mic.speak(audio[CUT].tobytes())
            await _heard(rt, TAIL)
            await replied(speaker)  # the interviewer answers what was heard
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
    assert assemblyai.transcribed[:2] == [TAIL, NEXT]
    assert set(assemblyai.keys_seen) == {ASSEMBLYAI_KEY}  # the candidate's own key
    assert openai.realtime_auth == []  # OpenAI's speech-to-text was not in the list
    assert row.ended_by != "error"
    switches = [
        (e["source"], e["from"], e["to"])
        for e in row.metadata["errors"]
        if e.get("type") == "fallback"
    ]
    assert ("stt", "deepgram", "assemblyai") in switches
    switch = next(e for e in row.metadata["errors"] if e.get("type") == "fallback")
    assert deepgram.dropped_at is not None
    took = datetime.fromisoformat(switch["at"]).timestamp() - deepgram.dropped_at
    print(f"speech-to-text: Deepgram dropped, AssemblyAI serving {took:.2f} s later")
    chosen = row.metadata["providers"]
    assert chosen["stt"] == "deepgram"
    assert chosen["fallback"] == {"stt": ["assemblyai"], "tts": ["deepgram"]}
    models = {i["model"] for i in row.metadata["cost"]["items"] if i["kind"] == "stt"}
    assert MODEL in models  # AssemblyAI's part is priced under its own model
    assert not any(u.startswith("stt:") for u in row.metadata["cost"]["unpriced"])
    report = markdown(asdict(row), feedback.feedback_data)
    assert "Deepgram failed and AssemblyAI took over the speech-to-text" in report


async def test_a_key_assemblyai_does_not_know_is_refused(monkeypatch):
    """The worker's AssemblyAI plugin with a wrong key: AssemblyAI's error (close code
    1008) ends the stream, and nothing is heard."""
    async with (
        utils.http_context.open(),
        FakeAssemblyAI([READY], key=ASSEMBLYAI_KEY) as assemblyai,
    ):
        monkeypatch.setenv("ASSEMBLYAI_BASE_URL", assemblyai.base_url)
        plugin = build_first(
            Settings(_env_file=None), ProviderKeys(assemblyai="aai-wrong"), Kind.STT
        )
        stream = plugin.stream(conn_options=APIConnectOptions(max_retry=0))
        stream.push_frame(rtc.AudioFrame(bytes(3200), 16000, 1, 1600))
        with pytest.raises(APIStatusError) as refused:
            async for _ in stream:
                pass
        await stream.aclose()
    assert refused.value.status_code == 1008
    assert assemblyai.keys_seen == ["aai-wrong"] and assemblyai.rejected_keys == 1
    assert assemblyai.queries == [] and assemblyai.transcribed == []
