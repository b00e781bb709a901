"""Time-boxed answers in a real voice session.

The worker's own session wiring with a Deepgram key alone (``providers_for``: the real
Deepgram plugin on the suite's local compatible server, as the room benchmark runs it,
hears the candidate and speaks with its Aura voice; the offline interviewer asks the
questions), the real Silero VAD,
the production turn handling, espeak-ng speech fed in real time and a loudspeaker that
plays the interviewer in real time. The technical questions are stored ones with a
30-second limit (``interview_questions.time_limit_seconds``).

A candidate who talks past the limit, with natural pauses between sentences and a pause
to think mid-sentence, is stopped in a pause after finished words (not in the thinking
pause, never over their voice) with the interviewer's one sentence and the next
question; the answer is saved whole and marked as time-boxed, and the report says so.
An answer inside its limit is never interrupted for time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from livekit.agents import utils

from agent.audio import load_vad
from agent.config import Settings
from agent.runtime import InterviewRuntime
from bench.fakes import Microphone, Speaker
from bench.timebox_room import SpokenLines
from bench.turn_taking import READY, Feed, greeted, quiet, replied, voiced
from feedback.render import markdown
from providers import ProviderKeys
from stages.bank import Question
from stages.metadata import parse_metadata
from stages.timebox import interjection
from stages.turns import answer_complete

from .rooms.harness import DEEPGRAM_KEY, speech

pytestmark = pytest.mark.skipif(
    not shutil.which("espeak-ng") and os.environ.get("CI") != "true",
    reason="espeak-ng is not installed (scripts/test-services installs it)",
)

LIMIT_S = 30
LEVELS = ("entry", "mid", "senior", "executive")
QUESTION = Question(
    id="db-1", text="How would you make a slow reporting endpoint fast?", levels=LEVELS,
    time_limit_s=LIMIT_S,
)  # fmt: skip
NEXT = Question(
    id="db-2", text="How would you design a rate limiter for a public API?", levels=LEVELS,
    time_limit_s=LIMIT_S,
)  # fmt: skip
METADATA = '{"job_role": "Backend Developer", "stages": ["technical"]}'
PAUSE_S = 0.8
"""The candidate's natural pause between sentences (voice to voice)."""
THINKING_S = 2.5
"""A pause to think, mid-sentence, once the limit has passed."""
STOPPED = "let me stop you there"

BEFORE = (
    "First I would measure where the time goes in a real request.",
    "I would turn on the slow query log and read the query plans.",
    "Most of the time one or two queries do most of the damage.",
    "Then I would add the missing indexes and check the plans again.",
    "If the data is large I would move the reports to a read replica.",
    "That keeps the main database fast for the customers.",
    "At my last job we had exactly this problem with monthly invoices.",
    "The report took forty seconds and people gave up waiting.",
    "Our finance team could not close the month on time.",
    "Nobody had looked at that report for two years.",
)
"""Finished sentences with no pause inside them that speech-to-text would end an
utterance at (no commas), so that the stand-in's lines match its utterances one for one."""
THINKING = (
    "We rewrote the worst query and we also added a",
    "small cache in front of the slowest reports.",
)
"""A sentence with a pause to think after an open word."""
AFTER = (
    "After that the report came back in under two seconds.",
    "We also set an alert on the response time of that endpoint.",
    "So the next slow query was caught before any user saw it.",
    "I would also paginate the results so that nobody loads everything at once.",
)
"""What the candidate would go on to say (about 50 s in all) if nobody stopped them."""
SHORT = (
    "I would count the requests of each key in a sliding window kept in Redis.",
    "When a key goes over its quota the service answers with a retry header.",
    "Our biggest customers got a higher quota on request.",
    "That kept the public API fair for everyone.",
)
"""An answer of about 15 s."""


@dataclass(frozen=True)
class Part:
    """One stretch of the candidate's voice, and the pause after it (voice to voice)."""

    text: str
    audio: np.ndarray
    pause_s: float


@dataclass
class Spoken:
    """The candidate's voice as it went out (``time.perf_counter()``)."""

    parts: list[Part]
    spans: list[tuple[float, float]]
    """Each part's voiced span: its first and last sample above espeak-ng's floor."""
    stopped: bool
    """The candidate stopped because the interviewer was speaking."""


def voiced_s(samples: np.ndarray, rate: int) -> float:
    lead, trail = voiced(samples, rate)
    return len(samples) / rate - lead - trail


def lengths(audio: dict[str, np.ndarray], rate: int) -> dict[str, float]:
    """Each text's voiced length (the stand-in cuts a line finalized mid-utterance by it)."""
    return {text: voiced_s(samples, rate) for text, samples in audio.items()}


