"""A local AssemblyAI-compatible streaming speech-to-text server (``/v3/ws``) for tests.

The real AssemblyAI plugin connects to it over a WebSocket (``ASSEMBLYAI_BASE_URL`` is
``base_url``), so its URL building, audio framing, message parsing and reconnects run for
real. It speaks the part of the v3 protocol the plugin uses: it checks the raw key in
``Authorization`` (a wrong one gets an ``Error`` frame and the close code 1008, as
AssemblyAI answers it), sends ``Begin``, reads 16-bit PCM at the query's ``sample_rate``
in chunks of 50 to 1000 ms (others end the session with 3007, as AssemblyAI does), and
hears it with the realtime transcription stand-in's energy VAD (``fake_openai``). While a
stretch of speech goes on it sends partial ``Turn`` messages (``words`` growing, two at a
time); once it ends, a ``Turn`` with ``end_of_turn: true`` in unformatted words
(lowercase, no punctuation) and, when the query asks for ``format_turns``, the same turn
again with ``turn_is_formatted: true`` and the words as written. ``ForceEndpoint`` ends
the turn in progress; ``Terminate`` ends it too, then ``Termination`` and a normal close;
``UpdateConfiguration`` is kept. The words of each turn are the next line of
``transcripts``: this server cannot recognise speech, so the test says what was said.

A turn ends after the query's ``min_turn_silence`` of silence, but never inside a pause
shorter than ``TURN_PAUSE_S`` (AssemblyAI's model hears that a sentence goes on; this
server cannot, and espeak-ng pauses that long at a comma), and at the latest after
``max_turn_silence``.

Faults: ``drop_in_line=k`` cuts the TCP connection (no close frame, as a network drop)
once ``drop_after_s`` seconds of line ``k`` have been heard. The words already heard are
lost with that stream, so line ``k`` is transcribed as its second half only. With
``refuse_after_drop`` every later connection is refused with HTTP 503.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web

from .fake_openai import RATE as VAD_RATE
from .fake_openai import _Hearing
from .local_server import LocalServer

TURN_PAUSE_S = 0.3
"""The shortest silence that ends a turn here, whatever ``min_turn_silence`` says."""
MAX_TURN_SILENCE_MS = 1280
"""AssemblyAI's default ``max_turn_silence``."""
CHUNK_MS = (50, 1000)
"""The audio chunk durations AssemblyAI accepts."""


def _unformatted(word: str) -> str:
    """A word as AssemblyAI's unformatted turns spell it: lowercase, no punctuation."""
    return re.sub(r"[^\w']", "", word.lower())


