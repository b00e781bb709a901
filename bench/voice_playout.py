"""How soon the candidate's browser plays the interviewer's voice after a silence, and how
cleanly: LiveKit's room output against one that sends nothing while the interviewer is
silent (bench/direct_output.py), plain and with its track muted between replies.

    .venv/bin/python -m bench.voice_playout [--rounds 2]

A LiveKit server (dev mode, loopback) and headless Debian Chromium on a page that joins
the room with ``livekit-client`` (the candidate page's own copy) and listens to the
interviewer's track through an ``AudioWorklet``. A Python participant speaks through each
output in turn as the session does (50 ms frames, faster than real time, then ``flush``):
eight replies of 2 s of tone, after silences of 1, 3, 6 and 10 s, twice.

Per reply: the delay from the first frame given to the output to the first sound in the
browser (both on this machine's wall clock), and from the browser's WebRTC statistics
for the reply: the jitter buffer's mean delay and target, and the audio it concealed
(not counting concealed silence), stretched or squeezed. LiveKit's output sends silence
between replies; the direct one sends nothing, so its stream's timestamps stop while the
interviewer is silent: this is what that costs the candidate. No timing is asserted.
Writes ``bench/results/voice_playout.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import shutil
import statistics
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents.voice.room_io._output import _ParticipantAudioOutput
from playwright.async_api import async_playwright

from bench.capacity_rooms import write_results
from bench.direct_output import VOICE_SAMPLE_RATE, DirectRoomOutput
from tests.rooms.browser import launch
from tests.rooms.harness import token
from tests.rooms.servers import LiveKitServer

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "web" / "node_modules" / "livekit-client" / "dist" / "livekit-client.esm.mjs"
SILENCES_S = (1.0, 3.0, 6.0, 10.0)
REPLY_S = 2.0
MEASURES = ("jitter_buffer_ms", "target_ms", "concealed_ms", "stretched_ms", "squeezed_ms")

PAGE = """<!doctype html><meta charset="utf-8"><body><script type="module">
import { Room, RoomEvent } from "/livekit-client.esm.mjs";
const onset = `class Onset extends AudioWorkletProcessor {
  constructor() { super(); this.on = false; this.quiet = 0; }
  process(inputs) {
    const x = inputs[0][0];
    if (!x) return true;
    let peak = 0;
    for (const v of x) peak = Math.max(peak, Math.abs(v));
    if (!this.on && peak > 0.05) {
      this.on = true;
      this.quiet = 0;
      this.port.postMessage(currentTime);
    } else if (this.on) {
      this.quiet = peak < 0.01 ? this.quiet + x.length : 0;
      if (this.quiet > sampleRate * 0.5) this.on = false;
    }
    return true;
  }
}
registerProcessor("onset", Onset);`;
const ctx = new AudioContext({ sampleRate: 48000 });
const module = new Blob([onset], { type: "text/javascript" });
await ctx.audioWorklet.addModule(URL.createObjectURL(module));
const tracks = {};
const connections = [];
const Native = window.RTCPeerConnection;
window.RTCPeerConnection = function (...args) {
  const pc = new Native(...args);
  connections.push(pc);
  return pc;
};
window.RTCPeerConnection.prototype = Native.prototype;
Object.assign(window.RTCPeerConnection, Native);
window.__onsets = {};
window.__stats = async (who) => {
  const id = tracks[who].mediaStreamTrack.id;
  const found = [];
  for (const pc of connections) {
    for (const s of (await pc.getStats()).values()) {
      if (s.type === "inbound-rtp" && s.trackIdentifier === id) return s;
      found.push(s.type);
    }
  }
  return { types: found };
};
window.__join = async (url, token) => {
  const room = new Room({ adaptiveStream: false, dynacast: false });
  room.on(RoomEvent.TrackSubscribed, (track, pub, participant) => {
    if (track.kind !== "audio") return;
    const who = participant.identity;
    tracks[who] = track;
    window.__onsets[who] = [];
    document.body.appendChild(track.attach());
    const source = ctx.createMediaStreamSource(new MediaStream([track.mediaStreamTrack]));
    const node = new AudioWorkletNode(ctx, "onset");
    node.port.onmessage = (e) => {
      const now = performance.timeOrigin + performance.now();
      window.__onsets[who].push(now - (ctx.currentTime - e.data) * 1000);
    };
    const mute = ctx.createGain();
    mute.gain.value = 0;
    source.connect(node).connect(mute).connect(ctx.destination);
  });
  await room.connect(url, token);
  await ctx.resume();
};
window.__ready = true;
</script>"""


def reply_frames() -> list[rtc.AudioFrame]:
    """2 s of a 220 Hz tone in LiveKit's 50 ms output frames, sharp at its start."""
    n = int(REPLY_S * VOICE_SAMPLE_RATE)
    tone = (np.sin(np.arange(n) * 2 * np.pi * 220 / VOICE_SAMPLE_RATE) * 12000).astype(np.int16)
    step = VOICE_SAMPLE_RATE // 20
    return [
        rtc.AudioFrame(tone[i : i + step].tobytes(), VOICE_SAMPLE_RATE, 1, step)
        for i in range(0, n, step)
    ]


