"""A voice interview in ElevenLabs' voice, in Cartesia's, and one that goes from the first
to the second when ElevenLabs fails.

The worker's own session wiring (``providers_for`` choosing from the keys and the
candidate's preference), real Silero VAD, the real Deepgram, OpenAI, ElevenLabs and
Cartesia plugins on local compatible servers (ElevenLabs' multi-context WebSocket with its
MP3 audio, Cartesia's WebSocket with its contexts and continuations), espeak-ng speech fed
in real time, a loudspeaker that plays the interviewer in real time. Each voice server
checks the candidate's own key and keeps the text it voiced: the interviewer's lines, each
once. The row says which voice spoke and what it cost; a switch is in its errors and the
report, and the interview goes on.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import tts, utils
from livekit.plugins.cartesia.constants import API_VERSION as CARTESIA_VERSION

from agent.audio import load_vad
from agent.config import Settings
from agent.runtime import InterviewRuntime
from agent.session import InterviewSession, providers_for
from bench import turn_taking
from bench.fakes import Microphone, Speaker
from bench.turn_taking import READY, Feed, greeted, quiet
from feedback.render import markdown
from persistence import SqliteStore
from persistence.outbox import Outbox
from providers import CATALOG, Kind, ProviderKeys
from stages.metadata import parse_metadata

from .fake_cartesia import FakeCartesia
from .fake_deepgram import FakeDeepgram
from .fake_elevenlabs import FakeElevenLabs
from .fake_openai import FakeOpenAI
from .rooms.harness import DEEPGRAM_KEY, LOUD_RMS, OPENAI_KEY, interviewer, speech

pytestmark = pytest.mark.skipif(
    not shutil.which("espeak-ng") and os.environ.get("CI") != "true",
    reason="espeak-ng is not installed (scripts/test-services installs it)",
)

ELEVEN_KEY = "sk-test-vendor-elevenlabs-0123456789abcdef"
CARTESIA_KEY = "sk-test-vendor-cartesia-0123456789abcdef"
ANSWER = "I build payment systems, and last year I led our move to a new provider."
NEXT = "I would put a queue in front of the consumers and watch their lag closely."


class Loudspeaker(Speaker):
    """The loudspeaker of the voice tests, also keeping how long it played audible sound
    (frames louder than the room tests' threshold)."""

    def __init__(self) -> None:
        super().__init__()
        self.loud_s = 0.0

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        samples = np.frombuffer(frame.data, dtype=np.int16).astype(np.float64)
        if samples.size and float(np.sqrt(np.mean(samples**2))) > LOUD_RMS:
            self.loud_s += frame.duration
        await super().capture_frame(frame)


@pytest.fixture
def loudspeaker(monkeypatch: pytest.MonkeyPatch) -> None:
    """``greeted`` plays the interviewer on a :class:`Loudspeaker`."""
    monkeypatch.setattr(turn_taking, "Speaker", Loudspeaker)


def _runtime(room: str, providers: str) -> InterviewRuntime:
    md = f'{{"job_role": "Backend Developer", "providers": {providers}}}'
    return InterviewRuntime(parse_metadata(md, require_user=False), room_name=room)


def _lines(rt: InterviewRuntime) -> list[str]:
    return [m.text for m in rt.transcript.messages if m.role == "agent"]


async def _heard(rt: InterviewRuntime, words: str, limit_s: float = 20) -> None:
    deadline = time.monotonic() + limit_s
    while not any(m.role == "candidate" and words in m.text for m in rt.transcript.messages):
        assert time.monotonic() < deadline, f"never heard {words!r}: {rt.transcript.messages}"
        await asyncio.sleep(0.05)


async def _answered(
    rt: InterviewRuntime, mic: Microphone, speaker: Speaker, text: str, pcm: np.ndarray
) -> None:
    """The candidate says ``text``; until it is heard and the reply has been played."""
    played = len(speaker.played)
    await mic.speak(pcm.tobytes())
    await _heard(rt, text.split(",")[0])
    deadline = time.monotonic() + 15
    while len(speaker.played) == played or speaker.playing:
        assert time.monotonic() < deadline, "the reply was never heard"
        await asyncio.sleep(0.05)
    await quiet(speaker)


def _switches(errors: list[dict]) -> list[tuple[str, str, str]]:
    return [(e["source"], e["from"], e["to"]) for e in errors if e.get("type") == "fallback"]


def _priced(cost: dict[str, Any], kind: str, model: str) -> float:
    """What ``model`` cost in the estimate (it must be there, and priced)."""
    assert f"{kind}:{model}" not in cost["unpriced"], cost
    items = [i for i in cost["items"] if (i["kind"], i["model"]) == (kind, model)]
    assert items and all(i["cost"] is not None for i in items), cost
    return sum(i["cost"] for i in items)


async def test_elevenlabs_speaks_the_interview_when_the_candidate_prefers_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loudspeaker: None
):
    """Keys for OpenAI, Deepgram and ElevenLabs, and ElevenLabs preferred for the voice:
    OpenAI's model asks, Deepgram hears, ElevenLabs speaks every line (OpenAI's and
    Deepgram's voices standing by, never used)."""
    audio = {t: speech(t, tmp_path, Feed().rate) for t in (READY, ANSWER)}
    async with (
        utils.http_context.open(),
        FakeOpenAI(interviewer) as openai,
        FakeDeepgram([READY, ANSWER], key=DEEPGRAM_KEY) as deepgram,
        FakeElevenLabs(key=ELEVEN_KEY) as eleven,
    ):
        monkeypatch.setenv("ELEVENLABS_BASE_URL", eleven.base_url)
        settings = Settings(
            _env_file=None, openai_base_url=openai.base_url, deepgram_base_url=deepgram.base_url
        )
        rt = _runtime("elevenlabs-voice", '{"tts": "elevenlabs"}')
        keys = ProviderKeys(openai=OPENAI_KEY, deepgram=DEEPGRAM_KEY, elevenlabs=ELEVEN_KEY)
        async with greeted(rt, settings, keys, load_vad(), tmp_path, audio[READY]) as (
            interview, mic, speaker,
        ):  # fmt: skip
            assert interview.providers.voice
            await _answered(rt, mic, speaker, ANSWER, audio[ANSWER])
            assert not rt.terminal
            row, _ = await interview.finish()
    lines = _lines(rt)
    assert lines[:3] == [
        "Hello! Are you ready to begin?",
        "Thank you. Could you tell me more about that?",
        "Thank you. Could you tell me more about that?",
    ]
    assert eleven.spoken == lines  # every line, in ElevenLabs' voice, once
    assert set(eleven.keys) == {ELEVEN_KEY} and eleven.rejected_keys == 0
    assert eleven.voices[0] == "hpp4J3VqNfWAUOO0d1Us"  # the catalog's default speaker
    query = eleven.queries[0]
    assert (query["model_id"], query["output_format"]) == ("eleven_flash_v2_5", "mp3_22050_32")
    assert not deepgram.spoken and openai.speech_requests == 0  # standing by, unused
    assert isinstance(speaker, Loudspeaker) and speaker.loud_s >= 1.0  # heard, not silence
    chosen = row.metadata["providers"]
    assert (chosen["stt"], chosen["llm"], chosen["tts"]) == ("deepgram", "openai", "elevenlabs")
    assert chosen["fallback"]["tts"] == ["openai", "deepgram"]
    assert row.metadata["models"]["tts"] == "eleven_flash_v2_5"
    assert "voice by ElevenLabs" in chosen["reason"]
    cost = row.metadata["cost"]
    assert _priced(cost, "tts", "eleven_flash_v2_5") > 0
    assert cost["unpriced"] == [], cost


