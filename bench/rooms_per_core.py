"""Interviews per core in real rooms: the worker confined to one core, its candidates on
the other, made by a load generator that costs little.

    .venv/bin/python -m bench.rooms_per_core [--rooms 4,6,8,10,12] [--turns 6]
        [--baseline-runs 2] [--out NAME] [--env NAME=VALUE ...]

A LiveKit server (dev mode, loopback), the local provider fakes of ``bench.capacity``
(transcript 300 ms after speech, 300 ms to the first token, 200 ms to the first audio)
and the load generator (``bench/loadgen``, Go, built by ``scripts/build-loadgen``) run on
core 0; the worker as users start it (``python -m agent start``, local mode,
``WORKER_MAX_INTERVIEWS`` raised so that it takes every room) and every process it
starts run on core 1 (CPU affinity, inherited by its job processes). The generator's
candidates publish pre-encoded Opus (espeak-ng answers encoded once by ``opusenc``), one
room each, their starts spread over one turn, and hear the agent without decoding it
(the size of its Opus packets); each says "ready", then ``--turns`` times the same
22-word answer.

Per number of rooms: the reply latency from the candidate's side (the end of their
voice to the first voiced agent packet: p50 / p95, and what the load adds to the p95 of
``--baseline-runs`` single interviews), the turns missed (no reply in 15 s) or late
(250 ms over the single-interview median), LiveKit's end-of-turn timeouts in the
worker's log, the worker's CPU per interview (all its processes, from process
accounting, over the window in which every room is answering; the share in the
processes' Python main threads apart), the unique memory of each job process, and the
generator's own CPU per candidate. No timing is asserted.
Writes bench/results/NAME.json (default ``rooms_per_core``).
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from bench.capacity import KEY, LATE_MS, MISSED_S, pct, providers_process
from bench.capacity_rooms import (
    ANSWER,
    cpu_by_pid,
    main_threads,
    stepped,
    worker_tree,
    write_results,
)

READY = "Yes, I am ready to begin."
WORKER_CORE = 1
OTHERS_CORE = 0
ROOT = Path(__file__).resolve().parent.parent
LOADGEN = ROOT / ".cache" / "loadgen" / "loadgen"
SAMPLE_S = 0.5


# ----------------------------------------------------------------- the candidates


def loadgen() -> Path:
    """The generator, built (or found up to date) by scripts/build-loadgen."""
    subprocess.run([str(ROOT / "scripts" / "build-loadgen")], check=True)
    return LOADGEN


def spoken(text: str, work: Path, name: str) -> Path:
    """``text`` said by espeak-ng, encoded once as Ogg Opus in 20 ms packets."""
    wav, ogg = work / f"{name}.wav", work / f"{name}.ogg"
    subprocess.run(["espeak-ng", "-s", "170", "-w", str(wav), text], check=True)
    subprocess.run(
        ["opusenc", "--quiet", "--framesize", "20", "--bitrate", "32", str(wav), str(ogg)],
        check=True,
    )
    return ogg


@contextlib.contextmanager
def on_core(core: int) -> Iterator[None]:
    """Processes started inside run on ``core`` (children inherit CPU affinity)."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


# ----------------------------------------------------------------- the worker's side


