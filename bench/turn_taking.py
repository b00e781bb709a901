"""Turn-taking as a candidate feels it: cut-offs, talking over, split answers, reply delay.

    .venv/bin/python -m bench.turn_taking [--pauses 1.0 1.5 2.0 3.0 4.0] [--finished 10]

Speech is fed in real time through the worker's own session (``InterviewSession`` with
``providers_for``: the real Silero VAD, the production turn handling with LiveKit's
end-of-turn model, the real Deepgram and OpenAI plugins on the suite's local compatible
servers, which answer at once; the voice reply is 3 s of audio played in real time). The
candidate is espeak-ng (``--voice``), with a pause of each length inside an answer:

- mid-sentence: "... and we also did a" [pause] "full rewrite of the reporting ...";
- between sentences: "... to a new payment provider." [pause] "It took six months ...";

and answers that are finished. Printed per case and in a summary: cut-offs (the
interviewer started speaking inside the pause), seconds it talked over the candidate,
how fast it stopped when the candidate went on, answers saved as more than one
candidate message, and the reply delay after a finished answer (from the end of the
candidate's voice to the first reply audio; p50 / p95, raw and without the providers'
own first-token and first-audio latency). Writes bench/results/turn_taking.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import platform
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from livekit.agents import utils

from agent.audio import ROOM_FRAME_MS, ROOM_SAMPLE_RATE, VAD_NAMES, VadEngine, load_vad
from agent.config import Settings
from agent.runtime import InterviewRuntime
from agent.session import InterviewSession, providers_for
from bench.fakes import Microphone, Speaker
from persistence import SqliteStore
from persistence.outbox import Outbox
from providers import ProviderKeys
from stages.machine import Limits
from stages.metadata import parse_metadata
from tests.fake_deepgram import FakeDeepgram
from tests.fake_openai import FakeOpenAI
from tests.rooms.harness import DEEPGRAM_KEY, OPENAI_KEY, interviewer, speech


@dataclass(frozen=True)
class Feed:
    """How the candidate's audio reaches the session: by default as the worker asks the
    room for it (agent/audio.py)."""

    rate: int = ROOM_SAMPLE_RATE
    frame_s: float = ROOM_FRAME_MS / 1000


KINDS = ("mid", "between", "finished", "resumed")
REPLY_AUDIO_S = 3.0
MID = (
    "At my last job I led the migration of our billing system and we also did a",
    "full rewrite of the reporting service, which cut our costs by a third.",
)
BETWEEN = (
    "At my last job I led the migration of our billing system to a new payment provider.",
    "It took six months, and as a result we cut failed payments by half.",
)
FINISHED = [
    "At my last job I led the migration of our billing system to a new provider, and as a "
    "result we cut failed payments by half.",
    "I would start by measuring where the time goes, fix the slowest query first, and then "
    "add a cache in front of the reports.",
    "When two teammates disagreed about an interface, I set up a short meeting and we "
    "agreed on a contract that both teams could test.",
    "I am looking for a team where I can own a service from design to production and help "
    "newer engineers grow.",
]
OPEN_ENDED = (
    "When two teammates disagreed about an interface, I set up a short meeting and we "
    "agreed on a contract that both teams could test against."
)
"""A finished answer whose last word is a preposition: the words cannot tell it from a
pause mid-phrase, and the choice is to wait (shown apart, as ``finished_open``)."""
READY = "Yes, I am ready to begin."
LONG_FIRST = (
    "At my last job I led the migration of our whole billing system to a new payment "
    "provider, together with two other engineers from the platform team.",
    "It took six months, and as a result we cut failed payments by half.",
)
"""A long finished-sounding sentence, then more: the interviewer may start in the pause
(``resumed``: how fast it stops, and that the answer stays one answer)."""


@dataclass
class Case:
    kind: str  # "mid", "between", "finished"
    pause_s: float | None
    parts: tuple[str, ...]
    cut_off: bool = False
    talked_over_s: float = 0.0
    stopped_after_s: float | None = None
    reply_delay_s: float | None = None
    reply_delay_less_providers_s: float | None = None
    one_message: bool | None = None
    waits: list[str] = field(default_factory=list)


def voiced(samples: np.ndarray, rate: int) -> tuple[float, float]:
    """(seconds of leading silence, seconds of trailing silence) in espeak-ng's output."""
    loud = (np.abs(samples.astype("int32")) > 500).nonzero()[0]
    if loud.size == 0:
        return 0.0, 0.0
    return int(loud[0]) / rate, (len(samples) - 1 - int(loud[-1])) / rate


def overlap(a: tuple[float, float], spans: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(a[1], b) - max(a[0], s)) for s, b in spans)


def cases_for(pauses: list[float], finished: int) -> list[Case]:
    out = [Case("mid", p, MID) for p in pauses] + [Case("between", p, BETWEEN) for p in pauses]
    out += [Case("finished", None, (FINISHED[i % len(FINISHED)],)) for i in range(finished)]
    out += [Case("finished_open", None, (OPEN_ENDED,))]
    out += [Case("resumed", p, LONG_FIRST) for p in (2.0, 2.5, 3.0)]
    return out


