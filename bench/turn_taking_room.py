"""Turn-taking in a real room, over the whole range of what candidates say.

    .venv/bin/python -m bench.turn_taking_room [--pauses 1 2 3 4] [--rounds 2]

A local LiveKit server (dev mode, loopback), the worker as users start it (``python -m
agent start``, explicit dispatch, the local store), the local OpenAI- and
Deepgram-compatible servers (the transcript follows 300 ms of silence, Deepgram's
endpointing; the model and the voice answer at once, each reply 2 s of audio), and a
candidate on the ``livekit`` real-time SDK publishing espeak-ng speech in real time and
hearing the agent's audio over WebRTC. Each kind of case runs in its own interview (its
own candidate, so one kind's pauses do not teach the policy for another):

- ``brief``: the reply to "Are you ready to begin?" (one interview per reply);
- ``short_direct``: finished answers of 5-19 words to a direct question;
- ``short_story``: the same answers to a question that asks for a story;
- ``long``: finished answers of 20+ words to a story question;
- ``mid`` / ``between``: an answer with a pause of each length mid-sentence ("... and we
  also did a" ‖ "full rewrite ...") or between sentences ("... to a new payment
  provider." ‖ "It took six months ..."), ``--rounds`` times each.

Per case, from the candidate's side: the reply delay (the end of the voice to the first
agent audio heard), whether the interviewer started inside a pause (a cut-off), how soon
it stopped when the candidate went on, and whether the saved interview kept a paused
answer as one message. Writes bench/results/turn_taking_room.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sqlite3
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.turn_taking import BETWEEN, FINISHED, MID, voiced
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

READY = ["Yes, I am ready to begin.", "Yes, let's start.", "Sure, I'm ready.", "Yes, I am."]
SHORT = [
    "I mostly use Python and Postgres, with Redis for caching.",
    "I wrote the retry logic and the team shipped it in a week.",
    "At my last job I cut failed payments by half with idempotency keys and retries.",
    "We cut failed payments by half within two months.",
    "I moved the reports to a read replica so the main database stayed fast for customers.",
]
"""Finished answers of 9 to 16 words."""
LONG = [
    *FINISHED,
    "I am looking for a place where I can keep building payment systems and also mentor "
    "the newer engineers on the team.",
]
QUESTIONS = {
    "direct": "Which tools do you use most at work?",
    "story": "Tell me about a time you solved a hard problem at work.",
}
REPLY_AUDIO_S = 2.0
KINDS = ("brief", "short_direct", "short_story", "long", "mid", "between")
TARGETS = {
    "brief": "reply within 1.2 s",
    "short_direct": "reply within 1.5 s at p95",
    "short_story": "reply within 2.5 s",
    "long": "reply within 1.5 s at p95",
    "mid": "0 cut-offs for pauses up to 3 s",
    "between": "0 cut-offs for pauses up to 3 s",
}


@dataclass
class Case:
    kind: str
    parts: tuple[str, ...]
    pause_s: float | None = None
    words: int = 0
    reply_delay_s: float | None = None
    cut_off: bool = False
    cut_off_after_s: float | None = None
    """How long into the pause the interviewer started."""
    stopped_after_s: float | None = None
    one_message: bool | None = None


def cases_for(pauses: list[float], rounds: int) -> dict[str, list[Case]]:
    paused = {
        kind: [Case(kind, parts, p) for _ in range(rounds) for p in pauses]
        for kind, parts in (("mid", MID), ("between", BETWEEN))
    }
    return {
        "brief": [Case("brief", (r,)) for r in READY],
        "short_direct": [Case("short_direct", (s,)) for s in SHORT],
        "short_story": [Case("short_story", (s,)) for s in SHORT],
        "long": [Case("long", (s,)) for s in LONG],
        **paused,
    }


class Interviewer:
    """The local model's replies: a greeting, then the question the current kind asks."""

    def __init__(self) -> None:
        self.question = QUESTIONS["story"]

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("response_format"):
            return {"status": 500}  # the assessment is not measured here
        if last_user_text(body) is None:
            return {"content": "Hello! Are you ready to begin?"}
        return {"content": f"Thank you. {self.question}"}


