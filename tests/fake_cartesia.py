"""A local Cartesia-compatible voice server for tests: the text-to-speech WebSocket
(``/tts/websocket``) LiveKit's Cartesia plugin streams through, and the HTTP
``/tts/bytes`` it uses to synthesize a whole text.

The real plugin connects to it, so its URL, its pooled socket, its contexts and
continuations, its timestamp alignment and its audio handling run for real. The key is
``X-API-Key`` or ``Authorization: Bearer`` (or the ``api_key`` query of browsers); the
API version is the ``cartesia_version`` query, which wins over the ``Cartesia-Version``
header. Each request names its ``context_id`` and carries a ``transcript``, with
``continue: true`` while more of the same context follows; each transcript that is not
blank is answered with ``speech_seconds`` of audio (a quiet tone) in the requested
``output_format`` (raw ``pcm_s16le`` or ``pcm_f32le`` at its ``sample_rate``), as
``chunk`` messages of base64 data, with the words' ``timestamps`` (seconds from the start
of the context) when ``add_timestamps`` asks; ``continue: false`` ends the context with
``done``. ``spoken`` keeps the text of each context voiced, ``keys`` each key received.

Errors: a wrong key or no API version is refused at the handshake (401, 400: Cartesia's
JSON error body). With ``fail = "error"`` each request to voice text is answered with an
``error`` message for its context (the socket stays open, as Cartesia's does); with
``fail = "refuse"`` every handshake is answered 503 and open sockets are closed (1011)
at their next message.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from aiohttp import WSMsgType, web

from .local_server import LocalServer

CHUNKS = 4
"""``chunk`` messages each transcript's audio is sent in."""


@dataclass
class _Context:
    said: list[str] = field(default_factory=list)
    position_s: float = 0.0


def audio(output_format: dict[str, Any], seconds: float) -> bytes:
    """``seconds`` of a quiet 220 Hz tone in a Cartesia raw ``output_format``."""
    rate = int(output_format.get("sample_rate", 24000))
    n = int(rate * seconds)
    wave = np.sin(np.arange(n) * (2 * np.pi * 220 / rate)) * (1000 / 32768)
    encoding = output_format.get("encoding", "pcm_s16le")
    if output_format.get("container", "raw") != "raw":
        raise ValueError("only raw audio is spoken here")
    if encoding == "pcm_s16le":
        return (wave * 32768).astype("<i2").tobytes()
    if encoding == "pcm_f32le":
        return wave.astype("<f4").tobytes()
    raise ValueError(f"encoding {encoding!r} is not spoken here")