async def replied(speaker: Speaker, limit_s: float = 10) -> None:
    """Until the interviewer starts speaking (or ``limit_s`` passes)."""
    if speaker.playing:
        return
    speaker.started.clear()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(speaker.started.wait(), limit_s)


async def quiet(speaker: Speaker, for_s: float = 0.8, limit_s: float = 20) -> None:
    """Until the interviewer has been silent for ``for_s``."""
    deadline = time.perf_counter() + limit_s
    calm_since = time.perf_counter()
    while time.perf_counter() < deadline:
        if speaker.playing:
            calm_since = time.perf_counter()
        elif time.perf_counter() - calm_since >= for_s:
            return
        await asyncio.sleep(0.05)


async def play_case(
    case: Case, mic: Microphone, speaker: Speaker, audio: dict[str, np.ndarray]
) -> tuple[float, list[tuple[float, float]]]:
    """Speak the case; returns when the candidate's voice ended and the voiced spans."""
    spans: list[tuple[float, float]] = []
    end = 0.0
    for i, part in enumerate(case.parts):
        samples = audio[part]
        lead, trail = voiced(samples, mic.rate)
        said = asyncio.create_task(mic.speak(samples.tobytes()))
        started = time.perf_counter() + lead
        done = await said
        end = done - trail
        spans.append((started, end))
        if i + 1 < len(case.parts):
            assert case.pause_s is not None
            await asyncio.sleep(max(0.0, case.pause_s - trail - lead))
    return end, spans


def measure(
    case: Case, end: float, spans: list[tuple[float, float]], speaker: Speaker, before: int
) -> None:
    heard = speaker.played[before:]
    if len(spans) == 2:
        pause = (spans[0][1], spans[1][0])
        case.cut_off = any(pause[0] <= s < pause[1] for s, _ in heard)
        stops = [t for t in speaker.interrupted_at if spans[1][0] <= t <= spans[1][1] + 1]
        if case.cut_off and stops:
            case.stopped_after_s = round(stops[0] - spans[1][0], 3)
    case.talked_over_s = round(sum(overlap(span, heard) for span in spans), 3)
    after = [s for s, _ in heard if s >= end]
    if after:
        case.reply_delay_s = round(after[0] - end, 3)


@contextlib.asynccontextmanager
async def greeted(
    rt: InterviewRuntime, settings: Settings, keys: ProviderKeys, vad: Any, work: Path,
    ready: np.ndarray, feed: Feed = Feed(),
) -> AsyncIterator[tuple[InterviewSession, Microphone, Speaker]]:  # fmt: skip
    """A voice interview in the worker's own session wiring, with a real-time microphone
    and loudspeaker, past its greeting (the candidate said ``ready``)."""
    interview = InterviewSession(
        rt, providers_for(settings, keys, rt, vad=vad), store=SqliteStore(work / "s.db"),
        outbox=Outbox(work / "o.db"), mode="bench", checkpoints=False,
    )  # fmt: skip
    mic, speaker = Microphone(rate=feed.rate, frame_s=feed.frame_s), Speaker()
    interview.session.input.audio, interview.session.output.audio = mic, speaker
    mic.on()
    try:
        await interview.start()
        await quiet(speaker)
        await mic.speak(ready.tobytes())
        await replied(speaker)
        await quiet(speaker)
        yield interview, mic, speaker
    finally:
        await interview.aclose()
        await mic.off()


async def one_interview(
    cases: list[Case], settings: Settings, keys: ProviderKeys, vad: Any, work: Path,
    audio: dict[str, np.ndarray], openai: FakeOpenAI, feed: Feed,
) -> None:  # fmt: skip
    md = parse_metadata('{"job_role": "Backend Developer", "max_duration_s": 7200}',
                        require_user=False)  # fmt: skip
    limits = Limits(max_duration_s=7200)
    rt = InterviewRuntime(md, room_name=f"turns-{time.time_ns()}", limits=limits)
    async with greeted(rt, settings, keys, vad, work, audio[READY], feed) as (
        interview, mic, speaker,
    ):  # fmt: skip
        providers = interview.providers
        for case in cases:
            if rt.terminal:
                break
            before = len(speaker.played)
            decisions = len(providers.turns.decisions) if providers.turns else 0
            end, spans = await play_case(case, mic, speaker, audio)
            await asyncio.sleep(6.5)  # the longest wait, and the reply
            await quiet(speaker)
            measure(case, end, spans, speaker, before)
            if providers.turns is not None:
                new = providers.turns.decisions[decisions:]
                case.waits = [f"{w.seconds:.1f}s {w.reason}" for w in new]
        # providers' own latency, reply by reply: first token + first audio
        own = [(x.llm_ttft_s or 0.0) + (x.tts_ttfb_s or 0.0) for x in rt.latencies]
        typical = statistics.median(own) if own else 0.0
        for case in cases:
            if case.reply_delay_s is not None:
                case.reply_delay_less_providers_s = round(case.reply_delay_s - typical, 3)
        # the cases of one kind say the same words: a message holding one part of an
        # answer without the other is a split answer
        said = [m.text for m in rt.transcript.messages if m.role == "candidate"]
        for case in cases:
            if len(case.parts) == 2:
                a, b = (" ".join(part.rstrip(".").split()[-3:]) for part in case.parts)
                case.one_message = not any((a in t) != (b in t) for t in said)


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 3)


