"""Capacity: concurrent voice interviews on one machine, real VAD on real-time audio.

    .venv/bin/python -m bench.capacity [--sessions 1,5,10,20,30,40] [--turns 5]

Each session is its own process (as LiveKit runs one job per process) running a real
``AgentSession`` with our ``Interviewer``: the real Silero VAD on 16 kHz speech made by
espeak-ng, fed in real time in 20 ms frames; a speech-to-text that answers 100 ms after
the end of a segment; an LLM with 300 ms to first token; a TTS with 200 ms to first audio.
Turn handling is the production one (LiveKit's end-of-turn model wrapped by our
``TurnWatch``, which sets the wait pause by pause; preemptive generation on); with
``--vad-only``, VAD turn detection with a fixed 0.5 s delay (the earlier configuration).

Per turn: from the last voiced frame (espeak's silence trimmed) to the first audio frame
out. The fixed part is the VAD's silence window (0.55 s; the 0.5 s endpointing delay
counts from the same last speech, so it overlaps) plus the providers' measured latencies
(STT 0.1 s + LLM 0.3 s + TTS 0.2 s). What load adds is measured against the p50 of a
single session; the target is that it stays under 50 ms at p95. Per process: CPU seconds
per second of session, and unique memory (USS). Needs ``espeak-ng`` and ``sox``
(Debian). Writes bench/results/capacity.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import shutil
import subprocess
import tempfile
import time
import wave
from pathlib import Path

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
VAD_SILENCE_S = 0.55
ENDPOINTING_S = 0.5
STT_DELAY_S = 0.1
TTFT_S = 0.3
TTFB_S = 0.2
FRAME_S = 0.02
RATE = 16000


def make_speech(work: Path) -> list[Path]:
    """16 kHz mono WAV files of the answers, spoken by espeak-ng."""
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        raise SystemExit("needs espeak-ng and sox: apt-get install espeak-ng sox")
    files = []
    for i, text in enumerate(ANSWERS):
        raw, out = work / f"a{i}-raw.wav", work / f"a{i}.wav"
        subprocess.run(["espeak-ng", "-s", "160", "-w", str(raw), text], check=True)
        # trim espeak's leading/trailing silence: "end of speech" is the last voiced frame
        trim = [
            "silence",
            "1",
            "0.05",
            "0.5%",
            "reverse",
            "silence",
            "1",
            "0.05",
            "0.5%",
            "reverse",
        ]
        subprocess.run(
            ["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out), *trim], check=True
        )
        files.append(out)
    return files


def session_process(
    files: list[str], turns: int, start_at: float, results: mp.Queue, baseline: bool,
    vad_only: bool,
) -> None:  # fmt: skip
    asyncio.run(_session(files, turns, start_at, results, baseline, vad_only))


async def _session(
    files: list[str], turns: int, start_at: float, results: mp.Queue, baseline: bool,
    vad_only: bool,
) -> None:  # fmt: skip
    import os

    import psutil
    from livekit import rtc
    from livekit.agents import Agent, stt, utils
    from livekit.agents.voice.io import AudioInput
    from livekit.plugins import silero

    from agent.runtime import InterviewRuntime
    from agent.session import InterviewSession, Providers
    from agent.turn_taking import TurnWatch, voice_turn_handling
    from bench.fakes import FixedLatencyLLM, FixedLatencyTTS, TimedAudioOutput
    from persistence import SqliteStore
    from persistence.outbox import Outbox
    from stages.metadata import parse_metadata

    class DelayedSTT(stt.STT):
        def __init__(self) -> None:
            super().__init__(
                capabilities=stt.STTCapabilities(streaming=False, interim_results=False)
            )
            self.n = 0

        async def _recognize_impl(self, buffer, *, language=None, conn_options=None):
            await asyncio.sleep(STT_DELAY_S)
            self.n += 1
            return stt.SpeechEvent(
                type=stt.SpeechEventType.FINAL_TRANSCRIPT,
                alternatives=[
                    stt.SpeechData(language="en", text=ANSWERS[(self.n - 1) % len(ANSWERS)])
                ],
            )

    class RealtimeInput(AudioInput):
        def __init__(self) -> None:
            super().__init__(label="realtime")
            self.ch: utils.aio.Chan[rtc.AudioFrame] = utils.aio.Chan()

        async def __anext__(self) -> rtc.AudioFrame:
            return await self.ch.__anext__()

    def frames(path: str) -> list[rtc.AudioFrame]:
        with wave.open(path) as w:
            data = w.readframes(w.getnframes())
        step = int(RATE * FRAME_S) * 2
        data += b"\x00" * (-len(data) % step)
        return [
            rtc.AudioFrame(data[i : i + step], RATE, 1, step // 2)
            for i in range(0, len(data), step)
        ]

    silence = rtc.AudioFrame(b"\x00" * int(RATE * FRAME_S) * 2, RATE, 1, int(RATE * FRAME_S))
    speech = [frames(f) for f in files]
    proc = psutil.Process(os.getpid())
    vad = silero.VAD.load(min_silence_duration=VAD_SILENCE_S)
    md = parse_metadata('{"job_role": "Backend Developer"}', require_user=False)
    rt = InterviewRuntime(md, room_name=f"cap-{os.getpid()}")
    model = FixedLatencyLLM(lambda ctx: "Thank you. Could you tell me a little more?", ttft=TTFT_S)
    voice = FixedLatencyTTS(ttfb=TTFB_S, audio_s=1.0)
    watch = None if vad_only else TurnWatch(rt)
    providers = Providers(
        llm=model,
        stt=DelayedSTT(),
        tts=voice,
        vad=vad,
        turn_handling=voice_turn_handling(watch)
        if watch is not None
        else {
            "turn_detection": "vad",
            "endpointing": {"mode": "fixed", "min_delay": ENDPOINTING_S, "max_delay": 3.0},
            "preemptive_generation": {"enabled": False},
        },
        turns=watch,
    )
    work = Path(tempfile.mkdtemp(prefix="bench-capacity-"))
    interview = InterviewSession(
        rt, providers, store=SqliteStore(work / "s.db"), outbox=Outbox(work / "o.db"),
        mode="bench", checkpoints=False, watch_silence=False,
        agent=Agent(instructions=rt.instructions()) if baseline else None,
    )  # fmt: skip
    audio_in, audio_out = RealtimeInput(), TimedAudioOutput()
    interview.session.input.audio = audio_in
    interview.session.output.audio = audio_out

    async def pump(seq: list[rtc.AudioFrame]) -> float:
        next_t = time.perf_counter()
        for f in seq:
            audio_in.ch.send_nowait(f)
            next_t += FRAME_S
            await asyncio.sleep(max(0.0, next_t - time.perf_counter()))
        return time.perf_counter()

    async def keep_silent(stop: asyncio.Event) -> None:
        next_t = time.perf_counter()
        while not stop.is_set():
            audio_in.ch.send_nowait(silence)
            next_t += FRAME_S
            await asyncio.sleep(max(0.0, next_t - time.perf_counter()))

    await asyncio.sleep(max(0.0, start_at - time.time()))
    await interview.start()
    await interview.wait_for_greeting(30)
    cpu0, wall0 = sum(proc.cpu_times()[:2]), time.perf_counter()
    out: list[dict] = []
    for turn in range(turns):
        stop = asyncio.Event()
        n_out, n_llm, n_tts = (
            len(audio_out.first_frames),
            len(model.actual_ttft),
            len(voice.actual_ttfb),
        )
        speech_end = await pump(speech[turn % len(speech)])
        silent = asyncio.create_task(keep_silent(stop))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(audio_out.segments_at_least(n_out + 1), 15)
        if len(audio_out.first_frames) > n_out and len(model.actual_ttft) > n_llm:
            raw = audio_out.first_frames[n_out] - speech_end
            providers = model.actual_ttft[n_llm] + voice.actual_ttfb[n_tts] + STT_DELAY_S
            # the wait chosen for this pause (the production policy) or the fixed one
            wait = (watch.turn_waits[-1] if watch and watch.turn_waits else None) or ENDPOINTING_S
            out.append({"raw_s": raw, "fixed_s": providers + max(VAD_SILENCE_S, wait)})
        await asyncio.sleep(1.2)  # the agent's reply plays; the candidate listens
        stop.set()
        await silent
    cpu = sum(proc.cpu_times()[:2]) - cpu0
    wall = time.perf_counter() - wall0
    uss = proc.memory_full_info().uss
    await interview.aclose()
    results.put(
        {"turns": out, "cpu_per_s": cpu / wall, "uss_mb": uss / 2**20, "missed": turns - len(out)}
    )


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


def run_step(
    n: int, files: list[Path], turns: int, baseline: bool = False, vad_only: bool = False
) -> dict:
    ctx = mp.get_context("forkserver")
    results: mp.Queue = ctx.Queue()
    start_at = time.time() + 8 + 0.3 * n  # let every process import and load its VAD first
    procs = [
        ctx.Process(
            target=session_process,
            args=([str(f) for f in files], turns, start_at, results, baseline, vad_only),
        )
        for _ in range(n)
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(30)
    raw = [t["raw_s"] * 1000 for r in got for t in r["turns"]]
    beyond = [(t["raw_s"] - t["fixed_s"]) * 1000 for r in got for t in r["turns"]]
    return {
        "sessions": n,
        "turns_measured": len(raw),
        "turns_missed": sum(r["missed"] for r in got),
        "end_of_speech_to_first_audio_ms": {
            "p50": round(pct(raw, 0.5), 1),
            "p95": round(pct(raw, 0.95), 1),
            "max": round(max(raw), 1) if raw else None,
        },
        "beyond_fixed_waits_ms": {
            "p50": round(pct(beyond, 0.5), 1),
            "p95": round(pct(beyond, 0.95), 1),
        },
        "cpu_cores_per_session": round(sum(r["cpu_per_s"] for r in got) / n, 3),
        "uss_mb_per_process": round(sum(r["uss_mb"] for r in got) / n, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", default="1,5,10,20,30,40")
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument(
        "--baseline", action="store_true", help="plain LiveKit Agent with the same providers"
    )
    parser.add_argument(
        "--vad-only", action="store_true",
        help="VAD turn detection with a fixed 0.5 s delay (the earlier configuration)",
    )  # fmt: skip
    parser.add_argument("--out", default="capacity.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-capacity-"))
    files = make_speech(work)
    steps = []
    base_p50 = None
    for n in (int(x) for x in args.sessions.split(",")):
        step = run_step(n, files, args.turns, args.baseline, args.vad_only)
        lat = step["end_of_speech_to_first_audio_ms"]
        base_p50 = lat["p50"] if base_p50 is None else base_p50
        step["added_by_load_p95_ms"] = round(lat["p95"] - base_p50, 1)
        steps.append(step)
        print(json.dumps(step), flush=True)
        if step["added_by_load_p95_ms"] > 50 or step["turns_missed"]:
            break
    result = {
        "command": f"python -m bench.capacity --sessions {args.sessions} --turns {args.turns}"
        + (" --baseline" if args.baseline else "")
        + (" --vad-only" if args.vad_only else ""),
        "steps": steps,
    }
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
