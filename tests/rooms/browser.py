"""The candidate's page in a real browser: ``python -m agent playground`` as users start it,
and headless Debian Chromium driven by Playwright.

The candidate's microphone is espeak-ng speech played, when the test says, into a
``getUserMedia`` replacement this module injects into the page before it loads (an
``AudioContext`` whose destination stream is the microphone): the page itself ships no
such thing. Playwright's own browser download is never used: Debian's Chromium is.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .harness import RATE, ROOM_TESTS
from .servers import LiveKitServer, free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_TESTS = [
    *ROOM_TESTS,
    pytest.mark.browser,
    # in CI a missing Chromium is a failure (scripts/test-services installs it)
    pytest.mark.skipif(
        CHROMIUM is None and os.environ.get("CI") != "true",
        reason="needs Debian's chromium (scripts/test-services installs it)",
    ),
]
CHROMIUM_ARGS = ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]

MICROPHONE = """
(() => {
  const ctx = new AudioContext({ sampleRate: 48000 });
  const dest = ctx.createMediaStreamDestination();
  const hum = ctx.createConstantSource();  // keeps the track running between answers
  hum.offset.value = 0;
  hum.connect(dest);
  hum.start();
  window.__say = async (b64) => {
    if (ctx.state !== "running") await ctx.resume();
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const buffer = await ctx.decodeAudioData(bytes.buffer);
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(dest);
    return await new Promise((done) => {
      source.onended = () => done(buffer.duration);
      source.start();
    });
  };
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    if (constraints && constraints.video) throw new DOMException("no camera", "NotFoundError");
    if (ctx.state !== "running") await ctx.resume();
    return new MediaStream([dest.stream.getAudioTracks()[0].clone()]);
  };
  navigator.mediaDevices.enumerateDevices = async () => [
    { deviceId: "default", groupId: "test", kind: "audioinput", label: "test microphone",
      toJSON() { return this; } },
  ];
})();
"""
"""The test's microphone: silent until ``window.__say(base64 WAV)``."""

NO_MICROPHONE = """
navigator.mediaDevices.getUserMedia = async () => {
  throw new DOMException("Permission denied", "NotAllowedError");
};
"""
"""A candidate who refuses the microphone (the browser's own refusal, as the page sees it)."""

LAYOUT_CHECK = """
() => {
  const found = [];
  const vw = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > vw + 1)
    found.push("page wider than the screen: " + document.documentElement.scrollWidth);
  for (const el of document.querySelectorAll("button, input, select, textarea, label, h1, h2, p")) {
    if (el.closest("[hidden]") || el.closest("dialog:not([open])")) continue;
    const box = el.getBoundingClientRect();
    if (!box.width) continue;
    if (box.left < -1 || box.right > vw + 1)
      found.push("off screen: " + el.tagName + "#" + el.id + " " + (el.textContent || "").trim().slice(0, 40));
  }
  return found;
}
"""


def wav_base64(samples: np.ndarray, rate: int = RATE) -> str:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype(np.int16).tobytes())
    return base64.b64encode(out.getvalue()).decode()


class PlaygroundProcess:
    """``python -m agent playground`` against the test's LiveKit server; it starts its own
    worker, as it does for users. Its logs are under ``cwd/data/playground/``."""

    def __init__(
        self,
        server: LiveKitServer,
        cwd: Path,
        env: dict[str, str],
        args: list[str] | None = None,
    ) -> None:
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(
                ("OPENAI", "DEEPGRAM", "SUPABASE", "LIVEKIT", "BYOK", "INTERVIEW", "PLAYGROUND")
            )
        }
        base.update(
            LIVEKIT_URL=server.url,
            LIVEKIT_API_KEY=server.api_key,
            LIVEKIT_API_SECRET=server.api_secret,
            AGENT_NAME=f"page-{os.urandom(3).hex()}",
        )
        base.update(env)
        self.cwd = cwd
        self.port = free_port()
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "playground", "--port", str(self.port), *(args or [])],
            cwd=cwd, env=base, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + 90
        while not (found := [line for line in self.lines if line.startswith("Open http")]):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("the playground did not start:\n" + self.output())
            time.sleep(0.1)
        self.url = found[0].split(" ", 1)[1]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines[-40:]) + "\n" + self.worker_tail()

    def worker_records(self) -> list[dict[str, Any]]:
        path = self.cwd / "data" / "playground" / "worker.log"
        out = []
        for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict):
                    out.append(record)
        return out

    def worker_tail(self, n: int = 30) -> str:
        return "\n".join(str(r.get("message", ""))[:300] for r in self.worker_records()[-n:])

    def job_pid(self, room: str) -> int | None:
        worker = None
        for r in self.worker_records():
            if r.get("message") == "starting worker":
                worker = r.get("pid")
            if r.get("room") == room and r.get("pid") and r.get("pid") != worker:
                return int(r["pid"])
        return None

    def stop(self, limit_s: float = 120.0) -> int:
        """Ctrl-C, as a user stops it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(limit_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


async def launch(playwright: Any) -> Any:
    """Debian's Chromium, headless (Playwright's own browser download is never used)."""
    return await playwright.chromium.launch(
        executable_path=CHROMIUM or "chromium", headless=True, args=CHROMIUM_ARGS
    )


async def new_page(browser: Any, *, microphone: bool = True, width: int = 1280) -> Any:
    context = await browser.new_context(viewport={"width": width, "height": 900})
    await context.add_init_script(MICROPHONE if microphone else NO_MICROPHONE)
    page = await context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return page


async def layout_problems(page: Any, width: int, shots: Path | None = None) -> list[str]:
    """What does not fit at ``width``: from the laid-out page (an element off screen) and
    from a full-page screenshot (wider than the screen means a horizontal scroll). The
    screenshot is kept in ``shots`` to look at."""
    await page.set_viewport_size({"width": width, "height": 900})
    await page.wait_for_timeout(100)
    found: list[str] = await page.evaluate(LAYOUT_CHECK)
    path = shots / f"page-{width}-{int(time.time() * 1000)}.png" if shots else None
    png = await page.screenshot(full_page=True, path=path)
    shot_width = int.from_bytes(png[16:20], "big")  # the PNG header's width
    if shot_width != width:
        found.append(f"screenshot {shot_width} px wide at a {width} px screen")
    return found


async def wait_for(page: Any, script: str, arg: Any = None, limit_s: float = 30) -> Any:
    """Poll ``script`` (a JavaScript function of ``arg``) until it is truthy. Polled from
    here: the page's Content-Security-Policy forbids the ``eval`` that Playwright's own
    ``wait_for_function`` needs, and the policy is under test too."""
    deadline = time.monotonic() + limit_s
    while not (value := await page.evaluate(script, arg)):
        if time.monotonic() > deadline:
            raise AssertionError(f"never true: {script}")
        await asyncio.sleep(0.1)
    return value


async def stored_session(page: Any) -> dict[str, Any]:
    """What the page keeps to come back to its interview (room, ticket, interview id)."""
    return json.loads(await page.evaluate("sessionStorage.getItem('interview')") or "{}")