class _Session:
    """One connection: its audio settings, the shared VAD, the turn in progress."""

    def __init__(self, query: dict[str, str], next_words: Callable[[], str]) -> None:
        self.rate = int(query.get("sample_rate", "16000"))
        self.format_turns = query.get("format_turns") == "true"
        self.hearing = _Hearing()
        self.next_words = next_words
        self.turn_order = 0
        self.opened = time.monotonic()
        self.silence_ms = {"min_turn_silence": 0.0, "max_turn_silence": MAX_TURN_SILENCE_MS}
        self.configure(query)

    def configure(self, options: dict[str, Any]) -> None:
        """``min_turn_silence`` / ``max_turn_silence`` (ms), from the query or an update."""
        for name in self.silence_ms:
            if options.get(name) not in (None, ""):
                self.silence_ms[name] = float(options[name])
        least, most = (v / 1000 for v in self.silence_ms.values())
        self.hearing.silence_s = min(max(least, TURN_PAUSE_S), most)

    @property
    def in_turn(self) -> bool:
        return self.hearing.item is not None

    def hear(self, pcm: bytes) -> list[dict[str, Any]]:
        """This chunk through the VAD (at its rate): partial or final ``Turn`` messages."""
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype=np.int16).astype(np.float64)
        n = round(len(samples) * VAD_RATE / self.rate)
        at_vad_rate = np.interp(np.arange(n) * self.rate / VAD_RATE, np.arange(len(samples)),
                                samples) if len(samples) else samples  # fmt: skip
        out: list[dict[str, Any]] = []
        for event in self.hearing.hear(at_vad_rate.astype("<i2").tobytes(), self.next_words):
            out.extend(self._turns(event))
        return out

    def end_turn(self) -> list[dict[str, Any]]:
        """The turn in progress, ended now (``ForceEndpoint``, ``Terminate``)."""
        out: list[dict[str, Any]] = []
        for event in self.hearing.finish():
            out.extend(self._turns(event))
        return out

    def _turns(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event["type"]
        h = self.hearing
        if kind == "conversation.item.input_audio_transcription.delta":
            return [self._turn(h.words[: 2 * h.deltas], end=False, formatted=False)]
        if kind != "conversation.item.input_audio_transcription.completed":
            return []
        words = str(event["transcript"]).split()
        out = [self._turn(words, end=True, formatted=False)]
        if self.format_turns:
            out.append(self._turn(words, end=True, formatted=True))
        self.turn_order += 1
        return out

    def _turn(self, words: list[str], *, end: bool, formatted: bool) -> dict[str, Any]:
        h = self.hearing
        spoken_until = h.position_s - (h.quiet_s if end else 0.0)
        step = max(0.0, spoken_until - h.started_s) / max(1, len(words))
        said = words if formatted else [_unformatted(w) for w in words]
        timed = [
            {
                "text": w,
                "start": int((h.started_s + i * step) * 1000),
                "end": int((h.started_s + (i + 1) * step) * 1000),
                "confidence": 0.95,
                "word_is_final": end or i < len(said) - 1,
            }
            for i, w in enumerate(said)
        ]
        return {
            "type": "Turn",
            "turn_order": self.turn_order,
            "turn_is_formatted": formatted,
            "end_of_turn": end,
            "transcript": " ".join(said),
            "end_of_turn_confidence": 0.9 if end else 0.1,
            "words": timed,
            "utterance": "",
        }


class FakeAssemblyAI:
    def __init__(
        self,
        transcripts: list[str] | None = None,
        *,
        key: str,
        drop_in_line: int | None = None,
        drop_after_s: float = 1.0,
        refuse_after_drop: bool = False,
    ) -> None:
        self.transcripts = list(transcripts or [])
        """What the candidate says, line by line."""
        self.key = key
        self.drop_in_line = drop_in_line
        self.drop_after_s = drop_after_s
        self.refuse_after_drop = refuse_after_drop
        self.next_line = 0
        self.cut_line: int | None = None
        self.keys_seen: list[str] = []
        """The ``Authorization`` of every connection (AssemblyAI takes the bare key)."""
        self.rejected_keys = 0
        self.queries: list[dict[str, str]] = []
        self.controls: list[dict[str, Any]] = []
        """Each text message received (``UpdateConfiguration``, ``ForceEndpoint``, ...)."""
        self.transcribed: list[str] = []
        """The words of each finished turn, as the script has them."""
        self.audio_s = 0.0
        self.connections = 0
        self.refused = 0
        self.drops = 0
        self.dropped_at: float | None = None
        self.terminated = 0
        self._server = LocalServer()
        self.base_url = ""

    async def __aenter__(self) -> FakeAssemblyAI:
        app = web.Application()
        app.router.add_get("/v3/ws", self._stream)
        await self._server.start(app)
        self.base_url = self._server.origin.replace("http://", "ws://", 1)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()

    # ------------------------------------------------------------ the protocol

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        self.keys_seen.append(auth)
        if self.refuse_after_drop and self.drops:
            self.refused += 1
            return web.json_response({"error": "Service Unavailable"}, status=503)
        query = dict(request.query)
        ws = self._server.track(web.WebSocketResponse())
        await ws.prepare(request)
        if auth != self.key:
            self.rejected_keys += 1
            return await self._fail(ws, 1008, "Unauthorized Connection: Invalid API key")
        self.queries.append(query)
        self.connections += 1
        if query.get("encoding", "pcm_s16le") != "pcm_s16le":
            return await self._fail(ws, 3006, "Invalid Message: only pcm_s16le is spoken here")
        session = _Session(query, self._words)
        await ws.send_str(json.dumps({
            "type": "Begin", "id": str(uuid.uuid4()), "expires_at": int(time.time()) + 3 * 3600,
        }))  # fmt: skip
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                ms = len(msg.data) / 2 / session.rate * 1000
                if not CHUNK_MS[0] - 0.01 <= ms <= CHUNK_MS[1]:
                    return await self._fail(
                        ws, 3007, f"Input duration violation: {ms:.0f} ms. Expected between "
                        f"{CHUNK_MS[0]} and {CHUNK_MS[1]} ms",
                    )  # fmt: skip
                self.audio_s += ms / 1000
                for out in session.hear(msg.data):
                    await self._send(ws, out)
                if self._should_drop(session):
                    self.drops += 1
                    self.dropped_at = time.time()
                    self.cut_line = self.next_line
                    assert request.transport is not None
                    request.transport.abort()  # no close frame: the network went away
                    return ws
            elif msg.type == WSMsgType.TEXT:
                control = json.loads(msg.data)
                self.controls.append(control)
                kind = control.get("type")
                if kind == "UpdateConfiguration":
                    session.configure(control)
                elif kind == "ForceEndpoint" and session.in_turn:
                    for out in session.end_turn():
                        await self._send(ws, out)
                elif kind == "Terminate":
                    self.terminated += 1
                    for out in session.end_turn() if session.in_turn else []:
                        await self._send(ws, out)
                    await ws.send_str(json.dumps({
                        "type": "Termination",
                        "audio_duration_seconds": round(session.hearing.position_s),
                        "session_duration_seconds": round(time.monotonic() - session.opened),
                    }))  # fmt: skip
                    await ws.close()
        return ws

    async def _send(self, ws: web.WebSocketResponse, turn: dict[str, Any]) -> None:
        if turn["end_of_turn"] and not turn["turn_is_formatted"]:
            self._line_done()
        await ws.send_str(json.dumps(turn))

    async def _fail(self, ws: web.WebSocketResponse, code: int, why: str) -> web.WebSocketResponse:
        """An ``Error`` frame, then the close with the same code (AssemblyAI's errors)."""
        await ws.send_str(json.dumps({"type": "Error", "error_code": code, "error": why}))
        await ws.close(code=code, message=why.encode()[:123])
        return ws

    def _words(self) -> str:
        """The line the next stretch of speech says (its second half after a drop)."""
        line = self.transcripts[self.next_line] if self.next_line < len(self.transcripts) else "mm"
        words = line.split()
        return " ".join(words[len(words) // 2 :] if self.cut_line == self.next_line else words)

    def _line_done(self) -> None:
        self.transcribed.append(self._words())
        self.next_line += 1

    def _should_drop(self, session: _Session) -> bool:
        return (
            self.drop_in_line == self.next_line
            and not self.drops
            and session.in_turn
            and session.hearing.speech_s >= self.drop_after_s
        )