async def speak_case(
    candidate: Candidate, case: Case, audio: dict[str, np.ndarray]
) -> list[tuple[float, float]]:
    """Speak the case in real time; the voiced span of each part (monotonic clock)."""
    spans: list[tuple[float, float]] = []
    for i, part in enumerate(case.parts):
        samples = audio[part]
        lead, trail = voiced(samples, RATE)
        length = len(samples) / RATE
        handed = await candidate.say(samples)
        spans.append((handed - length + lead, handed - trail))
        if i + 1 < len(case.parts):
            assert case.pause_s is not None
            await asyncio.sleep(max(0.0, case.pause_s - trail - lead))
    return spans


def measure(case: Case, spans: list[tuple[float, float]], loud: list[float]) -> None:
    end = spans[-1][1]
    case.reply_delay_s = next((round(t - end, 3) for t in loud if t >= end), None)
    if len(spans) == 2:
        pause = (spans[0][1], spans[1][0])
        inside = [t for t in loud if pause[0] <= t < pause[1]]
        case.cut_off = bool(inside)
        if inside:
            case.cut_off_after_s = round(inside[0] - pause[0], 3)
            talking = [t for t in loud if spans[1][0] <= t <= spans[1][0] + 1.5]
            case.stopped_after_s = round(max(talking) - spans[1][0], 3) if talking else 0.0


async def one_interview(
    server: LiveKitServer, worker: WorkerProcess, kind: str, cases: list[Case],
    audio: dict[str, np.ndarray], db: Path,
) -> None:  # fmt: skip
    room = f"turns-{kind}-{uuid.uuid4().hex[:6]}"
    metadata = {"user_id": str(uuid.uuid4()), "job_role": "Backend Developer",
                "max_duration_s": 7200}  # fmt: skip
    await dispatch(server, room, worker.agent_name, metadata)
    candidate = Candidate(server, room)
    await candidate.join(token(server, room, "candidate"))
    try:
        await candidate.greeted()
        if kind != "brief":
            await candidate.say(audio[READY[0]])
            await candidate.wait_until_heard(time.monotonic())
            await candidate.wait_until_quiet()
        for case in cases:
            spans = await speak_case(candidate, case, audio)
            await candidate.wait_until_heard(spans[-1][1], limit_s=15)
            await candidate.wait_until_quiet(quiet_s=1.0)
            measure(case, spans, list(candidate.heard.loud))
    finally:
        await candidate.leave()
    said = await saved_answers(db, room)
    # the cases of one interview say the same words, in order: each paused answer is the
    # next message holding its first part, and it is one answer when that message holds
    # the second part too
    holding = iter([t for t in said if tail(cases[0].parts[0]) in t])
    for case in cases:
        if len(case.parts) == 2:
            first = next(holding, None)
            case.one_message = first is not None and tail(case.parts[1]) in first


def tail(part: str) -> str:
    return " ".join(part.rstrip(".").split()[-3:])


async def saved_answers(db: Path, room: str, limit_s: float = 30.0) -> list[str]:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as conn:
            row = conn.execute(
                "select conversation from interviews where room_name = ? and ended_by is not null",
                (room,),
            ).fetchone()
        if row:
            messages = json.loads(row[0])["messages"]
            return [m["text"] for m in messages if m["role"] == "candidate"]
        await asyncio.sleep(0.3)
    raise RuntimeError(f"the interview in {room} was never saved")


def pct(values: list[float], p: float) -> float | None:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 3) if ordered else None


