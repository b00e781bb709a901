"""Time-boxed answers in a real room: how far past its limit an answer runs, and where the
interviewer steps in.

    .venv/bin/python -m bench.timebox_room [--quick] [--pause 0.8] [--out NAME]

A local LiveKit server (dev mode, loopback), the worker as users start it (``python -m
agent start``, explicit dispatch, the local store), the local OpenAI- and
Deepgram-compatible servers (the transcript follows 300 ms of silence, Deepgram's
endpointing; the model and the voice answer at once, each reply 2 s of audio), and a
candidate on the ``livekit`` real-time SDK publishing espeak-ng speech in real time and
hearing the agent's audio over WebRTC.

The limit is the introduction stage's own (``answer_limit_s``, 120 s): the local store
keeps no question table, so no question brings a limit of its own, and the model
interviewer's questions are none of the plan's. In one interview the candidate gives a
four-minute answer to the first introduction question (finished sentences joined by
natural pauses of ``--pause`` seconds, voice to voice, and a few pauses of 2.5-3 s to
think mid-sentence, one of them starting just past the limit), then several answers of
30-100 s, each under its stage's limit. Like a candidate, they stop when the interviewer
starts speaking in one of their pauses, and talk over one who starts as they go on.

Printed per answer: its length, the limit, whether and when the interviewer's
interjection ("let me stop you there") started, in seconds after the answer began, as
the candidate heard it, and the candidate's silence at that instant (how long since
their last voiced sample; "over the voice" when they were speaking); the other times the
interviewer started during the answer, each with the candidate's silence then (negative:
they had gone on, and talked over it); whether the
saved answer holds every word spoken, and its ``time_boxed`` mark. The summary: the
long answers the interviewer took over before their limit, those that ended within their
limit + 20 s, those whose interjection started in a pause after finished words, the
interjections heard in answers under their limit (0 expected), and how often the
interviewer started during an answer and was talked over.
No timing is asserted. ``--quick``: a 150-second answer and two under the limit, for a
smoke run. ``--out NAME`` also writes bench/results/NAME.json (with the saved
conversation).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import platform
import sqlite3
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.turn_taking import voiced
from stages.definitions import StageDef
from stages.metadata import parse_metadata
from stages.timebox import answer_limit, stage_budgets
from tests.fake_deepgram import FakeDeepgram
from tests.fake_openai import FakeOpenAI, last_user_text
from tests.rooms.harness import (
    DEEPGRAM_KEY,
    OPENAI_KEY,
    RATE,
    Candidate,
    WorkerProcess,
    dispatch,
    speech,
    token,
)
from tests.rooms.servers import LiveKitServer

READY = "Yes, I am ready to begin."
QUESTION = "Thank you. Tell me about yourself and what brought you here."
REPLY_AUDIO_S = 2.0
MAX_DURATION_S = 7200
"""Long enough that no stage's budget is scaled down (the limits stay the stages' own)."""
STOPPED = "let me stop you there"
THINKING_S = (2.5, 3.0)
"""The pauses to think, mid-sentence, taken in turn."""
LATE_S = 20.0
"""A long answer should end within its limit and this."""

OPENERS = (
    "I am a backend developer with six years of experience in payments.",
    "The project I am proudest of is our payment retry service.",
    "My current role is mostly about reliability and on call.",
    "The best team I worked in was small and very calm.",
    "I learned the most from a migration that went badly.",
    "What I look for in a team is honest and quick feedback.",
)
"""Each answer's first sentence (the saved answers are told apart by it)."""
SENTENCES = (
    "I started my career at a small agency building online shops.",
    "There I learned to ship quickly and to talk to customers.",
    "After two years I moved to a fintech company in Berlin.",
    "My first project there was the card payment service.",
    "We handled about two million payments every day.",
    "I owned the retry logic and the reconciliation jobs.",
    "Later I led a team of four engineers on the platform side.",
    "We moved our services from virtual machines to Kubernetes.",
    "That cut our deployment time from an hour to ten minutes.",
    "I also spent a lot of time on our on call process.",
    "We wrote runbooks for every alert that woke somebody up.",
    "Within a year the pages at night went down by two thirds.",
    "I enjoy mentoring newer engineers on the team.",
    "Every week I pair with someone on a real production issue.",
    "I care a lot about clear interfaces between teams.",
    "Most outages I have seen started at a boundary nobody owned.",
    "Outside work I contribute to an open source queue library.",
    "I maintain its Python client and review most pull requests.",
    "I am applying here because your product handles real money.",
    "I want my work to matter to the people who use it.",
    "Your team also runs its own infrastructure which I enjoy.",
    "I would like to grow towards a staff engineer role.",
    "That means more design work across several teams.",
    "Last year I wrote the design for our event bus.",
    "Three teams now publish their events through it.",
    "We kept the schema small and versioned from day one.",
)
"""Finished sentences with no pause inside them long enough to end an utterance (no
commas): the stand-in's transcript lines match the utterances one for one."""
FILLERS = ("That was a good year.", "It worked well.", "We learned a lot.")
"""Short finished sentences, to place a thinking pause just past the limit."""
THINKING = (
    ("After the migration we also built a", "small dashboard for the support team."),
    ("The hardest part of that project was the", "data migration of old card tokens."),
    ("What I want next is a team where I can", "own a service from design to production."),
    ("One thing I am still learning is how to", "keep my pull requests small."),
    ("Before that job I spent a summer on a", "warehouse system written in Java."),
)
"""Sentences with a pause to think after an open word."""


