"""A local OpenAI-compatible HTTP server (chat completions, streaming) for tests.

The real OpenAI plugin talks to it over HTTP, so its request building and SSE parsing
run for real. ``reply`` decides each answer from the request body.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import numpy as np
from aiohttp import web

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
        self._server = LocalServer()
        self.base_url = ""

    async def __aenter__(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/audio/speech", self._speech)
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
