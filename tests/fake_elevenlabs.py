"""A local ElevenLabs-compatible voice server for tests: the multi-context text-to-speech
WebSocket (``/v1/text-to-speech/{voice_id}/multi-stream-input``), the one LiveKit's
ElevenLabs plugin streams through, and the HTTP ``.../stream`` it uses to synthesize a
whole text.

The real plugin connects to it, so its URL and query building, its contexts, its
sentence flushes, its alignment parsing and its audio decoding run for real. The key is
the ``xi-api-key`` header, or ``xi_api_key`` in the socket's first message when no header
came (the API's other form); it is checked when that first message arrives, as over a
real network the service's refusal reaches the plugin after its first context is under
way. A context opens with ``{"text": " ", "context_id": ...}``; its text is gathered
until a ``flush`` (or ``close_context``), and each flushed text is answered with
``speech_seconds`` of audio (a quiet tone) in the ``output_format`` the query asks
(``pcm_<rate>`` raw 16-bit, ``mp3_<rate>_<kbps>`` encoded), base64, in a few messages
carrying the characters' ``alignment`` and ``normalizedAlignment`` (times counted from
the start of the context, as the plugin reads them). ``close_context`` ends it with
``isFinal``. ``spoken`` keeps the text of each context voiced, ``keys`` each key received.

Errors as ElevenLabs sends them: a JSON message ``{"message", "error", "code"}``, then the
socket closed with 1008 (policy violation): for a wrong key, for a sixth context open at
once on one socket, for ``voice_settings`` that change from the socket's first message,
and, with ``fail = "error"``, for any text to voice (the service failing). With
``fail = "refuse"`` every handshake is answered 503 and open sockets are closed (1011) at
their next message.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import av
import numpy as np
from aiohttp import WSMsgType, web

from .local_server import LocalServer

MAX_CONTEXTS = 5
"""Contexts one socket may have open at once (the service closes the socket past it)."""
CHUNKS = 4
"""Messages each flushed text's audio is sent in."""
SOMETHING_WENT_WRONG = "We are sorry, something went wrong. You are not charged for this request."
VOICE_SETTINGS_CHANGED = (
    "voice_settings field must be provided in the first message and then either be not "
    "provided or not change."
)


@dataclass
class _Context:
    buffer: str = ""
    said: list[str] = field(default_factory=list)
    offset_ms: float = 0.0


def tone(rate: int, seconds: float) -> np.ndarray:
    """A quiet 220 Hz tone, 16-bit mono."""
    n = int(rate * seconds)
    return (np.sin(np.arange(n) * (2 * np.pi * 220 / rate)) * 1000).astype("<i2")