async def test_cartesia_speaks_the_offline_interviewer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loudspeaker: None
):
    """Keys for Deepgram and Cartesia, no model key: Deepgram hears, the offline
    interviewer asks, Cartesia speaks (before Deepgram's Aura in the default order)."""
    audio = {t: speech(t, tmp_path, Feed().rate) for t in (READY, ANSWER)}
    async with (
        utils.http_context.open(),
        FakeDeepgram([READY, ANSWER], key=DEEPGRAM_KEY) as deepgram,
        FakeCartesia(key=CARTESIA_KEY) as cartesia,
    ):
        monkeypatch.setenv("CARTESIA_BASE_URL", cartesia.base_url)
        settings = Settings(_env_file=None, deepgram_base_url=deepgram.base_url)
        rt = _runtime("cartesia-voice", "{}")
        keys = ProviderKeys(deepgram=DEEPGRAM_KEY, cartesia=CARTESIA_KEY)
        async with greeted(rt, settings, keys, load_vad(), tmp_path, audio[READY]) as (
            interview, mic, speaker,
        ):  # fmt: skip
            assert interview.providers.voice
            await _answered(rt, mic, speaker, ANSWER, audio[ANSWER])
            assert not rt.terminal
            row, feedback = await interview.finish()
    lines = _lines(rt)
    assert len(lines) >= 3
    assert cartesia.spoken == lines  # the offline interviewer's words, in Cartesia's voice
    assert set(cartesia.keys) == {CARTESIA_KEY} and cartesia.rejected_keys == 0
    assert set(cartesia.versions) == {CARTESIA_VERSION}
    request = cartesia.requests[0]
    assert request["model_id"] == "sonic-2" and request["language"] == "en"
    cartesia_tts = CATALOG.provider(Kind.TTS, "cartesia")
    assert cartesia_tts is not None
    assert request["voice"] == {"mode": "id", "id": cartesia_tts.default_voice}
    assert request["output_format"] == {
        "container": "raw", "encoding": "pcm_s16le", "sample_rate": 24000,
    }  # fmt: skip
    assert not deepgram.spoken  # Aura stands by, unused
    assert isinstance(speaker, Loudspeaker) and speaker.loud_s >= 1.0
    chosen = row.metadata["providers"]
    assert (chosen["mode"], chosen["interviewer"]) == ("voice", "offline")
    assert (chosen["stt"], chosen["llm"], chosen["tts"]) == ("deepgram", None, "cartesia")
    assert chosen["fallback"] == {"tts": ["deepgram"]}
    assert row.metadata["models"]["tts"] == "sonic-2"
    assert _priced(row.metadata["cost"], "tts", "sonic-2") > 0  # under the "sonic" price
    assert row.metadata["cost"]["unpriced"] == []
    assert "offline interviewer" in markdown(asdict(row), feedback.feedback_data)


