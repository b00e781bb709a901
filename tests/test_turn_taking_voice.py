"""A resumed answer is one answer, in a real voice session.

The worker's own session wiring (real Silero VAD, the production turn handling, the real
Deepgram and OpenAI plugins on local compatible servers), espeak-ng speech fed in real
time, and a loudspeaker that plays the interviewer in real time. The candidate finishes
a long sentence, pauses long enough for the interviewer to start, then goes on: the
interviewer stops, and the saved interview holds one answer, not two.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import pytest
from livekit.agents import utils

from agent.audio import load_vad
from agent.config import Settings
from agent.runtime import InterviewRuntime
from bench.turn_taking import READY, Feed, greeted, quiet, replied
from providers import ProviderKeys
from stages.metadata import parse_metadata

from .fake_deepgram import FakeDeepgram
from .fake_openai import FakeOpenAI
from .rooms.harness import DEEPGRAM_KEY, OPENAI_KEY, interviewer, speech

pytestmark = pytest.mark.skipif(
    not shutil.which("espeak-ng") and os.environ.get("CI") != "true",
    reason="espeak-ng is not installed (scripts/test-services installs it)",
)

FIRST = (
    "At my last job I led the migration of our whole billing system to a new payment "
    "provider, together with two other engineers from the platform team."
)
REST = "It took six months, and as a result we cut failed payments by half."


async def test_the_candidate_going_on_over_the_interviewer_stays_one_answer(tmp_path: Path):
    audio = {t: speech(t, tmp_path, Feed().rate) for t in (READY, FIRST, REST)}
    async with (
        utils.http_context.open(),
        FakeOpenAI(interviewer) as openai,
        FakeDeepgram([READY, FIRST, REST, "Thank you."], key=DEEPGRAM_KEY) as deepgram,
    ):
        openai.speech_seconds = 3.0
        settings = Settings(
            _env_file=None, openai_base_url=openai.base_url, deepgram_base_url=deepgram.base_url
        )
        md = parse_metadata('{"job_role": "Backend Developer"}', require_user=False)
        rt = InterviewRuntime(md, room_name="resumed")
        keys = ProviderKeys(openai=OPENAI_KEY, deepgram=DEEPGRAM_KEY)
        async with greeted(rt, settings, keys, load_vad(), tmp_path, audio[READY]) as (
            _, mic, speaker,
        ):  # fmt: skip
            await mic.speak(audio[FIRST].tobytes())
            replies = len(speaker.played) + (1 if speaker.playing else 0)
            await replied(speaker)  # the interviewer starts in the pause after a full sentence
            assert speaker.playing, "the interviewer never started"
            await asyncio.sleep(0.5)  # the candidate goes on half a second into the reply
            await mic.speak(audio[REST].tobytes())
            deadline = time.monotonic() + 30
            while rt.machine.stages[1].questions_asked < 2:  # the reply to the whole answer
                assert time.monotonic() < deadline, "no reply after the whole answer"
                await asyncio.sleep(0.05)
            await quiet(speaker)
    assert speaker.interrupted_at, "the interviewer did not stop for the candidate"
    assert len(speaker.played) > replies
    said = [m for m in rt.transcript.messages if m.role == "candidate"]
    answer = next(m for m in said if "billing system" in m.text)
    assert "failed payments" in answer.text  # one message holds the whole answer
    cut = [m for m in rt.transcript.messages if m.role == "agent" and m.interrupted]
    assert cut and not cut[0].question
    intro = rt.machine.stages[1]
    # the cut-off reply was no question; the reply after the whole answer is the second
    assert intro.id == "introduction" and intro.answers == 1 and intro.questions_asked == 2