def mp3(samples: np.ndarray, rate: int, kbps: int) -> bytes:
    """16-bit mono ``samples`` as an MP3 stream (LAME, constant bitrate)."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate)
        stream.bit_rate = kbps * 1000
        stream.layout = "mono"  # type: ignore[union-attr]
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16p", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):  # type: ignore[union-attr]
            container.mux(packet)
        for packet in stream.encode(None):  # type: ignore[union-attr]
            container.mux(packet)
    return out.getvalue()


def encoded(output_format: str, seconds: float) -> bytes:
    """``seconds`` of the tone in an ElevenLabs ``output_format`` (``pcm_*``, ``mp3_*``)."""
    parts = output_format.split("_")
    rate = int(parts[1])
    if parts[0] == "pcm":
        return tone(rate, seconds).tobytes()
    if parts[0] == "mp3":
        return mp3(tone(rate, seconds), rate, int(parts[2]) if len(parts) > 2 else 128)
    raise ValueError(f"output format {output_format!r} is not spoken here")


class FakeElevenLabs:
    def __init__(self, *, key: str) -> None:
        self.key = key
        self.keys: list[str] = []
        """Each key received (header or first message), right or wrong."""
        self.rejected_keys = 0
        self.connections = 0
        self.refused = 0
        self.errors = 0
        """Error messages sent (wrong key, too many contexts, the service failing)."""
        self.queries: list[dict[str, str]] = []
        self.voices: list[str] = []
        """The voice of each connection (its path)."""
        self.context_messages: list[dict[str, Any]] = []
        """The first message of each context (its settings)."""
        self.spoken: list[str] = []
        """The text of each context voiced, in order."""
        self.chunked: list[str] = []
        """Texts synthesized whole over HTTP."""
        self.speech_seconds = 0.4
        self.fail: Literal["error", "refuse"] | None = None
        self._server = LocalServer()
        self.base_url = ""

    async def __aenter__(self) -> FakeElevenLabs:
        app = web.Application()
        app.router.add_get("/v1/text-to-speech/{voice}/multi-stream-input", self._multi)
        app.router.add_post("/v1/text-to-speech/{voice}/stream", self._stream)
        await self._server.start(app)
        self.base_url = f"{self._server.origin}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()

    @property
    def open_sockets(self) -> int:
        """WebSockets the client has not closed yet."""
        return sum(not ws.closed for ws in self._server.sockets)

    # ------------------------------------------------------------ the protocol

    async def _multi(self, request: web.Request) -> web.StreamResponse:
        if self.fail == "refuse":
            self.refused += 1
            return web.json_response({"detail": {"status": "service_unavailable"}}, status=503)
        query = dict(request.query)
        self.queries.append(query)
        self.voices.append(request.match_info["voice"])
        output_format = query.get("output_format", "mp3_44100_128")
        ws = self._server.track(web.WebSocketResponse())
        await ws.prepare(request)
        self.connections += 1
        header_key = request.headers.get("xi-api-key")
        authorized = False
        voice_settings: Any = None
        contexts: dict[str, _Context] = {}
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            if self.fail == "refuse":
                await ws.close(code=1011, message=b"service unavailable")
                break
            event = json.loads(msg.data)
            if not authorized:
                key = header_key if header_key is not None else event.get("xi_api_key")
                if not await self._authorized(ws, key):
                    break
                authorized = True
                voice_settings = event.get("voice_settings")
            if event.get("close_socket"):
                await ws.close()
                break
            cid = str(event.get("context_id") or "default")
            if cid not in contexts and event.get("close_context"):
                continue  # already closed: nothing to release
            if cid not in contexts:
                if len(contexts) >= MAX_CONTEXTS:
                    await self._error(ws, "Maximum simultaneous contexts exceeded", "max_contexts")
                    break
                if event.get("voice_settings", voice_settings) != voice_settings:
                    await self._error(ws, VOICE_SETTINGS_CHANGED, "invalid_input_message")
                    break
                contexts[cid] = _Context()
                self.context_messages.append(event)
            ctx = contexts[cid]
            ctx.buffer += str(event.get("text") or "")
            if event.get("flush") or event.get("close_context"):
                if ctx.buffer.strip() and self.fail == "error":
                    await self._error(ws, SOMETHING_WENT_WRONG, "internal_error")
                    break
                await self._voice(ws, cid, ctx, output_format)
            if event.get("close_context"):
                del contexts[cid]
                if "".join(ctx.said).strip():
                    self.spoken.append("".join(ctx.said).strip())
                await ws.send_str(json.dumps({"isFinal": True, "context_id": cid}))
        return ws

    async def _authorized(self, ws: web.WebSocketResponse, key: Any) -> bool:
        if key is not None:
            self.keys.append(str(key))
        if key == self.key:
            return True
        self.rejected_keys += 1
        await self._error(ws, "Invalid API key", "invalid_api_key")
        return False

    async def _error(self, ws: web.WebSocketResponse, message: str, error: str) -> None:
        self.errors += 1
        await ws.send_str(json.dumps({"message": message, "error": error, "code": 1008}))
        await ws.close(code=1008, message=message.encode()[:120])

    async def _voice(
        self, ws: web.WebSocketResponse, cid: str, ctx: _Context, output_format: str
    ) -> None:
        text, ctx.buffer = ctx.buffer, ""
        if not text.strip():
            return
        ctx.said.append(text)
        audio = encoded(output_format, self.speech_seconds)
        step_ms = self.speech_seconds * 1000 / len(text)
        starts = [round(ctx.offset_ms + i * step_ms) for i in range(len(text))]
        ctx.offset_ms += self.speech_seconds * 1000
        audio_step = -(-len(audio) // CHUNKS)
        char_step = -(-len(text) // CHUNKS)
        for i in range(CHUNKS):
            chars = slice(i * char_step, (i + 1) * char_step)
            alignment = {
                "chars": list(text[chars]),
                "charStartTimesMs": starts[chars],
                "charDurationsMs": [round(step_ms)] * len(text[chars]),
            }
            piece = audio[i * audio_step : (i + 1) * audio_step]
            message = {
                "audio": base64.b64encode(piece).decode(),
                "alignment": alignment,
                "normalizedAlignment": alignment,
                "context_id": cid,
                "isFinal": False,
            }
            await ws.send_str(json.dumps(message))

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        """Text to speech of a whole text (``POST .../stream?output_format=...``)."""
        key = request.headers.get("xi-api-key")
        if key is not None:
            self.keys.append(key)
        if key != self.key:
            self.rejected_keys += 1
            body = {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}
            return web.json_response(body, status=401)
        if self.fail is not None:
            self.errors += 1
            return web.json_response({"detail": {"status": "internal_error"}}, status=500)
        output_format = request.query.get("output_format", "mp3_44100_128")
        text = str((await request.json()).get("text") or "")
        self.chunked.append(text.strip())
        kind = "audio/mpeg" if output_format.startswith("mp3") else "audio/pcm"
        return web.Response(body=encoded(output_format, self.speech_seconds), content_type=kind)
