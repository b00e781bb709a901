"""A local OpenAI-compatible server for tests: chat completions (streaming), speech, and
the realtime transcription WebSocket.

The real OpenAI plugin talks to it over HTTP and WebSocket, so its request building, SSE
parsing and realtime events run for real. ``reply`` decides each answer from the request
body. Transcription (``/v1/realtime?intent=transcription``) speaks the part of the
protocol the plugin's streaming speech-to-text uses: it checks the bearer key, reads the
``session.update`` and the base64 24 kHz PCM of ``input_audio_buffer.append``, finds
speech by its energy (server VAD), sends ``speech_started``, transcription deltas while
the speech goes on, and ``speech_stopped``, ``committed`` and ``completed`` once the
session's ``silence_duration_ms`` of silence follow (or at ``input_audio_buffer.commit``).
The words are the next line of ``transcripts``: this server cannot recognise speech.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web

from .local_server import LocalServer

Decision = dict[str, Any]
"""{"content": str} | {"tool": name} | {"status": int}, optionally with {"delay": seconds};
content may also say {"cut_after": n} (drop the connection after n chunks) or
{"stall_after": n} (hang after n chunks)."""


class FakeOpenAI:
    def __init__(self, reply: Callable[[dict[str, Any]], Decision]) -> None:
        self.reply = reply
        self.requests: list[dict[str, Any]] = []
        self.auth_headers: list[str] = []
        self.speech_status = 200
        self.speech_seconds = 0.4
        self.speech_delay = 0.0
        """Seconds before the voice's audio is sent (its time to first byte)."""
        self.speech_requests = 0
        self.transcripts: list[str] = []
        """What the candidate says, line by line (realtime transcription)."""
        self.transcribed: list[str] = []
        self.realtime_auth: list[str] = []
        self.realtime_queries: list[dict[str, str]] = []
        self.sessions: list[dict[str, Any]] = []
        """Each ``session.update`` received."""
        self._server = LocalServer()
        self.base_url = ""

    async def __aenter__(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/audio/speech", self._speech)
        app.router.add_get("/v1/realtime", self._realtime)
        await self._server.start(app)
        self.base_url = f"{self._server.origin}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()

    async def _speech(self, request: web.Request) -> web.Response:
        """Text to speech: raw 24 kHz 16-bit PCM (a quiet tone), or the error status."""
        self.speech_requests += 1
        if self.speech_status != 200:
            return web.json_response(
                {"error": {"message": "speech unavailable", "type": "server_error"}},
                status=self.speech_status,
            )
        if self.speech_delay:
            await asyncio.sleep(self.speech_delay)
        n = int(24000 * self.speech_seconds)
        tone = (np.sin(np.arange(n) * (2 * np.pi * 220 / 24000)) * 1000).astype("<i2")
        return web.Response(
            body=tone.tobytes(),
            content_type="audio/pcm",
            headers={"x-request-id": f"req_{self.speech_requests}"},
        )

    async def _realtime(self, request: web.Request) -> web.StreamResponse:
        """Realtime transcription: energy VAD over the appended audio, scripted words."""
        auth = request.headers.get("Authorization", "")
        self.realtime_auth.append(auth)
        self.realtime_queries.append(dict(request.query))
        if request.query.get("intent") != "transcription":
            return web.json_response({"error": {"message": "transcription only"}}, status=400)
        ws = self._server.track(web.WebSocketResponse())
        await ws.prepare(request)
        hearing = _Hearing()
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            event = json.loads(msg.data)
            kind = event.get("type")
            if kind == "session.update":
                self.sessions.append(event.get("session") or {})
                audio_in = ((event.get("session") or {}).get("audio") or {}).get("input") or {}
                silence = (audio_in.get("turn_detection") or {}).get("silence_duration_ms")
                hearing.silence_s = (silence or 500) / 1000
                await ws.send_str(json.dumps({"type": "session.updated"}))
            elif kind == "input_audio_buffer.append":
                pcm = base64.b64decode(event.get("audio") or "")
                for out in hearing.hear(pcm, self._next_words):
                    await ws.send_str(json.dumps(out))
            elif kind == "input_audio_buffer.commit" and hearing.item is not None:
                for out in hearing.finish():
                    await ws.send_str(json.dumps(out))
        return ws

    def _next_words(self) -> str:
        """The next line of the script, taken by the next stretch of speech."""
        n = len(self.transcribed)
        line = self.transcripts[n] if n < len(self.transcripts) else "mm"
        self.transcribed.append(line)
        return line

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": []})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.auth_headers.append(request.headers.get("Authorization", ""))
        decision = self.reply(body)
        if "status" in decision:
            return web.json_response(
                {"error": {"message": "fake failure", "type": "server_error"}},
                status=decision["status"],
            )
        if "delay" in decision:
            await asyncio.sleep(decision["delay"])
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body.get("model", "fake"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": decision.get("content", ""),
                            },
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
                }
            )
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)

        async def send(choice_delta: dict[str, Any], finish: str | None = None) -> None:
            chunk = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "delta": choice_delta, "finish_reason": finish}],
            }
            await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())

        if "tool" in decision:
            await send(
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": f"call_{len(self.requests)}",
                            "type": "function",
                            "function": {"name": decision["tool"], "arguments": ""},
                        }
                    ],
                }
            )
            await send({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]})
            await send({}, "tool_calls")
        else:
            text = decision["content"]
            await send({"role": "assistant", "content": ""})
            for n, i in enumerate(range(0, len(text), 7)):
                if n == decision.get("cut_after"):
                    request.transport.close()  # the connection drops mid-stream
                    return resp
                if n == decision.get("stall_after"):
                    await asyncio.sleep(3600)  # the stream hangs mid-answer
                await send({"content": text[i : i + 7]})
            await send({}, "stop")
        usage = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": body.get("model", "fake"),
            "choices": [],
            "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
        }
        await resp.write(f"data: {json.dumps(usage)}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp


SPEECH_RMS = 300.0
"""Mean amplitude above which a chunk of 16-bit audio counts as speech."""
RATE = 24_000


class _Hearing:
    """One transcription session's server VAD: an item per stretch of speech."""

    def __init__(self) -> None:
        self.silence_s = 0.5
        self.position_s = 0.0
        self.item: str | None = None
        self.items = 0
        self.started_s = 0.0
        self.speech_s = 0.0
        self.quiet_s = 0.0
        self.deltas = 0
        self.words: list[str] = []
        self.finished: list[str] = []

    def hear(self, pcm: bytes, next_words: Callable[[], str]) -> list[dict[str, Any]]:
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype=np.int16).astype(np.float64)
        duration = len(samples) / RATE
        voiced = samples.size > 0 and float(np.sqrt(np.mean(samples**2))) > SPEECH_RMS
        self.position_s += duration
        out: list[dict[str, Any]] = []
        if voiced:
            if self.item is None:
                self.items += 1
                self.item = f"item_{self.items}"
                self.started_s = self.position_s - duration
                self.speech_s = self.quiet_s = 0.0
                self.deltas = 0
                self.words = next_words().split()
                out.append({
                    "type": "input_audio_buffer.speech_started",
                    "item_id": self.item,
                    "audio_start_ms": int(self.started_s * 1000),
                })  # fmt: skip
            self.speech_s += duration
            self.quiet_s = 0.0
            if self.speech_s >= 0.5 * (self.deltas + 1) and self.deltas * 2 < len(self.words):
                delta = " ".join(self.words[self.deltas * 2 : self.deltas * 2 + 2]) + " "
                self.deltas += 1
                out.append({
                    "type": "conversation.item.input_audio_transcription.delta",
                    "item_id": self.item,
                    "content_index": 0,
                    "delta": delta,
                })  # fmt: skip
        elif self.item is not None:
            self.quiet_s += duration
            if self.quiet_s >= self.silence_s:
                out.extend(self.finish())
        return out

    def finish(self) -> list[dict[str, Any]]:
        item = self.item
        assert item is not None
        end_ms = int((self.position_s - self.quiet_s) * 1000)
        transcript = " ".join(self.words)
        self.item = None
        self.finished.append(transcript)
        return [
            {"type": "input_audio_buffer.speech_stopped", "item_id": item, "audio_end_ms": end_ms},
            {"type": "input_audio_buffer.committed", "item_id": item, "previous_item_id": None},
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item,
                "content_index": 0,
                "transcript": transcript,
                "usage": {"type": "tokens", "input_tokens": 50, "output_tokens": 10,
                          "total_tokens": 60},
            },
        ]  # fmt: skip


def last_user_text(body: dict[str, Any]) -> str | None:
    msgs = body.get("messages", [])
    if msgs and msgs[-1].get("role") == "user":
        content = msgs[-1].get("content")
        if isinstance(content, list):
            return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        return content
    return None


def last_tool_name(body: dict[str, Any]) -> str | None:
    msgs = body.get("messages", [])
    if not msgs or msgs[-1].get("role") != "tool":
        return None
    call_id = msgs[-1].get("tool_call_id")
    for m in reversed(msgs):
        for call in m.get("tool_calls") or []:
            if call.get("id") == call_id:
                return call["function"]["name"]
    return None