@dataclass(frozen=True)
class Part:
    """One stretch of the candidate's voice, and the pause after it (voice to voice)."""

    text: str
    pause_s: float
    thinking: bool = False
    """The pause after it is one to think, mid-sentence."""


@dataclass
class Answer:
    kind: str
    """"long" (past its limit) or "under" (inside it)."""
    planned_s: float
    parts: list[Part]
    spans: list[tuple[float, float]] = field(default_factory=list)
    """Each spoken part's voiced span (``time.monotonic()``)."""
    length_s: float = 0.0
    """From the first voiced sample to the last one spoken."""
    parts_spoken: int = 0
    stage: str | None = None
    limit_s: float | None = None
    interjection_s: float | None = None
    """When the interjection was first heard, after the answer began."""
    silence_s: float | None = None
    """The candidate's silence at that instant (``None``: over their voice)."""
    over_voice: bool = False
    in_thinking_pause: bool = False
    ended_s: float = 0.0
    """When the answer ended: the interjection, or the candidate's last word."""
    other_starts_s: list[float] = field(default_factory=list)
    """Other times the interviewer started during the answer (after it began)."""
    other_starts_silence_s: list[float] = field(default_factory=list)
    """The candidate's silence at each of those (negative: that long into their voice)."""
    interjections_talked_over: int = 0
    messages: int = 0
    """The candidate messages it was saved as (1: one answer)."""
    saved_whole: bool | None = None
    """Those messages hold every word spoken, in order."""
    time_boxed: bool | None = None


# ---------------------------------------------------------------- the answers


