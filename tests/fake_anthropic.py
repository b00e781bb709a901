"""A local Anthropic Messages API for tests: ``POST /v1/messages`` streamed, and the
model list the plugin's prewarm asks for.

LiveKit's Anthropic plugin talks to it through the real ``anthropic`` SDK at
``ANTHROPIC_BASE_URL`` (the SDK adds ``/v1/messages``), so the plugin's request building
(the system prompt apart, messages of content blocks, the tools) and the SDK's SSE
parsing run for real. Each request must carry the key in ``x-api-key`` (else 401, as
Anthropic answers) and an ``anthropic-version`` (else 400). ``reply`` decides each
answer from the request body, as :class:`tests.fake_openai.FakeOpenAI`'s does:
``{"content": text}`` is streamed as ``message_start``, ``content_block_start``,
``content_block_delta`` (``text_delta``) chunks, ``content_block_stop``,
``message_delta`` (stop reason and usage) and ``message_stop``; ``{"status": 500}``
answers that error. The usage reported is counted from the request and the reply, so
the cost estimate has tokens to price.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .local_server import LocalServer

Decision = dict[str, Any]
"""{"content": str} | {"status": int}, optionally with {"delay": seconds}."""

PLACEHOLDER = "(empty)"
"""What LiveKit's plugin sends as the first user message when the conversation has
none yet (the Messages API needs one): not the candidate's words."""

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


class FakeAnthropic:
    def __init__(self, reply: Callable[[dict[str, Any]], Decision], *, key: str) -> None:
        self.reply = reply
        self.key = key
        self.requests: list[dict[str, Any]] = []
        """Each ``/v1/messages`` body that carried the key."""
        self.api_keys: list[str] = []
        """The ``x-api-key`` of every request, to every route (``""``: none)."""
        self.refused = 0
        """Requests answered 401 (a wrong or missing key)."""
        self.models_listed = 0
        self.usage: list[dict[str, int]] = []
        """What each reply used, as reported (input tokens: a quarter of the request's
        bytes; output tokens: the reply's words)."""
        self._server = LocalServer()
        self.base_url = ""

    async def __aenter__(self) -> FakeAnthropic:
        app = web.Application()
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_get("/v1/models", self._models)
        await self._server.start(app)
        self.base_url = self._server.origin
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()

    def _refusal(self, request: web.Request) -> web.Response | None:
        """Anthropic's answer to a request it would not serve, else ``None``."""
        key = request.headers.get("x-api-key", "")
        self.api_keys.append(key)
        if key != self.key:
            self.refused += 1
            return _error(401, "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return _error(400, "anthropic-version: header is required")
        return None

    async def _models(self, request: web.Request) -> web.Response:
        """The model list (the plugin's prewarm asks for one)."""
        if (refusal := self._refusal(request)) is not None:
            return refusal
        self.models_listed += 1
        model = {
            "type": "model",
            "id": "claude-sonnet-4-20250514",
            "display_name": "Claude Sonnet 4",
            "created_at": "2025-05-22T00:00:00Z",
        }
        return web.json_response(
            {"data": [model], "has_more": False, "first_id": model["id"], "last_id": model["id"]}
        )

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        if (refusal := self._refusal(request)) is not None:
            return refusal
        raw = await request.read()
        body = json.loads(raw)
        self.requests.append(body)
        if not body.get("model") or not body.get("max_tokens") or not body.get("messages"):
            return _error(400, "model, max_tokens and messages are required")
        decision = self.reply(body)
        if "status" in decision:
            return _error(decision["status"], "fake failure")
        if "delay" in decision:
            await asyncio.sleep(decision["delay"])
        text = str(decision["content"])
        n = len(self.requests)
        usage = {"input_tokens": max(1, len(raw) // 4), "output_tokens": len(text.split())}
        self.usage.append(usage)
        streamed = bool(body.get("stream"))
        message = {
            "id": f"msg_fake_{n}", "type": "message", "role": "assistant",
            "content": [] if streamed else [{"type": "text", "text": text}],
            "model": body["model"], "stop_reason": None if streamed else "end_turn",
            "stop_sequence": None,
            # a stream starts with the input tokens and one output token; message_delta
            # then says the output tokens of the whole reply, as Anthropic's stream does
            "usage": {"input_tokens": usage["input_tokens"],
                      "output_tokens": 1 if streamed else usage["output_tokens"],
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
        }  # fmt: skip
        if not streamed:
            return web.json_response(message, headers={"request-id": f"req_fake_{n}"})
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "request-id": f"req_fake_{n}"}
        )
        await resp.prepare(request)

        async def send(event: str, data: dict[str, Any]) -> None:
            await resp.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())

        await send("message_start", {"type": "message_start", "message": message})
        await send(
            "content_block_start",
            {"type": "content_block_start", "index": 0,
             "content_block": {"type": "text", "text": ""}},
        )  # fmt: skip
        await send("ping", {"type": "ping"})
        for i in range(0, len(text), 7):
            await send(
                "content_block_delta",
                {"type": "content_block_delta", "index": 0,
                 "delta": {"type": "text_delta", "text": text[i : i + 7]}},
            )  # fmt: skip
        await send("content_block_stop", {"type": "content_block_stop", "index": 0})
        await send(
            "message_delta",
            {"type": "message_delta",
             "delta": {"stop_reason": "end_turn", "stop_sequence": None},
             "usage": {"output_tokens": usage["output_tokens"]}},
        )  # fmt: skip
        await send("message_stop", {"type": "message_stop"})
        await resp.write_eof()
        return resp


def _error(status: int, message: str) -> web.Response:
    kind = ERROR_TYPES.get(status, "api_error")
    return web.json_response(
        {"type": "error", "error": {"type": kind, "message": message}}, status=status
    )


def block_text(content: Any) -> str:
    """The text of a message's content: a string, or its text blocks joined."""
    if isinstance(content, str):
        return content
    return " ".join(
        b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"
    )


def last_user_text(body: dict[str, Any]) -> str | None:
    """What the candidate said last, when the request ends with their turn: ``None`` for
    the opening request (no user turn yet, or only the plugin's placeholder)."""
    msgs = body.get("messages", [])
    if not msgs or msgs[-1].get("role") != "user":
        return None
    text = block_text(msgs[-1].get("content"))
    return None if text.strip() in ("", PLACEHOLDER) else text


def interviewer(body: dict[str, Any]) -> Decision:
    """A plain interviewer (``tests/rooms/harness.py``'s, on Anthropic's request shape):
    a greeting, then a follow-up question for every answer."""
    if last_user_text(body) is None:
        return {"content": "Hello! Are you ready to begin?"}
    return {"content": "Thank you. Could you tell me more about that?"}
