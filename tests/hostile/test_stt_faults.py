"""The voice path under a speech-to-text outage: the real Deepgram plugin on a WebSocket
to the local Deepgram-compatible server, the real Silero VAD on espeak-ng speech fed in
real time, the real OpenAI plugins (model and voice) on the local OpenAI-compatible
server, and the worker's own session wiring (``InterviewSession``, ``providers_for``).

A stream dropped mid-answer is reconnected and the interview goes on (the words heard
by the dropped stream are lost with it); a stream that cannot be reconnected ends the
interview with ``ended_by = "error"`` and the transcript up to then saved. These are the
outages of a speech-to-text with nothing standing by (the metadata names Deepgram
alone); with a second provider standing by see ``tests/test_fallback.py``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import wave
from pathlib import Path
from typing import Any

import pytest
from livekit import rtc
from livekit.agents import utils

from agent.audio import load_vad
from agent.config import Settings
from agent.runtime import InterviewRuntime
from agent.session import InterviewSession, providers_for
from bench.fakes import Microphone, TimedAudioOutput, frames_of
from interview.saving import InterviewPersistence
from persistence import SqliteStore
from persistence.outbox import Outbox
from providers import ProviderKeys
from stages.metadata import parse_metadata

from ..fake_deepgram import FakeDeepgram
from ..fake_openai import FakeOpenAI, last_user_text

pytestmark = [
    pytest.mark.hostile,
    # in CI a missing espeak-ng is a failure (scripts/test-services installs it)
    pytest.mark.skipif(
        not shutil.which("espeak-ng") and os.environ.get("CI") != "true",
        reason="needs espeak-ng (Debian)",
    ),
]

OPENAI_KEY = "sk-test-stt-faults-openai-0123456789"
DEEPGRAM_KEY = "dg-test-stt-faults-0123456789abcdef"
LINES = [
    "Yes, I am ready to begin.",
    "I am a backend developer with five years of experience building payment services.",
    "At my last job I cut failed payments by half with idempotency keys and retries.",
    "I would put a queue in front of the consumers and watch their lag very closely.",
]
FRAME_S = 0.02
REPLY_LIMIT_S = 60
"""Longest wait for the interviewer's reply to a line (or the interview's end): only a
stuck interview takes this long, even on a busy machine."""


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> list[list[rtc.AudioFrame]]:
    """20 ms frames of each line, spoken by espeak-ng (22.05 kHz mono)."""
    work = tmp_path_factory.mktemp("speech")
    out = []
    for i, line in enumerate(LINES):
        path = work / f"{i}.wav"
        subprocess.run(["espeak-ng", "-s", "170", "-w", str(path), line], check=True)
        out.append(_frames(path))
    return out


def _frames(path: Path) -> list[rtc.AudioFrame]:
    with wave.open(str(path)) as w:
        return frames_of(w.readframes(w.getnframes()), w.getframerate(), FRAME_S)


def interviewer_reply(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("response_format"):
        return {"status": 500}  # the assessment: not under test here
    if last_user_text(body) is None:
        return {"content": "Hello! Are you ready to begin?"}
    return {"content": "Thank you. Could you tell me more about that?"}


async def replied_or_ended(
    interview: InterviewSession, speaker: TimedAudioOutput, replies: int
) -> None:
    """Until the interviewer's ``replies``-th reply has been played out (the candidate's
    next line is not spoken over it), or the interview has ended."""
    waits = [
        asyncio.ensure_future(speaker.segments_at_least(replies)),
        asyncio.ensure_future(interview.driver.ended.wait()),
    ]
    try:
        done, _ = await asyncio.wait(
            waits, timeout=REPLY_LIMIT_S, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for wait in waits:
            wait.cancel()
    assert done, "no reply and no end of the interview"
    speech = interview.session.current_speech
    if waits[0] in done and speech is not None:
        await asyncio.wait_for(speech.wait_for_playout(), REPLY_LIMIT_S)


async def voice_interview(
    deepgram: FakeDeepgram, speech: list[list[rtc.AudioFrame]], tmp_path: Path
) -> tuple[InterviewRuntime, InterviewPersistence, list[dict[str, str]]]:
    # the worker gives every job an HTTP session for the plugins; here the test does
    async with utils.http_context.open(), FakeOpenAI(interviewer_reply) as openai_server:
        settings = Settings(
            _env_file=None,
            openai_base_url=openai_server.base_url,
            deepgram_base_url=deepgram.base_url,
        )
        keys = ProviderKeys(openai=OPENAI_KEY, deepgram=DEEPGRAM_KEY)
        # Deepgram alone hears (OpenAI's speech-to-text is not standing by): a Deepgram
        # outage as a user with only that speech-to-text meets it
        md = parse_metadata(
            '{"job_role": "Backend Developer", "providers": {"stt": ["deepgram"]}}',
            require_user=False,
        )
        rt = InterviewRuntime(md, room_name=tmp_path.name)
        interview = InterviewSession(
            rt, providers_for(settings, keys, rt, vad=load_vad()),
            store=SqliteStore(tmp_path / "s.db"), outbox=Outbox(tmp_path / "o.db"), mode="test",
        )  # fmt: skip
        mic, speaker = Microphone(), TimedAudioOutput()
        interview.session.input.audio, interview.session.output.audio = mic, speaker
        saver = interview.saver
        mic.on()
        try:
            await interview.start()
            await interview.wait_for_greeting(30)
            for frames in speech:
                if rt.machine.terminal:
                    break
                replies = len(speaker.first_frames)
                await mic.say(frames)
                await replied_or_ended(interview, speaker, replies + 1)
            if not rt.machine.terminal:
                rt.candidate_left(final=True)
            await asyncio.wait_for(interview.driver.ended.wait(), 30)
        finally:
            await interview.finish()
            await mic.off()
            await interview.session.aclose()
        return rt, saver, list(rt.errors)


def candidate_messages(saver: InterviewPersistence) -> list[dict[str, Any]]:
    assert saver.records is not None
    return [m for m in saver.records[0].conversation["messages"] if m["role"] == "candidate"]


def said_by_candidate(saver: InterviewPersistence) -> list[str]:
    return [m["text"] for m in candidate_messages(saver)]


async def test_stt_stream_dropped_mid_answer_reconnects_and_the_interview_goes_on(speech, tmp_path):
    async with FakeDeepgram(LINES, key=DEEPGRAM_KEY, drop_in_line=1, drop_after_s=1.5) as dg:
        rt, saver, errors = await voice_interview(dg, speech, tmp_path)
    assert dg.drops == 1 and dg.connections >= 2
    assert rt.machine.ended_by == "candidate_left"  # the script ran out, not an error
    assert saver.interview_id is not None
    tail = " ".join(LINES[1].split()[len(LINES[1].split()) // 2 :])
    assert said_by_candidate(saver) == [LINES[0], tail, LINES[2], LINES[3]]
    assert any(e["source"] == "STT" and e["recoverable"] == "True" for e in errors)
    # the answer cut by the outage is marked, and the feedback does not hold it against them
    gaps = [m.get("transcription_gap", False) for m in candidate_messages(saver)]
    assert gaps == [False, True, False, False]
    assert saver.records is not None
    feedback = saver.records[1].feedback_data
    marked = [a for a in feedback["answers"] if a["transcription_gap"]]
    assert [a["answer_excerpt"] for a in marked] == [tail]
    assert marked[0]["words_per_minute"] is None  # its words are missing, its time is not
    assert all(a["words_per_minute"] for a in feedback["answers"] if not a["transcription_gap"])
    assert all(tail not in p["evidence"] for p in feedback["areas_for_improvement"])


async def test_stt_that_cannot_reconnect_ends_with_error_and_keeps_the_transcript(speech, tmp_path):
    async with FakeDeepgram(
        LINES, key=DEEPGRAM_KEY, drop_in_line=1, drop_after_s=1.5, refuse_after_drop=True
    ) as dg:
        rt, saver, errors = await voice_interview(dg, speech, tmp_path)
    assert dg.drops == 1 and dg.refused >= 1
    assert rt.machine.ended_by == "error"
    assert (rt.machine.end_reason or "").startswith("STT")
    assert saver.interview_id is not None
    assert said_by_candidate(saver)[:1] == LINES[:1]
    assert any(e["source"] == "STT" and e["recoverable"] == "False" for e in errors)


async def test_a_rejected_speech_to_text_key_ends_at_once_with_the_reason(speech, tmp_path):
    async with FakeDeepgram(LINES, key="another-users-key") as dg:
        rt, saver, errors = await voice_interview(dg, speech, tmp_path)
    assert dg.rejected_keys == 1 and dg.connections == 0  # a 401 is not retried
    assert rt.machine.ended_by == "error"
    assert rt.machine.end_reason == "STT: APIStatusError 401"
    assert saver.interview_id is not None
    assert said_by_candidate(saver) == []
    assert [e["recoverable"] for e in errors] == ["False"]