def long_answer(audio: dict[str, np.ndarray], rate: int) -> list[Part]:
    """Finished sentences until just before the limit, the sentence with the pause to
    think (which starts just past the limit), then more finished sentences: about 50 s,
    if nobody stops the candidate. The sentences before the limit are the fewest of
    :data:`BEFORE`, in their order, that end the pause before the thinking sentence at
    least half a second before the limit and start the thinking pause half a second after
    it: whatever the VAD's lag at the answer's start, the test knows which pause is the
    first after finished words past the limit."""
    first_half = voiced_s(audio[THINKING[0]], rate)
    window = (LIMIT_S + 0.5 - first_half, LIMIT_S - 0.5)  # when it may start
    for n in range(len(BEFORE) + 1):
        for chosen in itertools.combinations(BEFORE, n):
            starts = sum(voiced_s(audio[t], rate) + PAUSE_S for t in chosen)
            if window[0] <= starts <= window[1]:
                return [
                    *(Part(t, audio[t], PAUSE_S) for t in chosen),
                    Part(THINKING[0], audio[THINKING[0]], THINKING_S),
                    *(Part(t, audio[t], PAUSE_S) for t in (THINKING[1], *AFTER)),
                ]
    raise AssertionError("no choice of sentences puts the thinking pause past the limit")


async def say(parts: list[Part], mic: Microphone, speaker: Speaker) -> Spoken:
    """Speak the parts in real time, each followed by its pause; stop, as a candidate
    does, when the interviewer is speaking at the moment of going on (one who starts
    while the candidate is already speaking is talked over, and stops)."""
    spans: list[tuple[float, float]] = []
    for i, part in enumerate(parts):
        if speaker.playing:
            return Spoken(parts[:i], spans, stopped=True)
        lead, trail = voiced(part.audio, mic.rate)
        done = await mic.speak(part.audio.tobytes())
        spans.append((done - len(part.audio) / mic.rate + lead, done - trail))
        if i + 1 < len(parts):
            next_lead = voiced(parts[i + 1].audio, mic.rate)[0]
            await asyncio.sleep(max(0.0, part.pause_s - trail - next_lead))
    return Spoken(parts, spans, stopped=False)


def story(rt: InterviewRuntime, spoken: Spoken, speaker: Speaker, epoch: float) -> str:
    """What happened, in seconds from the answer's first voiced sample (for a failure):
    the candidate's voiced spans, what the loudspeaker played, and the messages saved."""
    began = spoken.spans[0][0]
    lines = [f"voice {a - began:6.2f}-{b - began:6.2f} {p.text!r}"
             for (a, b), p in zip(spoken.spans, spoken.parts, strict=False)]  # fmt: skip
    lines += [f"heard {a - began:6.2f}-{b - began:6.2f}" for a, b in speaker.played
              if b >= began]  # fmt: skip
    lines += [f"{m.role} {m.started_at - epoch - began:6.2f} boxed={m.time_boxed} {m.text!r}"
              for m in rt.transcript.messages]  # fmt: skip
    return "\n".join([f"stopped={spoken.stopped}", *lines])


def heard_at(speaker: Speaker, near: float) -> float:
    """When the loudspeaker started the stretch of audio that began at about ``near``."""
    starts = [s for s, _ in speaker.played]
    closest = min(starts, key=lambda s: abs(s - near), default=None)
    assert closest is not None and abs(closest - near) < 0.25, (near, starts)
    return closest


def runtime(room: str, stored: list[Question]) -> InterviewRuntime:
    md = parse_metadata(METADATA, require_user=False)
    return InterviewRuntime(md, room_name=room, stored=(stored, []))


@contextlib.asynccontextmanager
async def voice_interview(
    rt: InterviewRuntime, audio: dict[str, np.ndarray], rate: int, lines: list[str], work: Path
) -> AsyncIterator[tuple[SpokenLines, Any, Microphone, Speaker]]:
    """The interview of ``rt`` by voice, greeted and answered "ready"; speech-to-text
    transcribes ``lines`` after that, in order."""
    async with (
        utils.http_context.open(),
        SpokenLines([READY, *lines], key=DEEPGRAM_KEY, seconds=lengths(audio, rate)) as deepgram,
    ):
        deepgram.speech_seconds = 1.0
        settings = Settings(_env_file=None, deepgram_base_url=deepgram.base_url)
        async with greeted(
            rt, settings, ProviderKeys(deepgram=DEEPGRAM_KEY), load_vad(), work, audio[READY]
        ) as (interview, mic, speaker):
            yield deepgram, interview, mic, speaker


