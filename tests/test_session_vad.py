"""One session's VAD: its end-of-speech silence changes for its own streams only.

The worker's job processes share one VAD (built once in the prewarm) between their
sessions. A session past an answer's time limit hears the end of the candidate's voice
sooner (``stages.timebox.BOXED_SILENCE_S``); the other sessions of the process must not.
Real speech (espeak-ng) through LiveKit's native VAD, a pause of 0.45 s between two
sentences: the shortened session hears two stretches of speech, the other one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import vad

from agent.audio import VAD_SILENCE_S, SessionVAD, load_vad
from stages.timebox import BOXED_SILENCE_S

from .rooms.harness import frames, speech, trimmed

pytestmark = pytest.mark.skipif(
    not shutil.which("espeak-ng") and os.environ.get("CI") != "true",
    reason="espeak-ng is not installed (scripts/test-services installs it)",
)

RATE = 16000


async def stretches(stream: vad.VADStream, audio: list[rtc.AudioFrame]) -> int:
    for frame in audio:
        stream.push_frame(frame)
    stream.end_input()
    return sum([ev.type == vad.VADEventType.END_OF_SPEECH async for ev in stream])


async def test_a_sessions_shorter_silence_leaves_the_other_sessions_alone(tmp_path: Path):
    pause = np.zeros(int(0.45 * RATE), dtype=np.int16)
    tail = np.zeros(int(1.0 * RATE), dtype=np.int16)
    one = trimmed(speech("We moved the reports to a read replica.", tmp_path, RATE), RATE)
    two = trimmed(speech("Then we cached the totals.", tmp_path, RATE), RATE)
    audio = frames(np.concatenate([one, pause, two, tail]), RATE)

    shared = load_vad()
    boxed, other = SessionVAD(shared), SessionVAD(shared)
    assert boxed.default_silence_s == other.default_silence_s == VAD_SILENCE_S
    early = boxed.stream()  # made before the change: changed with it
    boxed.end_speech_after(BOXED_SILENCE_S)
    late = boxed.stream()  # made after it: made with it
    untouched = other.stream()

    assert await stretches(early, audio) == 2
    assert await stretches(late, audio) == 2
    assert await stretches(untouched, audio) == 1
    assert shared.min_silence_duration == VAD_SILENCE_S  # the shared VAD as it was

    boxed.end_speech_after(None)  # back to the VAD's own
    assert await stretches(boxed.stream(), audio) == 1
