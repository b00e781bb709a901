"""Capacity: concurrent voice interviews on one machine, in the worker's own configuration.

    .venv/bin/python -m bench.capacity [--sessions 1,5,10,15,20,25,30] [--turns 5]
        [--vad livekit|silero] [--vad-thread] [--rate 16000] [--frame-ms 50]
        [--start even|random|lockstep]

Each interview runs as the worker runs it: its own process, forked from a forkserver that
preloaded what the worker's preloads (LiveKit's plugins and local models, then
``agent.preload``), the worker's session assembly (``providers_for``: the real Deepgram
and OpenAI plugins, the VAD the worker would load, LiveKit's end-of-turn model wrapped by
``TurnWatch``, checkpoints on). The providers are local fakes in another process at the
plugins' ``base_url`` (speech-to-text final 300 ms after speech, Deepgram's endpointing;
300 ms to the model's first token; 200 ms to the voice's first audio). The candidate is
espeak-ng speech delivered in real time as the room would deliver it (``--rate`` and
``--frame-ms``; by default the worker's: 16 kHz, 50 ms frames), with silence between
answers. Interviews start spread over one turn's length, as independent interviews do:
evenly by default, ``--start random`` at seeded random moments (ends of speech then
sometimes coincide), ``--start lockstep`` all at once (every end of speech in the same
frame: the worst case).

Per turn: from the candidate's last voiced sample to the first audio frame out. What load
adds is the p95 at N sessions minus the p95 of single interviews run one after another
(``--baseline-runs``, 4 by default: where an answer ends against the room's frames, the
VAD's windows and the transcript's chunks moves a reply by up to ~100 ms, so one
interview's five replies are not a baseline); the target is 50 ms. A turn
is missed with no reply in 15 s and late when load added over 250 ms. Per process (one
interview each): CPU seconds per second from process accounting, unique memory (USS), and
LiveKit's "eot prediction timed out" warnings. Needs ``espeak-ng`` and ``sox`` (Debian).
Writes bench/results/capacity.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

ANSWERS = [
    "I am a backend developer with five years of experience in Python and Go, mostly on "
    "payment services for online shops.",
    "At my last job I built a payments service from scratch and, as a result, we cut "
    "failed payments by half in three months.",
    "I would put a queue with retries in front of the workers, add idempotency keys, and "
    "watch the queue length very closely.",
    "When two teammates disagreed about an interface, I set up a short meeting and we "
    "agreed on a plan that both teams liked.",
    "I am most proud of mentoring two junior engineers who now lead projects of their own "
    "and mentor others in turn.",
    "No, that covers everything from my side, thank you very much for your time and for "
    "the interesting questions today.",
]
TTFT_S = 0.3
TTFB_S = 0.2
REPLY_AUDIO_S = 1.0
LISTEN_S = 1.2
"""After the reply starts, the candidate listens this long before the next answer."""
CYCLE_S = 8.0
"""About one turn (answer, reply, listening): the spread of staggered starts."""
MISSED_S = 15.0
LATE_MS = 250.0
KEY = "bench-capacity-key-0123456789"
REPLY = "Thank you. Could you tell me a little more about that?"


def make_speech(work: Path, rate: int) -> list[Path]:
    """Mono 16-bit WAV files of the answers at ``rate``, spoken by espeak-ng."""
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        raise SystemExit("needs espeak-ng and sox: apt-get install espeak-ng sox")
    files = []
    for i, text in enumerate(ANSWERS):
        raw, out = work / f"a{i}-raw.wav", work / f"a{i}.wav"
        subprocess.run(["espeak-ng", "-s", "160", "-w", str(raw), text], check=True)
        # trim espeak's leading and trailing silence: the end of speech is the last voiced
        # sample
        trim = ["silence", "1", "0.05", "0.5%", "reverse"] * 2
        subprocess.run(
            ["sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(out), *trim],
            check=True,
        )
        files.append(out)
    return files


# ----------------------------------------------------------------- the providers


def providers_process(urls: Any, stop: Any, scripts: list[list[str]]) -> None:
    asyncio.run(_providers(urls, stop, scripts))


async def _providers(urls: Any, stop: Any, scripts: list[list[str]]) -> None:
    """One model-and-voice server for all; a speech-to-text server per script: each
    interview's answers in the order it speaks them (a transcript decides the wait, so
    each must be the answer just spoken)."""
    from tests.fake_deepgram import FakeDeepgram
    from tests.fake_openai import FakeOpenAI

    async with contextlib.AsyncExitStack() as stack:
        openai = await stack.enter_async_context(
            FakeOpenAI(lambda body: {"content": REPLY, "delay": TTFT_S})
        )
        openai.speech_seconds, openai.speech_delay = REPLY_AUDIO_S, TTFB_S
        deepgram = [
            await stack.enter_async_context(FakeDeepgram(script, key=KEY)) for script in scripts
        ]
        urls.put((openai.base_url, [d.base_url for d in deepgram]))
        # the stop comes from another process (a multiprocessing event): wait off the loop
        await asyncio.to_thread(stop.wait)


# ----------------------------------------------------------------- one interview


def session_process(cfg: dict[str, Any], start_at: float, results: Any) -> None:
    asyncio.run(_session(cfg, start_at, results))


class _Timeouts:
    """Counts LiveKit's end-of-turn timeout warnings in this process."""

    def __init__(self) -> None:
        import logging

        self.count = 0
        outer = self

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if "eot prediction timed out" in record.getMessage():
                    outer.count += 1

        logging.getLogger("livekit.agents").addHandler(Handler(logging.WARNING))