def summarise(cases: list[Case], pauses: list[float]) -> dict[str, Any]:
    paused = [c for c in cases if c.kind in ("mid", "between")]
    resumed = [c for c in cases if c.kind == "resumed"]
    finished = [c for c in cases if c.kind == "finished" and c.reply_delay_s is not None]
    open_ended = [c.reply_delay_s for c in cases if c.kind == "finished_open"]
    raw = [c.reply_delay_s for c in finished if c.reply_delay_s is not None]
    net = [
        c.reply_delay_less_providers_s
        for c in finished
        if c.reply_delay_less_providers_s is not None
    ]
    stops = [c.stopped_after_s for c in resumed if c.stopped_after_s is not None]
    return {
        "cut_offs": {
            kind: {str(p): sum(c.cut_off for c in paused if c.kind == kind and c.pause_s == p)
                   for p in pauses}
            for kind in ("mid", "between")
        },
        "cut_offs_up_to_3s": sum(c.cut_off for c in paused if (c.pause_s or 0) <= 3.0),
        "talked_over_s": {"total": round(sum(c.talked_over_s for c in cases), 3),
                          "max": max((c.talked_over_s for c in cases), default=0.0)},
        "answers_split": sum(c.one_message is False for c in paused),
        "resumed": {
            "interviewer_started_in_the_pause": sum(c.cut_off for c in resumed),
            "stopped_after_s": {"p50": pct(stops, 0.5), "max": max(stops, default=None)},
            "talked_over_s": [c.talked_over_s for c in resumed],
            "answers_split": sum(c.one_message is False for c in resumed),
        },
        "reply_delay_s": {"p50": pct(raw, 0.5), "p95": pct(raw, 0.95)},
        "reply_delay_less_providers_s": {"p50": pct(net, 0.5), "p95": pct(net, 0.95)},
        "reply_delay_after_a_final_preposition_s": open_ended,
    }  # fmt: skip


async def run(
    pauses: list[float], finished: int, voice: str, vad_engine: VadEngine, feed: Feed
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-turns-"))
    cases = cases_for(pauses, finished)
    texts = {READY, *(p for c in cases for p in c.parts)}
    script: list[str] = []
    for kind in KINDS:
        script.append(READY)
        for c in cases:
            if c.kind.startswith(kind):
                script += list(c.parts)
    async with (
        utils.http_context.open(),
        FakeOpenAI(interviewer) as openai,
        FakeDeepgram(script + ["Thank you."] * 20, key=DEEPGRAM_KEY) as deepgram,
    ):
        openai.speech_seconds = REPLY_AUDIO_S
        settings = Settings(
            _env_file=None, openai_base_url=openai.base_url, deepgram_base_url=deepgram.base_url
        )
        keys = ProviderKeys(openai=OPENAI_KEY, deepgram=DEEPGRAM_KEY)
        audio = {t: speech(t, work, feed.rate) for t in texts}
        vad = load_vad(vad_engine)
        for kind in KINDS:  # each its own candidate and interview
            group = [c for c in cases if c.kind.startswith(kind)]
            await one_interview(group, settings, keys, vad, work, audio, openai, feed)
    return {
        "command": "python -m bench.turn_taking --pauses "
        + " ".join(str(p) for p in pauses)
        + f" --finished {finished} --vad {vad_engine} --rate {feed.rate}"
        + f" --frame-ms {round(feed.frame_s * 1000)}",
        "configuration": {
            "vad": VAD_NAMES[vad_engine],
            "room_audio": {"sample_rate": feed.rate, "frame_ms": round(feed.frame_s * 1000)},
        },
        "machine": {"python": platform.python_version(), "cpu": platform.machine()},
        "speech": voice,
        "summary": summarise(cases, pauses),
        "cases": [asdict(c) for c in cases],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pauses", type=float, nargs="+", default=[1.0, 1.5, 2.0, 3.0, 4.0])
    parser.add_argument("--finished", type=int, default=10)
    parser.add_argument("--vad", choices=("livekit", "silero"), default=None)
    parser.add_argument("--rate", type=int, default=ROOM_SAMPLE_RATE)
    parser.add_argument("--frame-ms", type=int, default=ROOM_FRAME_MS)
    parser.add_argument("--out", default="turn_taking.json")
    args = parser.parse_args()
    vad = args.vad or Settings(_env_file=None).vad_engine
    feed = Feed(args.rate, args.frame_ms / 1000)
    result = asyncio.run(run(args.pauses, args.finished, "espeak-ng", vad, feed))
    for c in result["cases"]:
        print(
            f"{c['kind']:>8} pause {c['pause_s'] or '-':>4}: cut off {c['cut_off']!s:5} "
            f"talked over {c['talked_over_s']:.2f}s stopped after {c['stopped_after_s']} "
            f"reply {c['reply_delay_s']} one message {c['one_message']}"
        )
    print(json.dumps(result["summary"], indent=2))
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