class Accounting:
    """The worker's CPU (per process, and in each process's main thread) sampled every
    ``SAMPLE_S`` seconds with the wall time, and the unique memory of its busy processes."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, dict[int, float], dict[int, float]]] = []
        self.uss_mb: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Accounting:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            self.samples.append((time.time(), cpu_by_pid(self.pid), main_threads(self.pid)))
            n += 1
            if n % 10 == 0:  # every 5 s: the unique memory of the job processes at work
                self._memory()
            self._stop.wait(SAMPLE_S)

    def _memory(self) -> None:
        if len(self.samples) < 11:
            return
        (_, before, _), (_, after, _) = self.samples[-11], self.samples[-1]
        for p in worker_tree(self.pid):
            if p.pid == self.pid or after.get(p.pid, 0.0) - before.get(p.pid, 0.0) < 0.1:
                continue
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                uss = p.memory_full_info().uss / 2**20
                self.uss_mb[p.pid] = max(uss, self.uss_mb.get(p.pid, 0.0))

    def between(self, t0: float, t1: float) -> tuple[float, float, float]:
        """CPU seconds of the whole worker and of its main threads between the samples
        nearest ``t0`` and ``t1``, and the wall time between those samples."""
        times = [s[0] for s in self.samples]
        i = min(bisect.bisect_left(times, t0), len(times) - 1)
        j = min(bisect.bisect_left(times, t1), len(times) - 1)
        (w0, cpu0, py0), (w1, cpu1, py1) = self.samples[i], self.samples[j]
        # a process started inside the window counts from nothing
        cpu = sum(cpu1[p] - cpu0.get(p, 0.0) for p in cpu1)
        py = sum(py1[p] - py0.get(p, 0.0) for p in py1)
        return cpu, py, w1 - w0


def run_step(
    binary: Path, server: Any, worker: Any, n: int, turns: int, work: Path,
    ready: Path, answer: Path,
) -> dict[str, Any]:  # fmt: skip
    out = work / f"loadgen-{n}-{uuid.uuid4().hex[:4]}.json"
    timeouts_before = sum("eot prediction timed out" in line for line in worker.lines)
    args = [
        str(binary), "--url", server.url, "--api-key", server.api_key,
        "--api-secret", server.api_secret, "--rooms", str(n), "--spread", "9",
        "--agent-name", worker.agent_name, "--ready", str(ready), "--answer", str(answer),
        "--turns", str(turns), "--reply-timeout", str(MISSED_S), "--out", str(out),
    ]  # fmt: skip
    with Accounting(worker.proc.pid) as acct, open(work / "loadgen.log", "ab") as log:
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=log)
    result = json.loads(out.read_text())
    rooms = [r for r in result["rooms"] if not r.get("error")]
    # the window in which every room is answering (else the whole run)
    t0 = max((r["answering_from"] for r in rooms), default=0.0)
    t1 = min((r["answering_to"] for r in rooms), default=0.0)
    if t1 - t0 < 10:
        t0, t1 = acct.samples[0][0], acct.samples[-1][0]
    cpu, py, wall = acct.between(t0, t1)
    replies = [t["reply_s"] * 1000 for r in rooms for t in r["turns"] if t["reply_s"] is not None]
    summary = result["summary"]
    uss = list(acct.uss_mb.values())
    return {
        "rooms": n,
        "replies_ms": replies,
        "turns_missed": summary["missed"],
        "room_errors": [r["error"] for r in result["rooms"] if r.get("error")],
        "eot_timeouts": sum("eot prediction timed out" in line for line in worker.lines)
        - timeouts_before,
        "window_s": round(wall, 1),
        "cpu_cores_per_interview": round(cpu / wall / n, 4) if wall > 0 else None,
        "of_which_python_main_threads": round(py / wall / n, 4) if wall > 0 else None,
        "worker_cores": round(cpu / wall, 3) if wall > 0 else None,
        "uss_mb_per_process": round(sum(uss) / len(uss), 1) if uss else None,
        "job_processes_measured": len(uss),
        "generator_cores_per_candidate": summary.get("cores_per_candidate"),
        "generator_max_rss_mb": summary.get("max_rss_mb"),
    }


def summarise(step: dict[str, Any], base: list[float]) -> dict[str, Any]:
    raw = step.pop("replies_ms")
    return {
        "rooms": step["rooms"],
        "added_by_load_p95_ms": round(pct(raw, 0.95) - pct(base, 0.95), 1) if raw else None,
        "turns_measured": len(raw),
        "turns_late": sum(1 for t in raw if t - pct(base, 0.5) > LATE_MS),
        "end_of_voice_to_agent_audio_ms": {
            "p50": round(pct(raw, 0.5), 1) if raw else None,
            "p95": round(pct(raw, 0.95), 1) if raw else None,
        },
        **{k: v for k, v in step.items() if k != "rooms"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rooms", default="4,6,8,10,12")
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--baseline-runs", type=int, default=2)
    parser.add_argument("--out", default="rooms_per_core")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE",
        help="a setting for the worker (repeatable): a lever, measured before and after",
    )  # fmt: skip
    args = parser.parse_args()
    settings = dict(item.split("=", 1) for item in args.env)
    if os.cpu_count() is None or len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("needs two cores: one for the worker, one for everything else")
    for tool in ("espeak-ng", "opusenc"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing (scripts/build-loadgen installs opusenc)")

    from tests.rooms.harness import WorkerProcess
    from tests.rooms.servers import LiveKitServer

    binary = loadgen()
    work = Path(tempfile.mkdtemp(prefix="bench-rooms-per-core-"))
    ready, answer = spoken(READY, work, "ready"), spoken(ANSWER, work, "answer")
    spawn = mp.get_context("spawn")
    steps: list[dict[str, Any]] = []
    with on_core(OTHERS_CORE):
        urls, stop = spawn.Queue(), spawn.Event()
        fakes = spawn.Process(
            target=providers_process, args=(urls, stop, [[ANSWER] * 20000]), daemon=True
        )
        fakes.start()
        openai_url, (deepgram_url,) = urls.get(timeout=60)
        server = LiveKitServer()
        with on_core(WORKER_CORE):
            worker = WorkerProcess(server, f"per-core-{uuid.uuid4().hex[:6]}", {
                "OPENAI_API_KEY": KEY, "DEEPGRAM_API_KEY": KEY, "OPENAI_BASE_URL": openai_url,
                "DEEPGRAM_BASE_URL": deepgram_url, "WORKER_MAX_INTERVIEWS": "1000",
                "INTERVIEW_DB_PATH": str(work / "interviews.db"),
                "INTERVIEW_OUTBOX_PATH": str(work / "outbox.db"), **settings,
            })  # fmt: skip
        try:
            steps = stepped(
                worker,
                lambda n: run_step(binary, server, worker, n, args.turns, work, ready, answer),
                [int(x) for x in args.rooms.split(",") if x != "1"],
                args.baseline_runs,
                summarise,
            )
        finally:
            worker.stop()
            server.stop()
            stop.set()
            fakes.join(10)
    write_results(
        args.out,
        f"python -m bench.rooms_per_core --rooms {args.rooms} --turns {args.turns}"
        f" --baseline-runs {args.baseline_runs}" + "".join(f" --env {item}" for item in args.env),
        "the worker's defaults (python -m agent start) on one core; the LiveKit server, "
        "the provider fakes and the load generator on the other",
        steps,
    )


if __name__ == "__main__":
    main()
