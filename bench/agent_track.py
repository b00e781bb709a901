"""What the agent's own audio track costs a job process while the agent is silent.

    .venv/bin/python -m bench.agent_track [--seconds 20]

One process on core 1 joins a room on a LiveKit server (dev mode, loopback) and publishes
an audio track as LiveKit's room output does (24 kHz mono, ``rtc.AudioSource`` with its
200 ms queue, which feeds WebRTC 10 ms of silence whenever it holds no audio), then as the
direct source (``queue_size_ms=0``: frames go straight to WebRTC, nothing is fed while
silent, the caller must pace its 10 ms frames itself). In each: silent, speaking (a tone,
in 10 ms frames), silent again, and for the queued source, muted. Prints the process's
CPU per thread (its names are LiveKit's and WebRTC's) in each state, and the same with
nothing published. No timing is asserted. Writes bench/results/agent_track.json.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import time
from collections.abc import Awaitable, Callable

import numpy as np
from livekit import rtc

from bench.capacity_rooms import write_results

RATE = 24000
FRAME = RATE // 100  # 10 ms
CORE = 1


def thread_seconds() -> collections.Counter[str]:
    """CPU seconds so far per thread name of this process (digits stripped)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: collections.Counter[str] = collections.Counter()
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                name = f.read().strip().rstrip("0123456789-_ ")
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[name] += (int(fields[11]) + int(fields[12])) / tick
    return out


async def measure(
    label: str, seconds: float, during: Callable[[float], Awaitable[None]] | None = None
) -> dict[str, object]:
    before, t0 = thread_seconds(), time.monotonic()
    await (during(seconds) if during else asyncio.sleep(seconds))
    after, wall = thread_seconds(), time.monotonic() - t0
    threads = {k: round((after[k] - before.get(k, 0.0)) / wall, 4) for k in after}
    threads = {k: v for k, v in sorted(threads.items(), key=lambda kv: -kv[1]) if v > 0}
    row = {"state": label, "cores": round(sum(threads.values()), 4), "threads": threads}
    print(f"{label:48s} {row['cores']:.4f} cores  {threads}", flush=True)
    return row


def speaker(source: rtc.AudioSource, paced: bool) -> Callable[[float], Awaitable[None]]:
    tone = (np.sin(np.arange(FRAME) * 2 * np.pi * 220 / RATE) * 8000).astype(np.int16)
    frame = rtc.AudioFrame(tone.tobytes(), RATE, 1, FRAME)

    async def speak(seconds: float) -> None:
        start = time.monotonic()
        for i in range(int(seconds * 100)):
            await source.capture_frame(frame)  # the queued source paces itself
            if paced:  # the direct one does not: 10 ms a frame, on the clock
                await asyncio.sleep(max(0.0, start + (i + 1) / 100 - time.monotonic()))

    return speak


async def run(url: str, jwt: str, seconds: float) -> list[dict[str, object]]:
    room = rtc.Room()
    await room.connect(url, jwt)
    rows = [await measure("connected, nothing published", seconds)]
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    for queue_ms, name in ((200, "queued (LiveKit's room output)"), (0, "direct")):
        source = rtc.AudioSource(RATE, 1, queue_size_ms=queue_ms)
        track = rtc.LocalAudioTrack.create_audio_track(f"agent-{queue_ms}", source)
        publication = await room.local_participant.publish_track(track, options)
        await asyncio.sleep(3)
        rows.append(await measure(f"{name}: silent", seconds))
        rows.append(await measure(f"{name}: speaking", seconds, speaker(source, not queue_ms)))
        await asyncio.sleep(2)
        rows.append(await measure(f"{name}: silent after speaking", seconds))
        if queue_ms:
            track.mute()
            await asyncio.sleep(2)
            rows.append(await measure(f"{name}: muted", seconds))
        await room.local_participant.unpublish_track(publication.sid)
        await source.aclose()
        await asyncio.sleep(2)
    await room.disconnect()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    from tests.rooms.harness import token
    from tests.rooms.servers import LiveKitServer

    os.sched_setaffinity(0, {0})
    server = LiveKitServer()  # on core 0 (it inherits the affinity it starts with)
    try:
        os.sched_setaffinity(0, {CORE})
        rows = asyncio.run(run(server.url, token(server, "agent-track", "agent"), args.seconds))
    finally:
        server.stop()
    write_results(
        "agent_track",
        f"python -m bench.agent_track --seconds {args.seconds:g}",
        f"one process on core {CORE}, the LiveKit server on core 0; a 24 kHz mono track",
        rows,
    )


if __name__ == "__main__":
    main()