class FakeCartesia:
    def __init__(self, *, key: str) -> None:
        self.key = key
        self.keys: list[str] = []
        """Each key received (header or query), right or wrong."""
        self.versions: list[str] = []
        """The API version of each connection or request."""
        self.rejected_keys = 0
        self.connections = 0
        self.refused = 0
        self.errors = 0
        self.requests: list[dict[str, Any]] = []
        """The first request of each context (model, voice, output format, language)."""
        self.spoken: list[str] = []
        """The text of each context voiced, in order."""
        self.chunked: list[str] = []
        """Texts synthesized whole over HTTP."""
        self.speech_seconds = 0.4
        self.fail: Literal["error", "refuse"] | None = None
        self._server = LocalServer()
        self.base_url = ""

    async def __aenter__(self) -> FakeCartesia:
        app = web.Application()
        app.router.add_get("/tts/websocket", self._websocket)
        app.router.add_post("/tts/bytes", self._bytes)
        await self._server.start(app)
        self.base_url = self._server.origin
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()

    @property
    def open_sockets(self) -> int:
        """WebSockets the client has not closed yet."""
        return sum(not ws.closed for ws in self._server.sockets)

    # ------------------------------------------------------------ the protocol

    def _refusal(self, request: web.Request, *, websocket: bool) -> web.Response | None:
        """The handshake's (or request's) refusal, or None when it may go on."""
        auth = request.headers.get("Authorization", "")
        key = request.headers.get("X-API-Key") or (
            auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        )
        if key is None and websocket:
            key = request.query.get("api_key")
        if key is not None:
            self.keys.append(key)
        if key != self.key:
            self.rejected_keys += 1
            return web.json_response({"error": "Invalid API key"}, status=401)
        version = (request.query.get("cartesia_version") if websocket else None) or (
            request.headers.get("Cartesia-Version")
        )
        if not version:
            return web.json_response({"error": "Cartesia-Version is required"}, status=400)
        self.versions.append(version)
        if self.fail == "refuse":
            self.refused += 1
            return web.json_response({"error": "Service unavailable"}, status=503)
        return None

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        refusal = self._refusal(request, websocket=True)
        if refusal is not None:
            return refusal
        ws = self._server.track(web.WebSocketResponse())
        await ws.prepare(request)
        self.connections += 1
        contexts: dict[str, _Context] = {}
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            if self.fail == "refuse":
                await ws.close(code=1011, message=b"service unavailable")
                break
            req = json.loads(msg.data)
            cid = str(req.get("context_id") or "")
            if req.get("cancel"):
                contexts.pop(cid, None)
                continue
            if cid not in contexts:
                contexts[cid] = _Context()
                self.requests.append({k: v for k, v in req.items() if k != "transcript"})
            ctx = contexts[cid]
            transcript = str(req.get("transcript") or "")
            if transcript.strip():
                if self.fail == "error":
                    self.errors += 1
                    contexts.pop(cid, None)
                    await ws.send_str(json.dumps({
                        "type": "error", "context_id": cid, "status_code": 500, "done": True,
                        "error": "Internal server error",
                    }))  # fmt: skip
                    continue
                await self._voice(ws, cid, ctx, req, transcript)
            if not req.get("continue", False):
                contexts.pop(cid, None)
                if "".join(ctx.said).strip():
                    self.spoken.append("".join(ctx.said).strip())
                await ws.send_str(json.dumps({
                    "type": "done", "context_id": cid, "status_code": 206, "done": True,
                }))  # fmt: skip
        return ws

    async def _voice(
        self, ws: web.WebSocketResponse, cid: str, ctx: _Context, req: dict[str, Any],
        transcript: str,
    ) -> None:  # fmt: skip
        ctx.said.append(transcript)
        data = audio(req.get("output_format") or {}, self.speech_seconds)
        step = -(-len(data) // CHUNKS)
        step -= step % 4  # whole samples in every chunk
        for i in range(0, len(data), step):
            await ws.send_str(json.dumps({
                "type": "chunk", "context_id": cid, "status_code": 206, "done": False,
                "data": base64.b64encode(data[i : i + step]).decode(), "step_time": 20.0,
            }))  # fmt: skip
        if req.get("add_timestamps"):
            words = transcript.split()
            each = self.speech_seconds / len(words)
            start = ctx.position_s
            await ws.send_str(json.dumps({
                "type": "timestamps", "context_id": cid, "status_code": 206, "done": False,
                "word_timestamps": {
                    "words": words,
                    "start": [round(start + i * each, 3) for i in range(len(words))],
                    "end": [round(start + (i + 1) * each, 3) for i in range(len(words))],
                },
            }))  # fmt: skip
        ctx.position_s += self.speech_seconds

    async def _bytes(self, request: web.Request) -> web.StreamResponse:
        """Text to speech of a whole text (``POST /tts/bytes``)."""
        refusal = self._refusal(request, websocket=False)
        if refusal is not None:
            return refusal
        if self.fail == "error":
            self.errors += 1
            return web.json_response({"error": "Internal server error"}, status=500)
        req = await request.json()
        self.requests.append({k: v for k, v in req.items() if k != "transcript"})
        self.chunked.append(str(req.get("transcript") or "").strip())
        body = audio(req.get("output_format") or {}, self.speech_seconds)
        return web.Response(body=body, content_type="audio/pcm")