async def test_an_answer_past_its_limit_is_stopped_at_the_end_of_a_sentence(tmp_path: Path):
    rate = Feed().rate
    audio = {t: speech(t, tmp_path, rate) for t in (READY, *BEFORE, *THINKING, *AFTER)}
    parts = long_answer(audio, rate)
    lines = [p.text for p in parts]
    rt = runtime("time-boxed", [QUESTION, NEXT])
    async with voice_interview(rt, audio, rate, lines, tmp_path) as (
        _deepgram,
        interview,
        mic,
        speaker,
    ):
        # the stored question comes first, with its own limit
        assert rt.last_question is not None and rt.last_question.endswith(QUESTION.text)
        assert rt.answer_limit_s() == LIMIT_S
        epoch = time.time() - time.perf_counter()  # perf_counter + epoch: wall time
        spoken = await say(parts, mic, speaker)
        await replied(speaker, limit_s=15)
        await quiet(speaker)
        row, feedback = await interview.finish()
    said = " ".join(p.text for p in spoken.parts)
    began = spoken.spans[0][0]
    agent = [m for m in rt.transcript.messages if m.role == "agent"]
    boxed = [m for m in agent if STOPPED in m.text and not m.interrupted]
    assert boxed, f"no interjection:\n{story(rt, spoken, speaker, epoch)}"
    reply = boxed[0]
    at = heard_at(speaker, reply.started_at - epoch)
    # after the limit, within about limit + 15 s
    assert LIMIT_S <= at - began <= LIMIT_S + 15, at - began
    # in a pause after finished words: the candidate's last part before it is a finished
    # sentence (not the thinking pause), and its voice had ended
    before = [i for i, (_, end) in enumerate(spoken.spans) if end <= at]
    assert before, "the interviewer started before the answer's first words ended"
    last = before[-1]
    assert spoken.parts[last].text != THINKING[0], "started in the pause to think"
    assert answer_complete(spoken.parts[last].text)
    assert not any(start <= at <= end for start, end in spoken.spans), "over the voice"
    assert at - spoken.spans[last][1] < PAUSE_S, "later than the candidate's natural pause"
    assert spoken.stopped and last == len(spoken.spans) - 1  # the candidate let it speak
    # the answer saved whole, marked, with its limit
    messages = row.conversation["messages"]
    answers = [m for m in messages if m["role"] == "candidate" and m["stage"] == "technical"]
    assert len(answers) == 1 and answers[0]["text"] == said, answers
    assert answers[0]["time_boxed"] is True and answers[0]["time_limit_s"] == LIMIT_S
    # the reply: the interjection, then the next question (no follow-up)
    after = messages[messages.index(answers[0]) + 1 :]
    final = [m for m in after if m["role"] == "agent" and not m.get("interrupted")]
    assert final[0]["text"] == f"{interjection(None)} {NEXT.text}", final[0]
    technical = next(s for s in rt.machine.stages if s.id == "technical")
    assert (technical.answers, technical.questions_asked) == (1, 2)
    # the feedback and the report
    (fb,) = [a for a in feedback.feedback_data["answers"] if a["stage"] == "technical"]
    assert fb["time_boxed"] is True and fb["time_limit_s"] == LIMIT_S
    assert "⏱" in markdown(asdict(row), feedback.feedback_data)


async def test_an_answer_inside_its_limit_is_not_stopped(tmp_path: Path):
    rate = Feed().rate
    audio = {t: speech(t, tmp_path, rate) for t in (READY, *SHORT)}
    parts = [Part(t, audio[t], PAUSE_S) for t in SHORT]
    rt = runtime("inside-limit", [NEXT, QUESTION])
    async with voice_interview(rt, audio, rate, SHORT, tmp_path) as (
        deepgram,
        interview,
        mic,
        speaker,
    ):
        assert rt.last_question is not None and rt.last_question.endswith(NEXT.text)
        spoken = await say(parts, mic, speaker)
        await replied(speaker, limit_s=15)
        await quiet(speaker)
        row, feedback = await interview.finish()
    assert not spoken.stopped
    assert 10 <= spoken.spans[-1][1] - spoken.spans[0][0] < LIMIT_S - 5
    messages = row.conversation["messages"]
    answers = [m for m in messages if m["role"] == "candidate" and m["stage"] == "technical"]
    assert len(answers) == 1 and answers[0]["text"] == " ".join(SHORT), answers
    assert "time_boxed" not in answers[0]
    assert not any(STOPPED in text for text in deepgram.spoken), deepgram.spoken
    assert not any(a.get("time_boxed") for a in feedback.feedback_data["answers"])
    assert "⏱" not in markdown(asdict(row), feedback.feedback_data)
