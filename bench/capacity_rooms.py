"""Capacity in real rooms: the worker as users start it, its candidates in another process.

    .venv/bin/python -m bench.capacity_rooms [--sessions 1,5,10,15,20,25,30] [--turns 4]

A LiveKit server (dev mode, loopback); ``python -m agent start`` in local mode (the
environment's provider keys, for local fakes in another process: transcript 300 ms after
speech, 300 ms to the first token, 200 ms to the first audio) with
``WORKER_MAX_INTERVIEWS`` raised so it takes every room; and N candidates on the
``livekit`` real-time SDK in a process of their own, each dispatched to its own room and
speaking espeak-ng answers in real time, their starts spread over one turn. They all say
the same answer: the worker has one speech-to-text server for every room, and its
transcript must be right whichever room it hears.

Per N: the worker's CPU per interview (the worker and all its processes, from process
accounting, while every candidate is answering; and how much of it ran in the processes'
Python main threads, the rest being LiveKit's native WebRTC stack), the unique memory of
each busy job process, the reply latency from a candidate's end of speech to the first
agent audio it receives (p95 at N minus the p95 of ``--baseline-runs`` single
interviews), the end-of-turn timeouts in the worker's log and the turns with no reply in
15 s. The candidates' own process (WebRTC, Opus, real-time audio for N clients) shares
the machine: what it costs is printed apart; on 2 cores it saturates the machine long
before the worker does, so real rooms measure the worker's cost per interview, and the
in-process benchmark (bench/capacity.py) its latency under load. Needs espeak-ng and a
LiveKit server (scripts/test-services).
Writes bench/results/capacity_rooms.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from bench.capacity import KEY, LATE_MS, MISSED_S, pct, providers_process

ANSWER = (
    "At my last job I built a payments service from scratch and, as a result, we cut "
    "failed payments by half in three months."
)
CYCLE_S = 9.0


# ----------------------------------------------------------------- the candidates


def candidates_process(
    server: dict[str, str], agent_name: str, n: int, turns: int, work: str, out: Any
) -> None:
    asyncio.run(_candidates(server, agent_name, n, turns, Path(work), out))


async def _candidates(
    server: dict[str, str], agent_name: str, n: int, turns: int, work: Path, out: Any
) -> None:
    from types import SimpleNamespace

    from bench.real_room import trailing_silence_s
    from tests.rooms.harness import Candidate, dispatch, speech, token

    lk = SimpleNamespace(**server)
    samples = speech(ANSWER, work)
    trail = trailing_silence_s(samples)
    cpu = psutil.Process()
    greeted = asyncio.Barrier(n + 1)
    answered = asyncio.Barrier(n + 1)

    async def one(i: int) -> dict[str, Any]:
        room = f"cap-{uuid.uuid4().hex[:8]}"
        await asyncio.sleep(CYCLE_S * i / n)
        await dispatch(lk, room, agent_name, {"user_id": str(uuid.uuid4())})
        c = Candidate(lk, room)
        await c.join(token(lk, room, f"candidate-{i}"))
        replies: list[float] = []
        try:
            await c.greeted()
            await greeted.wait()
            await asyncio.sleep(CYCLE_S * i / n)
            for _ in range(turns):
                spoken = await c.say(samples)
                end = spoken - trail
                try:
                    replies.append(await c.wait_until_heard(spoken, limit_s=MISSED_S) - end)
                except AssertionError:
                    pass
                await c.wait_until_quiet()
            await answered.wait()
        finally:
            await c.leave()
        return {"replies": replies, "missed": turns - len(replies)}

    async def phases() -> None:
        await greeted.wait()
        out.put(("answering", sum(cpu.cpu_times()[:2]), time.monotonic()))
        await answered.wait()
        out.put(("answered", sum(cpu.cpu_times()[:2]), time.monotonic()))

    results = await asyncio.gather(phases(), *(one(i) for i in range(n)))
    out.put(("results", results[1:], None))


# ----------------------------------------------------------------- the worker's side


def worker_tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def cpu_by_pid(pid: int) -> dict[int, float]:
    out = {}
    for p in worker_tree(pid):
        try:
            out[p.pid] = sum(p.cpu_times()[:2])
        except psutil.NoSuchProcess:
            continue
    return out


def main_threads(pid: int) -> dict[int, float]:
    """CPU seconds of each process's main thread (where Python runs the session); the
    rest of a job process is native: LiveKit's WebRTC stack and its FFI runtime."""
    out = {}
    for p in worker_tree(pid):
        try:
            out[p.pid] = next(t.user_time + t.system_time for t in p.threads() if t.id == p.pid)
        except (psutil.NoSuchProcess, StopIteration):
            continue
    return out


def busy_uss_mb(pid: int, before: dict[int, float], after: dict[int, float]) -> list[float]:
    """Unique memory of the processes that worked in the step (the job processes)."""
    out = []
    for p in worker_tree(pid):
        if p.pid == pid or after.get(p.pid, 0.0) - before.get(p.pid, 0.0) < 0.2:
            continue
        try:
            out.append(p.memory_full_info().uss / 2**20)
        except psutil.NoSuchProcess:
            continue
    return out


