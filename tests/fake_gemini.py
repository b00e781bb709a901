"""A local Gemini API for tests: ``streamGenerateContent`` over SSE, and the model list
the plugin's prewarm asks for.

LiveKit's Google plugin talks to it through the real ``google-genai`` SDK with an API key
and ``HttpOptions(base_url=...)``. What that SDK (3.6.1) sends, and so what is served
here: ``POST {base}/v1/models/{model}:streamGenerateContent?alt=sse`` (the SDK's default
API version for the Gemini API is ``v1``), the key in ``x-goog-api-key``, a JSON body
of ``contents`` (``role`` user/model, ``parts``), ``systemInstruction``,
``generationConfig``, ``tools`` and ``toolConfig``. A wrong key is answered as Google
does (400 ``API_KEY_INVALID``; none at all: 403). ``reply`` decides each answer from the
request body, as :class:`tests.fake_openai.FakeOpenAI`'s does: ``{"content": text}`` is
streamed as ``data: {GenerateContentResponse}`` chunks (the text in
``candidates[0].content.parts``, ``usageMetadata`` in each, ``finishReason`` in the
last); ``{"status": 500}`` answers that error.
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

API_VERSION = "v1"
"""The version in the path google-genai uses for the Gemini API unless told otherwise."""

PLACEHOLDER = "."
"""What LiveKit's plugin appends as a user turn when the conversation does not end with
one (Gemini answers only a user turn): not the candidate's words."""

STATUSES = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
            429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}  # fmt: skip


class FakeGemini:
    def __init__(self, reply: Callable[[dict[str, Any]], Decision], *, key: str) -> None:
        self.reply = reply
        self.key = key
        self.requests: list[dict[str, Any]] = []
        """Each ``streamGenerateContent`` body that carried the key."""
        self.models: list[str] = []
        """The model named in the path of each of those requests."""
        self.api_keys: list[str] = []
        """The ``x-goog-api-key`` of every request, to every route (``""``: none)."""
        self.refused = 0
        """Requests refused for a wrong or missing key."""
        self.models_listed = 0
        self.usage: list[dict[str, int]] = []
        """What each reply used, as reported (prompt tokens: a quarter of the request's
        bytes; candidate tokens: the reply's words)."""
        self._server = LocalServer()
        self.base_url = ""

    async def __aenter__(self) -> FakeGemini:
        app = web.Application()
        app.router.add_post(f"/{API_VERSION}/models/{{call}}", self._generate)
        app.router.add_get(f"/{API_VERSION}/models", self._models)
        await self._server.start(app)
        self.base_url = self._server.origin
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()

    def _refusal(self, request: web.Request) -> web.Response | None:
        key = request.headers.get("x-goog-api-key", "")
        self.api_keys.append(key)
        if not key:
            self.refused += 1
            return _error(403, "Method doesn't allow unregistered callers.")
        if key != self.key:
            self.refused += 1
            return _error(400, "API key not valid. Please pass a valid API key.",
                          reason="API_KEY_INVALID")  # fmt: skip
        return None

    async def _models(self, request: web.Request) -> web.Response:
        """The model list (the plugin's prewarm asks for one)."""
        if (refusal := self._refusal(request)) is not None:
            return refusal
        self.models_listed += 1
        model = {
            "name": "models/gemini-2.0-flash-001",
            "version": "2.0",
            "displayName": "Gemini 2.0 Flash 001",
            "supportedGenerationMethods": ["generateContent", "countTokens"],
        }
        return web.json_response({"models": [model]})

    async def _generate(self, request: web.Request) -> web.StreamResponse:
        model, _, method = request.match_info["call"].rpartition(":")
        if method != "streamGenerateContent" or request.query.get("alt") != "sse":
            return _error(404, f"method {method} is not served here")
        if (refusal := self._refusal(request)) is not None:
            return refusal
        raw = await request.read()
        body = json.loads(raw)
        self.requests.append(body)
        self.models.append(model)
        if not body.get("contents"):
            return _error(400, "* GenerateContentRequest.contents: contents is not specified")
        decision = self.reply(body)
        if "status" in decision:
            return _error(decision["status"], "fake failure")
        if "delay" in decision:
            await asyncio.sleep(decision["delay"])
        text = str(decision["content"])
        prompt = max(1, len(raw) // 4)
        words = text.split()
        self.usage.append({"prompt_tokens": prompt, "candidates_tokens": len(words)})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        pieces = [" ".join(words[i : i + 3]) + " " for i in range(0, len(words), 3)] or [""]
        pieces[-1] = pieces[-1].rstrip()
        sent = 0
        for n, piece in enumerate(pieces):
            sent += len(piece.split())
            last = n == len(pieces) - 1
            candidate: dict[str, Any] = {
                "content": {"parts": [{"text": piece}], "role": "model"},
                "index": 0,
            }
            if last:
                candidate["finishReason"] = "STOP"
            chunk = {
                "candidates": [candidate],
                "usageMetadata": {
                    "promptTokenCount": prompt,
                    "candidatesTokenCount": sent,
                    "totalTokenCount": prompt + sent,
                },
                "modelVersion": model,
                "responseId": f"fake-{len(self.requests)}",
            }
            await resp.write(f"data: {json.dumps(chunk)}\r\n\r\n".encode())
        await resp.write_eof()
        return resp


def _error(code: int, message: str, *, reason: str | None = None) -> web.Response:
    error: dict[str, Any] = {"code": code, "message": message,
                             "status": STATUSES.get(code, "UNKNOWN")}  # fmt: skip
    if reason:
        error["details"] = [{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason,
            "domain": "googleapis.com",
        }]  # fmt: skip
    return web.json_response({"error": error}, status=code)


def parts_text(content: dict[str, Any]) -> str:
    """The text parts of one ``Content``, joined."""
    return " ".join(p["text"] for p in content.get("parts") or [] if "text" in p)


def last_user_text(body: dict[str, Any]) -> str | None:
    """What the candidate said last, when the request ends with their turn: ``None`` for
    the opening request (no user turn yet, or only the plugin's placeholder)."""
    contents = body.get("contents", [])
    if not contents or contents[-1].get("role") != "user":
        return None
    text = parts_text(contents[-1])
    return None if text.strip() in ("", PLACEHOLDER) else text


def interviewer(body: dict[str, Any]) -> Decision:
    """A plain interviewer (``tests/rooms/harness.py``'s, on Gemini's request shape): a
    greeting, then a follow-up question for every answer."""
    if last_user_text(body) is None:
        return {"content": "Hello! Are you ready to begin?"}
    return {"content": "Thank you. Could you tell me more about that?"}
