"""A quiet candidate is heard as a loud one: the worker applies no gain control of its own
(agent/audio.py: the browser's already levels the microphone), so the VAD must hear
speech over the whole range of levels microphones deliver.

Real speech (espeak-ng) scaled from -20 to -50 dBFS (RMS) over a microphone's noise
floor (-70 dBFS), through LiveKit's native VAD as the worker builds it: each level is one
stretch of speech that starts and ends where the loud one does, and the noise floor
alone is never speech.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import vad

from agent.audio import ROOM_SAMPLE_RATE as RATE
from agent.audio import load_vad

from .rooms.harness import frames, speech, trimmed

pytestmark = pytest.mark.skipif(
    not shutil.which("espeak-ng") and os.environ.get("CI") != "true",
    reason="espeak-ng is not installed (scripts/test-services installs it)",
)

LEVELS_DBFS = (-20, -30, -40, -50)
NOISE_DBFS = -70
TOLERANCE_S = 0.15
"""How far a quiet answer's start or end may be from the loud one's."""


def at_level(voice: np.ndarray, dbfs: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(voice.astype(np.float64) ** 2)))
    return voice.astype(np.float64) * (10 ** (dbfs / 20) * 32767 / rms)


def over_noise(voice: np.ndarray, seed: int) -> list[rtc.AudioFrame]:
    """One second of the noise floor, the voice over it, then 1.5 s of the floor."""
    lead, tail = np.zeros(RATE), np.zeros(int(1.5 * RATE))
    clean = np.concatenate([lead, voice, tail])
    noise = np.random.default_rng(seed).normal(0, 10 ** (NOISE_DBFS / 20) * 32767, clean.size)
    return frames(np.clip(clean + noise, -32768, 32767).astype(np.int16), RATE)


async def heard(audio: list[rtc.AudioFrame]) -> list[tuple[float, float]]:
    """Each stretch of speech the VAD reports: (start, end) in seconds of the audio."""
    stream = load_vad().stream()
    for frame in audio:
        stream.push_frame(frame)
    stream.end_input()
    out = []
    async for ev in stream:
        if ev.type == vad.VADEventType.END_OF_SPEECH:
            end = ev.timestamp - ev.silence_duration
            out.append((round(end - ev.speech_duration, 2), round(end, 2)))
    return out


async def test_quiet_speech_is_heard_as_loud_speech_without_gain_control(tmp_path: Path):
    answer = "We moved the reports to a read replica, then we cached the totals for each customer."
    voice = trimmed(speech(answer, tmp_path, RATE), RATE)
    length = voice.size / RATE

    assert await heard(over_noise(np.zeros(voice.size), seed=1)) == []  # the floor alone

    loud = await heard(over_noise(at_level(voice, LEVELS_DBFS[0]), seed=2))
    assert len(loud) == 1, loud
    ((start, end),) = loud
    assert abs(start - 1.0) <= TOLERANCE_S and abs(end - (1.0 + length)) <= TOLERANCE_S

    for dbfs in LEVELS_DBFS[1:]:
        stretches = await heard(over_noise(at_level(voice, dbfs), seed=int(-dbfs)))
        assert len(stretches) == 1, (dbfs, stretches)
        assert abs(stretches[0][0] - start) <= TOLERANCE_S, (dbfs, stretches, loud)
        assert abs(stretches[0][1] - end) <= TOLERANCE_S, (dbfs, stretches, loud)
