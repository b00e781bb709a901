"""A language model whose answer is computed in this process (no provider).

Subclasses implement :meth:`LocalLLM.respond`: a text, one tool call, or nothing. The
offline interviewer is one; so are the fixed-latency models of the benchmarks.
"""

from __future__ import annotations

from typing import Any

from livekit.agents import llm
from livekit.agents.types import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
)

Response = str | llm.FunctionToolCall | None


class LocalLLM(llm.LLM):
    async def respond(self, chat_ctx: llm.ChatContext) -> Response:
        raise NotImplementedError

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
        return _LocalStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)


class _LocalStream(llm.LLMStream):
    def __init__(self, local: LocalLLM, **kw: Any) -> None:
        super().__init__(local, **kw)
        self._local = local

    async def _run(self) -> None:
        response = await self._local.respond(self.chat_ctx)
        if isinstance(response, llm.FunctionToolCall):
            delta = llm.ChoiceDelta(role="assistant", tool_calls=[response])
        elif response:
            delta = llm.ChoiceDelta(role="assistant", content=response)
        else:
            return
        self._event_ch.send_nowait(llm.ChatChunk(id=f"local-{id(self):x}", delta=delta))
