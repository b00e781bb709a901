"""Test doubles at LiveKit's boundaries (never imported by product code)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import llm
from livekit.agents.types import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
)

Reply = str | tuple[str, str]  # text, or ("tool", name)


class ScriptedLLM(llm.LLM):
    """Answers by the last item of the context: a user message's text, a tool's name, or
    ``"<start>"`` when there is no user input yet. Records every context it was given."""

    def __init__(self, script: dict[str, Reply], default: Reply = "Okay. Next question?") -> None:
        super().__init__()
        self.script = script
        self.default = default
        self.contexts: list[llm.ChatContext] = []
        self._ids = itertools.count(1)

    @property
    def model(self) -> str:
        return "scripted"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        self.contexts.append(chat_ctx.copy())
        return _ScriptedStream(
            self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options
        )

    def key_for(self, chat_ctx: llm.ChatContext) -> str:
        items = [i for i in chat_ctx.items if not (i.type == "message" and i.role == "system")]
        if not items:
            return "<start>"
        last = items[-1]
        if last.type == "function_call_output":
            return f"<after:{last.name}>"
        if last.type == "message" and last.role == "user":
            return last.text_content or ""
        return "<start>"


class _ScriptedStream(llm.LLMStream):
    def __init__(self, fake: ScriptedLLM, **kw: Any) -> None:
        super().__init__(fake, **kw)
        self._fake = fake

    async def _run(self) -> None:
        reply = self._fake.script.get(self._fake.key_for(self.chat_ctx), self._fake.default)
        if isinstance(reply, tuple):
            call = llm.FunctionToolCall(
                name=reply[1], arguments="{}", call_id=f"call_{next(self._fake._ids)}"
            )
            delta = llm.ChoiceDelta(role="assistant", tool_calls=[call])
        else:
            delta = llm.ChoiceDelta(role="assistant", content=reply)
        self._event_ch.send_nowait(llm.ChatChunk(id="scripted", delta=delta))


@dataclass
class FakeParticipant:
    """The agent's local participant as the client protocol sees it."""

    rpc: dict[str, Callable[..., Any]] = field(default_factory=dict)
    published: list[tuple[str, str]] = field(default_factory=list)

    def register_rpc_method(self, method_name: str, handler: Callable[..., Any]) -> None:
        self.rpc[method_name] = handler

    async def publish_data(
        self, payload: bytes | str, *, reliable: bool = True, topic: str = ""
    ) -> None:
        text = payload.decode() if isinstance(payload, bytes) else payload
        self.published.append((topic, text))