async def _session(cfg: dict[str, Any], start_at: float, results: Any) -> None:
    import psutil
    from livekit import rtc
    from livekit.agents import inference, utils
    from livekit.agents.voice.io import AudioInput

    from agent.audio import VAD_SILENCE_S, load_vad
    from agent.config import Settings
    from agent.runtime import InterviewRuntime
    from agent.session import InterviewSession, providers_for
    from agent.worker import warm
    from bench.fakes import TimedAudioOutput
    from persistence import SqliteStore
    from persistence.outbox import Outbox
    from providers import ProviderKeys
    from stages.metadata import parse_metadata

    timeouts = _Timeouts()
    rate, frame_n = cfg["rate"], cfg["rate"] * cfg["frame_ms"] // 1000
    frame_s = cfg["frame_ms"] / 1000

    class Room(AudioInput):
        """The room's audio track: one frame per frame period, silence unless speaking."""

        def __init__(self) -> None:
            super().__init__(label="room")
            self.ch: utils.aio.Chan[rtc.AudioFrame] = utils.aio.Chan()
            self.speech: list[rtc.AudioFrame] = []
            self.said = asyncio.Event()
            self.speech_end = 0.0
            self._pad_s = 0.0

        async def __anext__(self) -> rtc.AudioFrame:
            return await self.ch.__anext__()

        def say(self, frames: list[rtc.AudioFrame], pad_s: float) -> None:
            self.said.clear()
            self.speech, self._pad_s = list(frames), pad_s

        async def run(self) -> None:
            silence = rtc.AudioFrame(b"\x00\x00" * frame_n, rate, 1, frame_n)
            next_t = time.perf_counter() + frame_s
            while True:
                await asyncio.sleep(max(0.0, next_t - time.perf_counter()))
                # a frame is delivered when its last sample has been spoken
                self.ch.send_nowait(self.speech.pop(0) if self.speech else silence)
                if not self.speech and not self.said.is_set() and self._pad_s >= 0:
                    self.speech_end = time.perf_counter() - self._pad_s
                    self._pad_s = -1.0
                    self.said.set()
                next_t += frame_s

    def frames(path: str) -> tuple[list[rtc.AudioFrame], float]:
        with wave.open(path) as w:
            data = w.readframes(w.getnframes())
        step = frame_n * 2
        pad = -len(data) % step
        data += b"\x00" * pad
        chunks = [data[i : i + step] for i in range(0, len(data), step)]
        return [rtc.AudioFrame(c, rate, 1, frame_n) for c in chunks], pad / 2 / rate

    speech = [frames(f) for f in cfg["files"]]
    proc = psutil.Process(os.getpid())
    # the worker's prewarm (already done in the forkserver: cached)
    vad = (
        inference.VAD(min_silence_duration=VAD_SILENCE_S)
        if cfg["vad_thread"]
        else load_vad(cfg["vad"])
    )
    warm()
    settings = Settings(
        _env_file=None,
        openai_base_url=cfg["openai"],
        deepgram_base_url=cfg["deepgram"][cfg["index"]],
        vad_engine=cfg["vad"],
    )
    keys = ProviderKeys(openai=KEY, deepgram=KEY)
    md = parse_metadata('{"job_role": "Backend Developer"}', require_user=False)
    rt = InterviewRuntime(md, room_name=f"cap-{os.getpid()}")
    work = Path(tempfile.mkdtemp(prefix="bench-capacity-"))
    out: list[tuple[int, float]] = []
    async with utils.http_context.open():
        providers = providers_for(settings, keys, rt, vad=vad)
        interview = InterviewSession(
            rt, providers, store=SqliteStore(work / "s.db"), outbox=Outbox(work / "o.db"),
            mode="bench",
        )  # fmt: skip
        room, audio_out = Room(), TimedAudioOutput()
        interview.session.input.audio = room
        interview.session.output.audio = audio_out
        feeding = asyncio.create_task(room.run())
        await asyncio.sleep(max(0.0, start_at - time.time()))
        await interview.start()
        await interview.wait_for_greeting(30)
        await asyncio.sleep(LISTEN_S)
        cpu0, wall0 = sum(proc.cpu_times()[:2]), time.perf_counter()
        for turn in range(cfg["turns"]):
            n_out = len(audio_out.first_frames)
            room.say(*speech[turn % len(speech)])
            await room.said.wait()
            try:
                await asyncio.wait_for(audio_out.segments_at_least(n_out + 1), MISSED_S)
                out.append((turn, audio_out.first_frames[n_out] - room.speech_end))
            except TimeoutError:
                pass
            await asyncio.sleep(LISTEN_S)
        cpu = sum(proc.cpu_times()[:2]) - cpu0
        wall = time.perf_counter() - wall0
        uss = proc.memory_full_info().uss
        detector = providers.turn_handling.get("turn_detection")
        feeding.cancel()
        await interview.aclose()
    results.put(
        {
            "turns": out,
            "missed": cfg["turns"] - len(out),
            "cpu_per_s": cpu / wall,
            "uss_mb": uss / 2**20,
            "eot_timeouts": timeouts.count,
            "turn_detector": f"{getattr(detector, 'model', detector)} "
            f"({getattr(detector, 'provider', '')}) + TurnWatch",
        }
    )


