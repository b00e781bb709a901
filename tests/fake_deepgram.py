"""A local Deepgram-compatible live transcription server (``/v1/listen``) for tests.

The real Deepgram plugin connects to it over a WebSocket, so its URL building, audio
framing, keep-alives, message parsing and reconnects run for real. It speaks the part of
the live protocol the plugin uses: it checks ``Authorization: Token <key>``, reads 16-bit
PCM, finds speech by its energy, sends ``SpeechStarted``, interim ``Results`` while the
speech goes on, and a final ``Results`` with ``speech_final: true`` once ``endpointing``
milliseconds of silence follow (or at ``Finalize``). The words of each final result are
the next line of its script: this server cannot recognise speech, so the test says what
was said.

It is also Deepgram's Aura voice (``/v1/speak``): over the WebSocket, ``Speak`` text is
gathered until ``Flush``, answered with linear16 audio (a quiet tone, ``speech_seconds``
long) and ``Flushed``; a POST gets the same audio for its whole text. ``spoken`` keeps
each text voiced.

Faults: ``drop_in_line=k`` cuts the TCP connection (no close frame, as a network drop)
once ``drop_after_s`` seconds of line ``k`` have been heard. The words already heard are
lost with that stream, so line ``k`` is transcribed as its second half only. With
``refuse_after_drop`` every later connection is refused with HTTP 503.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web

from .local_server import LocalServer

SPEECH_RMS = 300.0
"""Mean amplitude above which a chunk of 16-bit audio counts as speech."""


@dataclass
class _Utterance:
    started_at: float
    speech_s: float = 0.0
    silence_s: float = 0.0
    interims: int = 0


@dataclass
class _Stream:
    rate: int
    endpointing_s: float
    position_s: float = 0.0
    utterance: _Utterance | None = None
    sent: list[dict[str, Any]] = field(default_factory=list)


class FakeDeepgram:
    def __init__(
        self,
        lines: list[str],
        *,
        key: str,
        drop_in_line: int | None = None,
        drop_after_s: float = 1.0,
        refuse_after_drop: bool = False,
    ) -> None:
        self.lines = lines
        self.key = key
        self.drop_in_line = drop_in_line
        self.drop_after_s = drop_after_s
        self.refuse_after_drop = refuse_after_drop
        self.next_line = 0
        self.cut_line: int | None = None
        self.connections = 0
        self.refused = 0
        self.rejected_keys = 0
        self.drops = 0
        self.dropped_at: float | None = None
        self.finals: list[str] = []
        self.queries: list[dict[str, str]] = []
        self.spoken: list[str] = []
        self.speak_queries: list[dict[str, str]] = []
        self.speech_seconds = 0.4
        self._server = LocalServer()
        self.base_url = ""

    async def __aenter__(self) -> FakeDeepgram:
        app = web.Application()
        app.router.add_get("/v1/listen", self._listen)
        app.router.add_get("/v1/speak", self._speak_stream)
        app.router.add_post("/v1/speak", self._speak)
        await self._server.start(app)
        self.base_url = f"{self._server.origin}/v1/listen"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()

    # ------------------------------------------------------------ the protocol

    async def _listen(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Token {self.key}":
            self.rejected_keys += 1
            return web.json_response({"err_code": "INVALID_AUTH"}, status=401)
        if self.refuse_after_drop and self.drops:
            self.refused += 1
            return web.json_response({"err_code": "UNAVAILABLE"}, status=503)
        query = dict(request.query)
        self.queries.append(query)
        endpointing = query.get("endpointing", "10")
        stream = _Stream(
            rate=int(query.get("sample_rate", "16000")),
            endpointing_s=0.01 if endpointing == "false" else int(endpointing) / 1000,
        )
        ws = self._server.track(web.WebSocketResponse())
        await ws.prepare(request)
        self.connections += 1
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                for event in self._hear(stream, msg.data):
                    await ws.send_str(json.dumps(event))
                if self._should_drop(stream):
                    self.drops += 1
                    self.dropped_at = time.time()
                    self.cut_line = self.next_line
                    assert request.transport is not None
                    request.transport.abort()  # no close frame: the network went away
                    return ws
            elif msg.type == WSMsgType.TEXT:
                kind = json.loads(msg.data).get("type")
                if kind == "Finalize" and stream.utterance is not None:
                    await ws.send_str(json.dumps(self._final(stream)))
                elif kind == "CloseStream":
                    await ws.close()
        return ws

    def _voice(self, request: web.Request) -> bytes:
        rate = int(request.query.get("sample_rate", "24000"))
        n = int(rate * self.speech_seconds)
        return (np.sin(np.arange(n) * (2 * np.pi * 220 / rate)) * 1000).astype("<i2").tobytes()

    async def _speak_stream(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Token {self.key}":
            self.rejected_keys += 1
            return web.json_response({"err_code": "INVALID_AUTH"}, status=401)
        self.speak_queries.append(dict(request.query))
        ws = self._server.track(web.WebSocketResponse())
        await ws.prepare(request)
        text: list[str] = []
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            event = json.loads(msg.data)
            kind = event.get("type")
            if kind == "Speak":
                text.append(str(event.get("text") or ""))
            elif kind == "Flush":
                if "".join(text).strip():
                    self.spoken.append("".join(text).strip())
                    await ws.send_bytes(self._voice(request))
                text.clear()
                await ws.send_str(json.dumps({"type": "Flushed", "sequence_id": 0}))
            elif kind == "Close":
                await ws.close()
        return ws

    async def _speak(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Token {self.key}":
            self.rejected_keys += 1
            return web.json_response({"err_code": "INVALID_AUTH"}, status=401)
        self.speak_queries.append(dict(request.query))
        self.spoken.append(str((await request.json()).get("text") or "").strip())
        return web.Response(body=self._voice(request), content_type="audio/pcm")

    def _should_drop(self, stream: _Stream) -> bool:
        return (
            self.drop_in_line == self.next_line
            and not self.drops
            and stream.utterance is not None
            and stream.utterance.speech_s >= self.drop_after_s
        )

    def _hear(self, stream: _Stream, pcm: bytes) -> list[dict[str, Any]]:
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype=np.int16).astype(np.float64)
        duration = len(samples) / stream.rate
        voiced = samples.size > 0 and float(np.sqrt(np.mean(samples**2))) > SPEECH_RMS
        stream.position_s += duration
        u = stream.utterance
        events: list[dict[str, Any]] = []
        if voiced:
            if u is None:
                u = stream.utterance = _Utterance(started_at=stream.position_s - duration)
                events.append({"type": "SpeechStarted", "channel": [0], "timestamp": u.started_at})
            u.speech_s += duration
            u.silence_s = 0.0
            if u.speech_s >= 0.5 * (u.interims + 1):
                u.interims += 1
                words = self._words()[: 2 * u.interims]
                events.append(self._results(stream, words, is_final=False))
        elif u is not None:
            u.silence_s += duration
            if u.silence_s >= stream.endpointing_s:
                events.append(self._final(stream))
        return events

    def _words(self) -> list[str]:
        line = self.lines[self.next_line] if self.next_line < len(self.lines) else "mm"
        words = line.split()
        return words[len(words) // 2 :] if self.cut_line == self.next_line else words

    def _final(self, stream: _Stream) -> dict[str, Any]:
        words = self._words()
        event = self._results(stream, words, is_final=True)
        self.finals.append(" ".join(words))
        self.next_line += 1
        stream.utterance = None
        return event

    def _results(self, stream: _Stream, words: list[str], *, is_final: bool) -> dict[str, Any]:
        u = stream.utterance
        assert u is not None
        start, end = u.started_at, stream.position_s - (u.silence_s if is_final else 0.0)
        step = (end - start) / max(1, len(words))
        timed = [
            {
                "word": w.strip(".,!?;:").lower(),
                "punctuated_word": w,
                "start": round(start + i * step, 3),
                "end": round(start + (i + 1) * step, 3),
                "confidence": 0.97,
            }
            for i, w in enumerate(words)
        ]
        return {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": round(end - start, 3),
            "start": round(start, 3),
            "is_final": is_final,
            "speech_final": is_final,
            "from_finalize": False,
            "channel": {
                "alternatives": [
                    {"transcript": " ".join(words), "confidence": 0.97, "words": timed}
                ]
            },
            "metadata": {"request_id": str(uuid.uuid4()), "model_uuid": str(uuid.uuid4())},
        }
