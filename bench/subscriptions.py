"""What a candidate's camera costs the process that interviews them, subscribed to or not.

    .venv/bin/python -m bench.subscriptions [--seconds 20] [--runs 2]

A LiveKit server (dev mode, loopback) and a candidate on core 0 that publishes a camera
(1280x720, 30 frames a second, simulcast, as a browser does) and a microphone. On core 1,
in a process of its own, a participant joins as the worker did before (LiveKit's default:
every track subscribed) and as it does now (nothing subscribed but the microphone:
``agent.audio.hear_microphones``), alternately. Prints that process's CPU per thread
(WebRTC's and LiveKit's names) after 5 s of settling. Nothing is decoded for the camera
by anyone's request: whatever the subscriber spends on it is the cost. No timing is
asserted. Writes ``bench/results/subscriptions.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import time
from typing import Any

import numpy as np
from livekit import rtc

from bench.agent_track import thread_seconds
from bench.capacity_rooms import write_results

WIDTH, HEIGHT, FPS = 1280, 720, 30


async def candidate(url: str, jwt: str, stop: asyncio.Event) -> None:
    room = rtc.Room()
    await room.connect(url, jwt)
    local = room.local_participant
    video = rtc.VideoSource(WIDTH, HEIGHT)
    await local.publish_track(
        rtc.LocalVideoTrack.create_video_track("camera", video),
        rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA, simulcast=True),
    )
    await local.publish_track(
        rtc.LocalAudioTrack.create_audio_track("microphone", rtc.AudioSource(48000, 1)),
        rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE),
    )
    picture = np.random.default_rng(0).integers(0, 255, (HEIGHT, WIDTH, 4), dtype=np.uint8)
    i = 0
    while not stop.is_set():  # a moving picture, so that every frame carries news
        frame = np.roll(picture, i * 7, axis=1)
        video.capture_frame(
            rtc.VideoFrame(WIDTH, HEIGHT, rtc.VideoBufferType.RGBA, frame.tobytes())
        )
        i += 1
        await asyncio.sleep(1 / FPS)
    await room.disconnect()


def interviewer(url: str, jwt: str, everything: bool, seconds: float, out: Any) -> None:
    """One process on core 1: joined subscribed to everything, or to the microphone."""
    os.sched_setaffinity(0, {1})

    async def main() -> None:
        from agent.audio import hear_microphones

        room = rtc.Room()
        await room.connect(url, jwt, rtc.RoomOptions(auto_subscribe=everything))
        if not everything:
            hear_microphones(room)
        await asyncio.sleep(5)
        before, t0 = thread_seconds(), time.monotonic()
        await asyncio.sleep(seconds)
        after, wall = thread_seconds(), time.monotonic() - t0
        threads = {k: round((after[k] - before.get(k, 0.0)) / wall, 4) for k in after}
        threads = {k: v for k, v in sorted(threads.items(), key=lambda kv: -kv[1]) if v >= 0.001}
        subscribed = sorted(
            rtc.TrackSource.Name(p.source)
            for r in room.remote_participants.values()
            for p in r.track_publications.values()
            if p.subscribed
        )
        out.put({"cores": round(sum(threads.values()), 4), "threads": threads,
                 "subscribed": subscribed})  # fmt: skip
        await room.disconnect()

    asyncio.run(main())


async def run(seconds: float, runs: int) -> list[dict[str, Any]]:
    from tests.rooms.harness import token
    from tests.rooms.servers import LiveKitServer

    os.sched_setaffinity(0, {0})
    server = LiveKitServer()
    spawn = mp.get_context("spawn")
    rows: list[dict[str, Any]] = []
    try:
        stop = asyncio.Event()
        publishing = asyncio.create_task(candidate(server.url, token(server, "cam", "ada"), stop))
        await asyncio.sleep(3)
        for i in range(runs * 2):
            everything = i % 2 == 0
            out = spawn.Queue()
            jwt = token(server, "cam", f"interviewer-{i}")
            proc = spawn.Process(
                target=interviewer, args=(server.url, jwt, everything, seconds, out)
            )
            proc.start()
            row = await asyncio.get_running_loop().run_in_executor(None, out.get)
            proc.join()
            row = {"subscribed to": "everything" if everything else "the microphone", **row}
            print(row, flush=True)
            rows.append(row)
        stop.set()
        await publishing
    finally:
        server.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    rows = asyncio.run(run(args.seconds, args.runs))
    write_results(
        "subscriptions",
        f"python -m bench.subscriptions --seconds {args.seconds:g} --runs {args.runs}",
        f"a candidate publishing a {WIDTH}x{HEIGHT} {FPS} fps simulcast camera and a "
        "microphone (core 0, with the LiveKit server); the interviewer's process on core 1",
        rows,
    )


if __name__ == "__main__":
    main()