# ----------------------------------------------------------------- the steps


def forkserver(vad: str, preload: bool = True) -> mp.context.ForkServerContext:
    """A forkserver that preloads what the worker's does (``AgentServer.run``); without
    ``preload``, LiveKit's part only (the worker before ``agent.preload``)."""
    from livekit.agents import Plugin

    import agent.worker  # registers the plugins the worker registers

    if vad == "silero":
        import livekit.plugins.silero  # noqa: F401

    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(
        list(dict.fromkeys(p.package for p in Plugin.registered_plugins))
        + (agent.worker.PRELOAD_MODULES if preload else [])
        + ["livekit.agents.ipc._preload", "livekit.agents.ipc._preload_freeze"]
    )
    return ctx


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


def offsets(n: int, start: str) -> list[float]:
    if start == "lockstep":
        return [0.0] * n
    if start == "random":
        rng = random.Random(n)
        return sorted(rng.uniform(0.0, CYCLE_S) for _ in range(n))
    return [CYCLE_S * i / n for i in range(n)]


def run_step(ctx: Any, n: int, cfg: dict[str, Any], start: str) -> list[dict[str, Any]]:
    """``n`` interviews at once: what each process reported."""
    results = ctx.Queue()
    start_at = time.time() + 5 + 0.2 * n  # every process forked and warmed first
    delays = offsets(n, start)
    procs = [
        ctx.Process(
            target=session_process, args=({**cfg, "index": i}, start_at + delays[i], results)
        )
        for i in range(n)
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(30)
    return got


def baseline(ctx: Any, cfg: dict[str, Any], runs: int) -> list[dict[str, Any]]:
    """Single interviews, one after another: the reply latency without load. Where an
    answer ends against the room's 50 ms frames, the VAD's 32 ms windows and the
    transcript's chunks moves a reply by up to ~100 ms, so one interview is not enough."""
    return [r for _ in range(runs) for r in run_step(ctx, 1, cfg, "lockstep")]


def summarise(n: int, got: list[dict[str, Any]], base: list[float]) -> dict[str, Any]:
    raw = [t * 1000 for r in got for _, t in r["turns"]]
    return {
        "sessions": n,
        "added_by_load_p95_ms": round(pct(raw, 0.95) - pct(base, 0.95), 1),
        "added_by_load_p50_ms": round(pct(raw, 0.5) - pct(base, 0.5), 1),
        "turns_measured": len(raw),
        "turns_missed": sum(r["missed"] for r in got),
        "turns_late": sum(1 for t in raw if t - pct(base, 0.5) > LATE_MS),
        "eot_timeouts": sum(r["eot_timeouts"] for r in got),
        "end_of_speech_to_first_audio_ms": {
            "p50": round(pct(raw, 0.5), 1),
            "p95": round(pct(raw, 0.95), 1),
            "max": round(max(raw), 1) if raw else None,
        },
        "cpu_cores_per_session": round(sum(r["cpu_per_s"] for r in got) / len(got), 4),
        "uss_mb_per_process": round(sum(r["uss_mb"] for r in got) / len(got), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", default="1,5,10,15,20,25,30")
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--vad", choices=("livekit", "silero"), default=None)
    parser.add_argument(
        "--vad-thread", action="store_true",
        help="LiveKit's VAD with its default hand-off of each window to a thread",
    )  # fmt: skip
    parser.add_argument("--rate", type=int, default=None, help="room audio sample rate")
    parser.add_argument("--frame-ms", type=int, default=None, help="room audio frame size")
    parser.add_argument("--start", choices=("even", "random", "lockstep"), default="even")
    parser.add_argument(
        "--no-preload", action="store_true", help="the worker's own modules not preloaded"
    )
    parser.add_argument(
        "--baseline-runs", type=int, default=4, help="single interviews for the baseline (N = 1)"
    )
    parser.add_argument("--out", default="capacity.json")
    args = parser.parse_args()

    from agent.audio import ROOM_FRAME_MS, ROOM_SAMPLE_RATE, VAD_NAMES
    from agent.config import Settings

    vad = args.vad or Settings(_env_file=None).vad_engine
    rate, frame_ms = args.rate or ROOM_SAMPLE_RATE, args.frame_ms or ROOM_FRAME_MS
    work = Path(tempfile.mkdtemp(prefix="bench-capacity-"))
    files = [str(f) for f in make_speech(work, rate)]
    ctx = forkserver(vad, preload=not args.no_preload)
    spawn = mp.get_context("spawn")
    urls, stop = spawn.Queue(), spawn.Event()
    if not 1 <= args.turns <= len(ANSWERS):
        raise SystemExit(f"--turns: 1 to {len(ANSWERS)} (one answer each)")
    largest = max(int(x) for x in args.sessions.split(","))
    scripts = [ANSWERS[: args.turns] * 1000] * largest
    fakes = spawn.Process(target=providers_process, args=(urls, stop, scripts), daemon=True)
    fakes.start()
    openai_url, deepgram_url = urls.get(timeout=60)
    cfg = {
        "files": files, "turns": args.turns, "vad": vad, "vad_thread": args.vad_thread,
        "rate": rate, "frame_ms": frame_ms, "openai": openai_url, "deepgram": deepgram_url,
    }  # fmt: skip
    steps: list[dict[str, Any]] = []
    detector = None  # what the job processes reported
    try:
        single = baseline(ctx, cfg, args.baseline_runs)
        base = [t * 1000 for r in single for _, t in r["turns"]]
        detector = single[0]["turn_detector"]
        steps.append({**summarise(1, single, base), "baseline_runs": args.baseline_runs})
        print(json.dumps(steps[-1]), flush=True)
        for n in (int(x) for x in args.sessions.split(",") if x != "1"):
            got = run_step(ctx, n, cfg, args.start)
            detector = got[0]["turn_detector"]
            steps.append(summarise(n, got, base))
            print(json.dumps(steps[-1]), flush=True)
    finally:
        stop.set()
        fakes.join(10)
    result = {
        "command": "python -m bench.capacity "
        + " ".join(a for a in sys.argv[1:] if not a.startswith("--out")),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
        },
        "configuration": {
            "turn_detector": detector,
            "vad": VAD_NAMES[vad]
            + ("" if vad == "silero" else ", thread hand-off" if args.vad_thread else ", inline"),
            "room_audio": {"sample_rate": rate, "frame_ms": frame_ms},
            "start": f"{args.start} (over {CYCLE_S:g} s)",
            "preloaded": "LiveKit's" if args.no_preload else "LiveKit's and the worker's",
            "providers": "the real OpenAI and Deepgram plugins against local fakes in "
            f"another process: transcript 300 ms after speech, {TTFT_S * 1000:g} ms to "
            f"first token, {TTFB_S * 1000:g} ms to first audio",
        },
        "steps": steps,
    }
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