def summarise(by_kind: dict[str, list[Case]], pauses: list[float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, cases in by_kind.items():
        delays = [c.reply_delay_s for c in cases if c.reply_delay_s is not None]
        row: dict[str, Any] = {
            "target": TARGETS[kind],
            "cases": len(cases),
            "words": sorted({c.words for c in cases}),
            "reply_p50_s": pct(delays, 0.5),
            "reply_p95_s": pct(delays, 0.95),
            "reply_max_s": max(delays, default=None),
        }
        if kind in ("mid", "between"):
            row["cut_offs_by_pause"] = {
                str(p): sum(c.cut_off for c in cases if c.pause_s == p) for p in pauses
            }
            row["cut_offs_up_to_3s"] = sum(c.cut_off for c in cases if (c.pause_s or 0) <= 3.0)
            row["interviewer_started_after_s"] = [
                c.cut_off_after_s for c in cases if c.cut_off_after_s is not None
            ]
            row["stopped_after_s"] = [
                c.stopped_after_s for c in cases if c.stopped_after_s is not None
            ]
            row["answers_split"] = sum(c.one_message is False for c in cases)
        out[kind] = row
    return out


async def run(pauses: list[float], rounds: int, kinds: list[str]) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-turns-room-"))
    by_kind = {k: v for k, v in cases_for(pauses, rounds).items() if k in kinds}
    texts = {*READY, *(p for cases in by_kind.values() for c in cases for p in c.parts)}
    audio = {t: speech(t, work) for t in texts}
    script: list[str] = []
    for kind, cases in by_kind.items():
        if kind != "brief":
            script.append(READY[0])
        for c in cases:
            c.words = sum(len(p.split()) for p in c.parts)
            script += list(c.parts)
    server = LiveKitServer()
    interviewer = Interviewer()
    openai = await FakeOpenAI(interviewer).__aenter__()
    openai.speech_seconds = REPLY_AUDIO_S
    deepgram = await FakeDeepgram(script + ["Thank you."] * 50, key=DEEPGRAM_KEY).__aenter__()
    db = work / "interviews.db"
    worker = WorkerProcess(server, f"turns-{uuid.uuid4().hex[:6]}", {
        "OPENAI_API_KEY": OPENAI_KEY, "DEEPGRAM_API_KEY": DEEPGRAM_KEY,
        "OPENAI_BASE_URL": openai.base_url, "DEEPGRAM_BASE_URL": deepgram.base_url,
        "INTERVIEW_DB_PATH": str(db), "INTERVIEW_OUTBOX_PATH": str(work / "outbox.db"),
    })  # fmt: skip
    try:
        await worker.wait_for("registered worker")
        for kind, cases in by_kind.items():
            interviewer.question = QUESTIONS["direct" if kind == "short_direct" else "story"]
            if kind == "brief":  # one interview per greeting
                for case in cases:
                    await one_interview(server, worker, kind, [case], audio, db)
            else:
                await one_interview(server, worker, kind, cases, audio, db)
            print(f"{kind}: {[c.reply_delay_s for c in cases]}", flush=True)
    finally:
        await asyncio.to_thread(worker.stop)
        await openai.__aexit__(None, None, None)
        await deepgram.__aexit__(None, None, None)
        server.stop()
    return {
        "command": "python -m bench.turn_taking_room --pauses "
        + " ".join(str(p) for p in pauses)
        + f" --rounds {rounds}",
        "machine": {"python": platform.python_version(), "cpu": platform.machine()},
        "speech": "espeak-ng, 48 kHz, 10 ms frames, in real time",
        "summary": summarise(by_kind, pauses),
        "cases": [asdict(c) for cases in by_kind.values() for c in cases],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pauses", type=float, nargs="+", default=[1.0, 2.0, 3.0, 4.0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--out", default="turn_taking_room.json")
    args = parser.parse_args()
    result = asyncio.run(run(args.pauses, args.rounds, args.kinds))
    print(json.dumps(result["summary"], indent=2))
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