KINDS = ("livekit", "direct", "direct-muted")
"""LiveKit's room output; the direct source sending nothing while silent; the same with
the track muted between replies."""


def output_for(kind: str, room: rtc.Room) -> _ParticipantAudioOutput:
    if kind != "livekit":
        return DirectRoomOutput(room, mute_while_silent=kind == "direct-muted")
    return _ParticipantAudioOutput(
        room,
        sample_rate=VOICE_SAMPLE_RATE,
        num_channels=1,
        track_publish_options=rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE),
    )


async def stats(page: Any, who: str) -> dict[str, float]:
    s = await page.evaluate("who => window.__stats(who)", who)
    if "types" in s:  # nothing received yet
        s = {}
    keys = ("jitterBufferDelay", "jitterBufferTargetDelay", "jitterBufferEmittedCount",
            "concealedSamples", "silentConcealedSamples", "totalSamplesReceived",
            "insertedSamplesForDeceleration", "removedSamplesForAcceleration")  # fmt: skip
    return {k: float(s.get(k, 0.0)) for k in keys}


def over(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    d = {k: after[k] - before[k] for k in after}
    emitted = max(d["jitterBufferEmittedCount"], 1.0)
    per_ms = 48  # the decoder's samples (48 kHz) in a millisecond
    return {
        "jitter_buffer_ms": round(d["jitterBufferDelay"] / emitted * 1000, 1),
        "target_ms": round(d["jitterBufferTargetDelay"] / emitted * 1000, 1),
        "concealed_ms": round((d["concealedSamples"] - d["silentConcealedSamples"]) / per_ms, 1),
        "stretched_ms": round(d["insertedSamplesForDeceleration"] / per_ms, 1),
        "squeezed_ms": round(d["removedSamplesForAcceleration"] / per_ms, 1),
    }


async def speak_through(
    kind: str, url: str, server: LiveKitServer, page: Any, frames: list[rtc.AudioFrame]
) -> list[dict[str, Any]]:
    who = f"interviewer-{kind}"
    room = rtc.Room()
    await room.connect(url, token(server, "playout", who))
    out = output_for(kind, room)
    await out.start()  # published, and subscribed by the page
    await asyncio.sleep(2.0)
    rows = []
    for silence in SILENCES_S * 2:
        await asyncio.sleep(silence)
        before = await stats(page, who)
        heard = len(await page.evaluate("who => window.__onsets[who]", who))
        started = time.time() * 1000
        for frame in frames:
            await out.capture_frame(frame)
        out.flush()
        await out.wait_for_playout()
        await asyncio.sleep(0.3)
        onsets = await page.evaluate("who => window.__onsets[who]", who)
        first = onsets[heard] - started if len(onsets) > heard else None
        row = {"after_silence_s": silence, "first_sound_ms": first and round(first, 1)}
        row |= over(before, await stats(page, who))
        print(kind, row, flush=True)
        rows.append(row)
    await out.aclose()
    await room.disconnect()
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    heard = [r["first_sound_ms"] for r in rows if r["first_sound_ms"] is not None]
    return {
        "replies": len(rows),
        "heard": len(heard),
        "first_sound_ms_median": round(statistics.median(heard), 1) if heard else None,
        "first_sound_ms_max": round(max(heard), 1) if heard else None,
        **{f"{k}_mean": round(statistics.mean(r[k] for r in rows), 1) for k in MEASURES},
    }


def serve_page(folder: Path) -> ThreadingHTTPServer:
    """The page and its copy of livekit-client on a loopback port (a page the browser
    loaded from elsewhere may not reach the loopback LiveKit server)."""
    (folder / "index.html").write_text(PAGE)
    shutil.copy(CLIENT, folder / CLIENT.name)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


async def run(server: LiveKitServer, origin: str, rounds: int) -> dict[str, Any]:
    frames = reply_frames()
    results: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    async with async_playwright() as p:
        browser = await launch(p)
        page = await browser.new_page()
        await page.goto(origin)
        await page.wait_for_function("window.__ready === true")
        await page.evaluate(
            "([u, t]) => window.__join(u, t)", [server.url, token(server, "playout", "candidate")]
        )
        for _ in range(rounds):
            for kind in KINDS:
                results[kind] += await speak_through(kind, server.url, server, page, frames)
        await browser.close()
    return {kind: {"summary": summary(rows), "replies": rows} for kind, rows in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    server = LiveKitServer()
    with tempfile.TemporaryDirectory() as folder:
        httpd = serve_page(Path(folder))
        try:
            origin = f"http://127.0.0.1:{httpd.server_address[1]}/"
            result = asyncio.run(run(server, origin, args.rounds))
        finally:
            httpd.shutdown()
            server.stop()
    for kind, r in result.items():
        print(kind, r["summary"])
    write_results(
        "voice_playout",
        f"python -m bench.voice_playout --rounds {args.rounds}",
        "LiveKit server (dev, loopback); headless Chromium with livekit-client; a Python "
        "participant speaking 2 s replies through each output after 1-10 s silences",
        [result],
    )


if __name__ == "__main__":
    main()
