"""What keeping a consenting candidate's answers costs the interview.

    .venv/bin/python -m bench.recording [--minutes 30] [--answers 20]

Feeds the recorder a whole interview of room audio (16 kHz mono, 50 ms frames, as the
speech-to-text receives it) and prints: the time each frame costs the event loop (the
copy and the hand-off; the spool writes run in a thread), the spool's size, and how long
cutting the answers into WAV files takes at the end (after the transcript is saved).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from interview.recordings import AnswerRecorder

RATE, FRAME = 16000, 800
T0 = 1_800_000_000.0


async def run(minutes: float, answers: int) -> None:
    frames = int(minutes * 60 * RATE / FRAME)
    audio = (np.random.default_rng(1).standard_normal(FRAME) * 1000).astype(np.int16)
    with tempfile.TemporaryDirectory() as d:
        rec = AnswerRecorder(Path(d), "bench")
        costs = []
        for i in range(frames):
            start = time.perf_counter()
            rec.feed(bytes(audio.data), RATE, 1, T0 + (i + 1) * FRAME / RATE)
            costs.append(time.perf_counter() - start)
            if i % 20 == 19:  # a second of audio: let the spool writer run
                await asyncio.sleep(0)
        length = minutes * 60 / answers
        spans = [(T0 + n * length + 2, T0 + (n + 1) * length - 2) for n in range(answers)]
        start = time.perf_counter()
        paths = await rec.save_answers(spans, None)
        cut_s = time.perf_counter() - start
        written = sum((Path(d) / p).stat().st_size for p in paths if p)
    us = sorted(c * 1e6 for c in costs)
    print(
        f"{frames} frames ({minutes:g} min): per frame on the event loop "
        f"p50 {statistics.median(us):.1f} µs, p99 {us[int(0.99 * len(us))]:.1f} µs, "
        f"max {us[-1]:.0f} µs (a frame lasts 50 000 µs)"
    )
    print(
        f"spool {frames * FRAME * 2 / 1e6:.1f} MB; {answers} answers cut into "
        f"{written / 1e6:.1f} MB of WAV in {cut_s * 1000:.0f} ms (after the transcript is saved)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.recording")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--answers", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(run(args.minutes, args.answers))


if __name__ == "__main__":
    main()