async def test_elevenlabs_fails_after_the_greeting_and_cartesia_speaks_the_next_reply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loudspeaker: None
):
    """ElevenLabs first and Cartesia standing by (the candidate's list): ElevenLabs greets
    and replies, then every text it gets fails as the service fails (an error, the socket
    closed); the next reply is spoken by Cartesia, the switch is saved, the interview goes
    on."""
    audio = {t: speech(t, tmp_path, Feed().rate) for t in (READY, NEXT)}
    async with (
        utils.http_context.open(),
        FakeOpenAI(interviewer) as openai,
        FakeDeepgram([READY, NEXT], key=DEEPGRAM_KEY) as deepgram,
        FakeElevenLabs(key=ELEVEN_KEY) as eleven,
        FakeCartesia(key=CARTESIA_KEY) as cartesia,
    ):
        monkeypatch.setenv("ELEVENLABS_BASE_URL", eleven.base_url)
        monkeypatch.setenv("CARTESIA_BASE_URL", cartesia.base_url)
        settings = Settings(
            _env_file=None, openai_base_url=openai.base_url, deepgram_base_url=deepgram.base_url
        )
        rt = _runtime("voice-vendor-fallback", '{"tts": ["elevenlabs", "cartesia"]}')
        keys = ProviderKeys(
            openai=OPENAI_KEY, deepgram=DEEPGRAM_KEY, elevenlabs=ELEVEN_KEY, cartesia=CARTESIA_KEY
        )
        async with greeted(rt, settings, keys, load_vad(), tmp_path, audio[READY]) as (
            interview, mic, speaker,
        ):  # fmt: skip
            assert eleven.spoken == _lines(rt) and not cartesia.spoken  # ElevenLabs so far
            eleven.fail = "error"  # from now on ElevenLabs fails
            await _answered(rt, mic, speaker, NEXT, audio[NEXT])
            assert not rt.terminal, "the interview ended with the voice"
            row, feedback = await interview.finish()
    lines = _lines(rt)
    assert len(lines) == 3
    assert eleven.spoken == lines[:2] and eleven.errors >= 1
    assert cartesia.spoken == lines[2:]  # the reply after the failure, in Cartesia's voice
    assert set(eleven.keys) == {ELEVEN_KEY} and set(cartesia.keys) == {CARTESIA_KEY}
    assert isinstance(speaker, Loudspeaker) and speaker.loud_s >= 1.0
    assert ("tts", "elevenlabs", "cartesia") in _switches(row.metadata["errors"])
    assert row.ended_by != "error"
    assert row.metadata["providers"]["fallback"] == {"stt": ["openai"], "tts": ["cartesia"]}
    report = markdown(asdict(row), feedback.feedback_data)
    assert "ElevenLabs failed and Cartesia took over the voice" in report
    cost = row.metadata["cost"]
    assert _priced(cost, "tts", "eleven_flash_v2_5") > 0 and _priced(cost, "tts", "sonic-2") > 0