class Voices:
    """Each text spoken once by espeak-ng (48 kHz), with its voiced length."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.audio: dict[str, np.ndarray] = {}

    def __getitem__(self, text: str) -> np.ndarray:
        if text not in self.audio:
            self.audio[text] = speech(text, self.work)
        return self.audio[text]

    def prepare(self, texts: list[str]) -> None:
        """Speak these now (never while the candidate is answering)."""
        for text in texts:
            self[text]

    def length(self, text: str) -> float:
        lead, trail = voiced(self[text], RATE)
        return len(self[text]) / RATE - lead - trail


def compose(
    voices: Voices, opener: str, target_s: float, pause_s: float, *,
    thinking_at: tuple[float, ...] = (), limit_s: float | None = None,
) -> list[Part]:  # fmt: skip
    """An answer of about ``target_s`` seconds: the opener, then :data:`SENTENCES` in turn,
    each followed by a natural pause, and a sentence with a pause to think once the answer
    has run ``thinking_at`` seconds. With ``limit_s``, one pause to think starts just past
    the limit, and the last pause after finished words before it ends half a second before
    the limit (short sentences fill the gap)."""
    sentences = itertools.cycle(SENTENCES)
    splits = itertools.cycle(THINKING)
    thinks = itertools.cycle(THINKING_S)
    marks = sorted(thinking_at)
    parts = [Part(opener, pause_s)]
    t = voices.length(opener) + pause_s  # when the next part's voice starts
    boxed_split: tuple[str, str] | None = next(splits) if limit_s is not None else None

    def add_split(split: tuple[str, str]) -> None:
        nonlocal t
        think = next(thinks)
        parts.extend([Part(split[0], think, thinking=True), Part(split[1], pause_s)])
        t += voices.length(split[0]) + think + voices.length(split[1]) + pause_s

    while t < target_s:
        window = None
        if boxed_split is not None and limit_s is not None:
            window = (limit_s + 0.5 - voices.length(boxed_split[0]), limit_s - 0.5)
        if marks and t >= marks[0]:
            split = next(splits)
            if window is None or t + sum(voices.length(x) for x in split) + 4.0 < window[0]:
                add_split(split)
            marks.pop(0)
            continue
        following = next(sentences)
        if window is not None and boxed_split is not None:
            if t + voices.length(following) + pause_s > window[0]:
                fill = next(iter(_fits(voices, window[0] - t, window[1] - t, pause_s)), None)
                if fill is None:
                    raise RuntimeError("no sentences put the thinking pause past the limit")
                parts.extend(Part(x, pause_s) for x in fill)
                t += sum(voices.length(x) + pause_s for x in fill)
                add_split(boxed_split)
                boxed_split = None
                continue
        parts.append(Part(following, pause_s))
        t += voices.length(following) + pause_s
    return parts


def _fits(voices: Voices, low: float, high: float, pause_s: float) -> list[tuple[str, ...]]:
    """Up to two sentences whose voices and pauses take between ``low`` and ``high``
    seconds (none, when nothing is needed)."""
    if low <= 0 <= high:
        return [()]
    pool = (*FILLERS, *SENTENCES)
    step = {s: voices.length(s) + pause_s for s in pool}
    singles = [(s,) for s in pool if low <= step[s] <= high]
    pairs = [(a, b) for a in pool for b in pool if a != b and low <= step[a] + step[b] <= high]
    return singles + pairs


def plan(voices: Voices, quick: bool, pause_s: float, limit_s: float) -> list[Answer]:
    long_s, marks, unders = (
        (150.0, (40.0,), (30.0, 45.0))
        if quick
        else (240.0, (40.0, 95.0, 170.0, 205.0), (30.0, 45.0, 60.0, 80.0, 100.0))
    )
    out = [
        Answer("long", long_s, compose(voices, OPENERS[0], long_s, pause_s,
                                       thinking_at=marks, limit_s=limit_s)),
    ]  # fmt: skip
    for opener, target in zip(OPENERS[1:], unders, strict=False):
        thinking = (target / 2,) if target >= 45 else ()
        out.append(
            Answer("under", target, compose(voices, opener, target, pause_s, thinking_at=thinking))
        )
    return out


# ---------------------------------------------------------------- the room


class SpokenLines(FakeDeepgram):
    """The suite's Deepgram stand-in, which finalizes each utterance as the next line of
    its script, with a line cut where a ``Finalize`` comes mid-utterance (the worker ended
    the turn just as the candidate went on, and the plugin asks for the words so far): as
    Deepgram does, it finalizes the words heard so far (the share of the line that the
    speech heard is of ``seconds[line]``, the line's voiced length), and the rest of the
    line is the next utterance's. Without it, that utterance would take the whole line and
    every later transcript would be one line ahead of the voice."""

    def __init__(self, lines: list[str], *, key: str, seconds: dict[str, float]) -> None:
        super().__init__(lines, key=key)
        self.seconds = seconds

    def _final(self, stream: Any) -> dict[str, Any]:
        u = stream.utterance
        line = self.lines[self.next_line] if self.next_line < len(self.lines) else None
        expected = self.seconds.get(line) if line is not None else None
        if u is None or line is None or not expected or u.silence_s >= stream.endpointing_s:
            return super()._final(stream)  # the utterance ended (or no script to cut)
        words = line.split()
        n = min(len(words), round(len(words) * u.speech_s / expected))
        if n >= len(words):
            return super()._final(stream)
        heard, rest = " ".join(words[:n]), " ".join(words[n:])
        self.seconds[rest] = expected * (1 - n / len(words))
        self.lines[self.next_line] = heard
        event = super()._final(stream)
        self.lines.insert(self.next_line, rest)
        return event


class Interviewer:
    """The local model: a greeting, then the same request after every answer."""

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("response_format"):
            return {"status": 500}  # the assessment is not measured here
        if last_user_text(body) is None:
            return {"content": "Hello! Are you ready to begin?"}
        return {"content": QUESTION}


async def speak(candidate: Candidate, answer: Answer, voices: Voices) -> None:
    """Speak the answer in real time; stop, as a candidate does, once the interviewer has
    started speaking in one of the pauses (one who starts while the candidate speaks is
    talked over)."""
    for i, part in enumerate(answer.parts):
        if answer.spans and any(t > answer.spans[-1][1] for t in onsets(candidate.heard.loud)):
            break  # the interviewer started in this pause
        samples = voices[part.text]
        lead, trail = voiced(samples, RATE)
        handed = await candidate.say(samples)
        answer.spans.append((handed - len(samples) / RATE + lead, handed - trail))
        if i + 1 < len(answer.parts):
            next_lead = voiced(voices[answer.parts[i + 1].text], RATE)[0]
            await asyncio.sleep(max(0.0, part.pause_s - trail - next_lead))
    answer.parts_spoken = len(answer.spans)
    answer.length_s = round(answer.spans[-1][1] - answer.spans[0][0], 2)


async def one_interview(
    server: LiveKitServer, worker: WorkerProcess, deepgram: SpokenLines,
    answers: list[Answer], voices: Voices, db: Path,
) -> tuple[list[dict[str, Any]], list[float], float]:  # fmt: skip
    """Run the interview; the saved messages, the onsets of the agent's audio the candidate
    heard (monotonic) and the offset from the monotonic clock to wall time."""
    room = f"timebox-{uuid.uuid4().hex[:6]}"
    metadata = {"user_id": str(uuid.uuid4()), "job_role": "Backend Developer",
                "max_duration_s": MAX_DURATION_S}  # fmt: skip
    await dispatch(server, room, worker.agent_name, metadata)
    candidate = Candidate(server, room)
    await candidate.join(token(server, room, "candidate"))
    wall = time.time() - time.monotonic()
    try:
        await candidate.greeted()
        await candidate.say(voices[READY])
        await candidate.wait_until_heard(time.monotonic())
        await candidate.wait_until_quiet()
        for answer in answers:
            deepgram.lines += [p.text for p in answer.parts]
            await speak(candidate, answer, voices)
            await candidate.wait_until_heard(answer.spans[-1][1], limit_s=30)
            await candidate.wait_until_quiet(quiet_s=1.2, limit_s=60)
            del deepgram.lines[deepgram.next_line :]  # the words never said
            print(f"{answer.kind}: {answer.length_s:.1f}s, {answer.parts_spoken}"
                  f"/{len(answer.parts)} parts spoken", flush=True)  # fmt: skip
    finally:
        await candidate.leave()
    return await saved_messages(db, room), onsets(candidate.heard.loud), wall


def onsets(loud: list[float], gap_s: float = 0.3) -> list[float]:
    """When each stretch of the agent's audio started (after ``gap_s`` of silence)."""
    out: list[float] = []
    last = -1e9
    for t in loud:
        if t - last > gap_s:
            out.append(t)
        last = t
    return out


async def saved_messages(db: Path, room: str, limit_s: float = 60.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as conn:
            row = conn.execute(
                "select conversation from interviews where room_name = ? and ended_by is not null",
                (room,),
            ).fetchone()
        if row:
            return list(json.loads(row[0])["messages"])
        await asyncio.sleep(0.3)
    raise RuntimeError(f"the interview in {room} was never saved")


# ---------------------------------------------------------------- the measures


def measure(
    answers: list[Answer], messages: list[dict[str, Any]], heard: list[float], wall: float,
    plan_stages: dict[str, StageDef], budgets: dict[str, float],
) -> None:  # fmt: skip
    firsts = saved_starts(answers, messages)
    for n, answer in enumerate(answers):
        began = answer.spans[0][0]
        end_of_voice = answer.spans[-1][1]
        following = answers[n + 1].spans[0][0] if n + 1 < len(answers) else float("inf")
        interjection: float | None = None
        if firsts[n] is not None:
            later = [i for i in firsts[n + 1 :] if i is not None]
            group = messages[firsts[n] : later[0] if later else len(messages)]
            said = [m for m in group if m["role"] == "candidate"]
            words = " ".join(p.text for p in answer.parts[: answer.parts_spoken])
            answer.messages = len(said)
            answer.saved_whole = " ".join(m["text"] for m in said) == words
            answer.time_boxed = any(m.get("time_boxed") for m in said)
            answer.stage = said[0]["stage"]
            stage = plan_stages.get(answer.stage)
            answer.limit_s = answer_limit(stage, None, budgets.get(answer.stage))
            for reply in (m for m in group if m["role"] == "agent" and STOPPED in m["text"]):
                if reply.get("interrupted"):
                    answer.interjections_talked_over += 1
                    continue
                started = _wall(reply["started_at"]) - wall
                interjection = next((t for t in heard if started - 0.3 <= t <= started + 1.5),
                                    started)  # fmt: skip
        if interjection is not None:
            answer.interjection_s = round(interjection - began, 2)
            silence = silence_at(answer.spans, interjection)
            answer.over_voice = silence < 0
            if not answer.over_voice:
                answer.silence_s = round(silence, 2)
                ended = [i for i, (_, e) in enumerate(answer.spans) if e <= interjection]
                answer.in_thinking_pause = answer.parts[ended[-1]].thinking
        answer.ended_s = round((interjection or end_of_voice) - began, 2)
        others = [
            t
            for t in heard
            if began < t < min(interjection or end_of_voice, following)
            and (interjection is None or abs(t - interjection) > 0.3)
        ]
        answer.other_starts_s = [round(t - began, 2) for t in others]
        answer.other_starts_silence_s = [round(silence_at(answer.spans, t), 2) for t in others]


def saved_starts(answers: list[Answer], messages: list[dict[str, Any]]) -> list[int | None]:
    """The index of each answer's first saved message (the first candidate message, after
    the previous answer's, that starts with its opener); the answer's messages run to the
    next answer's first."""
    out: list[int | None] = []
    after = 0
    for answer in answers:
        first = next(
            (i for i, m in enumerate(messages) if i >= after and m["role"] == "candidate"
             and m["text"].startswith(answer.parts[0].text)),
            None,
        )  # fmt: skip
        out.append(first)
        after = first + 1 if first is not None else after
    return out


def silence_at(spans: list[tuple[float, float]], t: float) -> float:
    """How long the candidate had been silent at ``t`` (negative: how long they had been
    speaking)."""
    for start, end in spans:
        if start <= t <= end:
            return start - t
    ended = [end for _, end in spans if end <= t]
    return t - ended[-1] if ended else float("inf")


def pct(values: list[float], p: float) -> float | None:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 3) if ordered else None


def _wall(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def summarise(answers: list[Answer]) -> dict[str, Any]:
    longs = [a for a in answers if a.kind == "long"]
    unders = [a for a in answers if a.kind == "under"]
    cut_short = [a for a in longs if a.limit_s is not None and a.ended_s < a.limit_s]
    in_time = [
        a for a in longs if a.limit_s is not None and a.limit_s <= a.ended_s <= a.limit_s + LATE_S
    ]
    in_a_pause = [
        a for a in longs
        if a.interjection_s is not None and not a.over_voice and not a.in_thinking_pause
    ]  # fmt: skip
    return {
        "long_answers": len(longs),
        "ended_before_the_limit": len(cut_short),
        f"ended_within_limit_plus_{LATE_S:.0f}s": len(in_time),
        "interjection_in_a_pause_after_finished_words": len(in_a_pause),
        "interjection_after_limit_s": [
            round(a.interjection_s - a.limit_s, 2)
            for a in longs
            if a.interjection_s is not None and a.limit_s is not None
        ],
        "silence_at_interjection_s": [a.silence_s for a in longs],
        "saved_whole_and_time_boxed": sum(bool(a.saved_whole and a.time_boxed) for a in longs),
        "answers_under_limit": len(unders),
        "interjections_under_limit": sum(a.interjection_s is not None for a in unders),
        "interjections_talked_over": sum(a.interjections_talked_over for a in answers),
        "other_interviewer_starts_during_answers": sum(len(a.other_starts_s) for a in answers),
        "of_which_over_the_voice": sum(x < 0 for a in answers for x in a.other_starts_silence_s),
        "their_silence_p50_s": pct([x for a in answers for x in a.other_starts_silence_s], 0.5),
        "answers_saved_whole": sum(bool(a.saved_whole) for a in answers),
        "answers_split_in_several_messages": sum(a.messages > 1 for a in answers),
    }


def report(answers: list[Answer]) -> None:
    for a in answers:
        limit = f"{a.limit_s:.0f}s" if a.limit_s is not None else "none"
        if a.interjection_s is None:
            said = "no interjection"
        else:
            pause = "over the voice" if a.over_voice else f"silent {a.silence_s:.2f}s"
            pause += ", in a pause to think" if a.in_thinking_pause else ""
            said = f"interjection at {a.interjection_s:.2f}s ({pause})"
        print(
            f"{a.kind:>5} {a.length_s:6.1f}s (planned {a.planned_s:.0f}s, "
            f"{a.parts_spoken}/{len(a.parts)} parts) stage {a.stage} limit {limit}: {said}; "
            f"ended at {a.ended_s:.1f}s; other starts {_starts(a)}; "
            f"saved whole {a.saved_whole} in {a.messages} message(s), time_boxed {a.time_boxed}"
        )


def _starts(a: Answer) -> str:
    """The other starts, each with the candidate's silence then (``-``: into the voice)."""
    pairs = zip(a.other_starts_s, a.other_starts_silence_s, strict=True)
    return "[" + ", ".join(f"{t:.1f}s ({x:+.2f})" for t, x in pairs) + "]"


# ---------------------------------------------------------------- main


async def run(quick: bool, pause_s: float) -> tuple[dict[str, Any], list[Answer]]:
    work = Path(tempfile.mkdtemp(prefix="bench-timebox-"))
    md = parse_metadata(
        json.dumps({"job_role": "Backend Developer", "max_duration_s": MAX_DURATION_S}),
        require_user=False,
    )
    stages = {s.id: s for s in md.plan}
    budgets = stage_budgets(md.plan, MAX_DURATION_S)
    limit = answer_limit(stages["introduction"], None, budgets["introduction"])
    assert limit is not None
    voices = Voices(work)
    voices.prepare([READY])
    answers = plan(voices, quick, pause_s, limit)
    server = LiveKitServer()
    openai = await FakeOpenAI(Interviewer()).__aenter__()
    openai.speech_seconds = REPLY_AUDIO_S
    seconds = {t: voices.length(t) for t in voices.audio}
    deepgram = await SpokenLines([READY], key=DEEPGRAM_KEY, seconds=seconds).__aenter__()
    db = work / "interviews.db"
    worker = WorkerProcess(server, f"timebox-{uuid.uuid4().hex[:6]}", {
        "OPENAI_API_KEY": OPENAI_KEY, "DEEPGRAM_API_KEY": DEEPGRAM_KEY,
        "OPENAI_BASE_URL": openai.base_url, "DEEPGRAM_BASE_URL": deepgram.base_url,
        "INTERVIEW_DB_PATH": str(db), "INTERVIEW_OUTBOX_PATH": str(work / "outbox.db"),
    })  # fmt: skip
    try:
        await worker.wait_for("registered worker")
        messages, heard, wall = await one_interview(server, worker, deepgram, answers, voices, db)
    finally:
        await asyncio.to_thread(worker.stop)
        await openai.__aexit__(None, None, None)
        await deepgram.__aexit__(None, None, None)
        server.stop()
    measure(answers, messages, heard, wall, stages, budgets)
    return {
        "command": "python -m bench.timebox_room"
        + (" --quick" if quick else "")
        + f" --pause {pause_s}",
        "machine": {"python": platform.python_version(), "cpu": platform.machine()},
        "speech": "espeak-ng, 48 kHz, 10 ms frames, in real time",
        "limit": f"the introduction stage's answer_limit_s ({limit:.0f} s)",
        "summary": summarise(answers),
        "answers": [
            {k: v for k, v in asdict(a).items() if k not in ("parts", "spans")} for a in answers
        ],
        "conversation": messages,
    }, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter answers (a smoke run)")
    parser.add_argument("--pause", type=float, default=0.8,
                        help="the pause between sentences, voice to voice (s)")  # fmt: skip
    parser.add_argument("--out", help="also write bench/results/NAME.json")
    args = parser.parse_args()
    result, answers = asyncio.run(run(args.quick, args.pause))
    report(answers)
    print(json.dumps(result["summary"], indent=2))
    if args.out:
        out = Path(__file__).with_name("results")
        out.mkdir(exist_ok=True)
        (out / f"{args.out}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