def run_step(
    spawn: Any, server: Any, worker: Any, agent_name: str, n: int, turns: int, work: Path
) -> dict[str, Any]:
    out = spawn.Queue()
    lk = {"url": server.url, "http_url": server.http_url, "api_key": server.api_key,
          "api_secret": server.api_secret}  # fmt: skip
    timeouts_before = sum("eot prediction timed out" in line for line in worker.lines)
    proc = spawn.Process(target=candidates_process, args=(lk, agent_name, n, turns, str(work), out))
    proc.start()
    _, own0, t0 = out.get(timeout=300)
    cpu0, py0 = cpu_by_pid(worker.proc.pid), main_threads(worker.proc.pid)
    _, own1, t1 = out.get(timeout=600)
    cpu1, py1 = cpu_by_pid(worker.proc.pid), main_threads(worker.proc.pid)
    uss = busy_uss_mb(worker.proc.pid, cpu0, cpu1)
    _, results, _ = out.get(timeout=120)
    proc.join(60)
    wall = t1 - t0
    worker_cpu = sum(cpu1.get(p, 0.0) - cpu0.get(p, 0.0) for p in cpu1)
    python = sum(py1.get(p, 0.0) - py0.get(p, 0.0) for p in py1)
    return {
        "sessions": n,
        "replies_ms": [r * 1000 for res in results for r in res["replies"]],
        "turns_missed": sum(res["missed"] for res in results),
        "eot_timeouts": sum("eot prediction timed out" in line for line in worker.lines)
        - timeouts_before,
        "cpu_cores_per_session": round(worker_cpu / wall / n, 4),
        "of_which_python_main_threads": round(python / wall / n, 4),
        "uss_mb_per_process": round(sum(uss) / len(uss), 1) if uss else None,
        "job_processes_measured": len(uss),
        "candidates_process_cores": round((own1 - own0) / wall, 3),
    }


def summarise(step: dict[str, Any], base: list[float]) -> dict[str, Any]:
    raw = step.pop("replies_ms")
    return {
        "sessions": step["sessions"],
        "added_by_load_p95_ms": round(pct(raw, 0.95) - pct(base, 0.95), 1),
        "added_by_load_p50_ms": round(pct(raw, 0.5) - pct(base, 0.5), 1),
        "turns_measured": len(raw),
        "turns_late": sum(1 for t in raw if t - pct(base, 0.5) > LATE_MS),
        "end_of_speech_to_agent_audio_ms": {
            "p50": round(pct(raw, 0.5), 1),
            "p95": round(pct(raw, 0.95), 1),
        },
        **{k: v for k, v in step.items() if k != "sessions"},
    }


async def settle(worker: Any, ended: int) -> None:
    """Until the worker has saved every interview so far (each logs it when it ends)."""
    deadline = time.monotonic() + 120
    while sum(m == "interview saved" for m in worker.messages()) < ended:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(3)


def stepped(
    worker: Any,
    run: Callable[[int], dict[str, Any]],
    counts: list[int],
    baseline_runs: int,
    summarise: Callable[[dict[str, Any], list[float]], dict[str, Any]],
) -> list[dict[str, Any]]:
    """``baseline_runs`` single interviews (their replies are the baseline), then one step
    per count, each printed as it ends; the worker saves every interview of a step before
    the next begins."""
    asyncio.run(worker.wait_for("registered worker"))
    ended = 0
    single: list[dict[str, Any]] = []
    for _ in range(baseline_runs):
        single.append(run(1))
        ended += 1
        asyncio.run(settle(worker, ended))
    base = [t for s in single for t in s["replies_ms"]]
    steps = [summarise({**single[0], "replies_ms": base, "baseline_runs": baseline_runs}, base)]
    print(json.dumps(steps[-1]), flush=True)
    for n in counts:
        steps.append(summarise(run(n), base))
        print(json.dumps(steps[-1]), flush=True)
        ended += n
        asyncio.run(settle(worker, ended))
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", default="1,5,10,15,20,25,30")
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--baseline-runs", type=int, default=3)
    args = parser.parse_args()

    from tests.rooms.harness import WorkerProcess
    from tests.rooms.servers import LiveKitServer

    work = Path(tempfile.mkdtemp(prefix="bench-capacity-rooms-"))
    spawn = mp.get_context("spawn")
    urls, stop = spawn.Queue(), spawn.Event()
    fakes = spawn.Process(
        target=providers_process, args=(urls, stop, [[ANSWER] * 20000]), daemon=True
    )
    fakes.start()
    openai_url, (deepgram_url,) = urls.get(timeout=60)
    server = LiveKitServer()
    agent_name = f"capacity-{uuid.uuid4().hex[:6]}"
    worker = WorkerProcess(server, agent_name, {
        "OPENAI_API_KEY": KEY, "DEEPGRAM_API_KEY": KEY, "OPENAI_BASE_URL": openai_url,
        "DEEPGRAM_BASE_URL": deepgram_url, "WORKER_MAX_INTERVIEWS": "1000",
        "INTERVIEW_DB_PATH": str(work / "interviews.db"),
        "INTERVIEW_OUTBOX_PATH": str(work / "outbox.db"),
    })  # fmt: skip
    steps: list[dict[str, Any]] = []
    try:
        steps = stepped(
            worker,
            lambda n: run_step(spawn, server, worker, agent_name, n, args.turns, work),
            [int(x) for x in args.sessions.split(",") if x != "1"],
            args.baseline_runs,
            summarise,
        )
    finally:
        worker.stop()
        server.stop()
        stop.set()
        fakes.join(10)
    write_results(
        "capacity_rooms",
        f"python -m bench.capacity_rooms --sessions {args.sessions} --turns {args.turns}",
        "the worker's defaults (python -m agent start), real rooms",
        steps,
    )


def write_results(name: str, command: str, configuration: str, steps: list[Any]) -> None:
    """bench/results/NAME.json: the command, the machine, what ran and the steps."""
    result = {
        "command": command,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "configuration": configuration,
        "steps": steps,
    }
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