async def _until(condition: Callable[[], bool], what: str, limit_s: float = 2) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


async def test_closing_the_session_closes_the_socket_of_every_voice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """ElevenLabs first, Cartesia standing by, each with its socket open: closing the
    session closes both, as it does a voice alone (the vendor sees the session end, not a
    socket idle until the process exits)."""
    async with (
        utils.http_context.open(),
        FakeElevenLabs(key=ELEVEN_KEY) as eleven,
        FakeCartesia(key=CARTESIA_KEY) as cartesia,
    ):
        monkeypatch.setenv("ELEVENLABS_BASE_URL", eleven.base_url)
        monkeypatch.setenv("CARTESIA_BASE_URL", cartesia.base_url)
        rt = _runtime("voice-sockets", '{"tts": ["elevenlabs", "cartesia"]}')
        keys = ProviderKeys(deepgram=DEEPGRAM_KEY, elevenlabs=ELEVEN_KEY, cartesia=CARTESIA_KEY)
        providers = providers_for(Settings(_env_file=None), keys, rt, vad=None)
        interview = InterviewSession(
            rt, providers, store=SqliteStore(tmp_path / "s.db"),
            outbox=Outbox(tmp_path / "o.db"), mode="test", checkpoints=False,
        )  # fmt: skip
        voices = [p for p in providers.plugins if isinstance(p, tts.TTS)]
        for voice in voices:  # each voice speaks once: its socket opens
            async with voice.stream() as stream:
                stream.push_text("Hello! Are you ready to begin?")
                stream.end_input()
                async for _ in stream:
                    pass
        assert (eleven.spoken, cartesia.spoken) == (["Hello! Are you ready to begin?"],) * 2
        assert (eleven.open_sockets, cartesia.open_sockets) == (1, 1)
        await interview.aclose()
        await _until(lambda: eleven.open_sockets == 0, "ElevenLabs' socket left open")
        await _until(lambda: cartesia.open_sockets == 0, "Cartesia's socket left open")
