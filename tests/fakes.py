"""Test doubles at LiveKit's boundaries (never imported by product code)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import AgentSession, llm

from agent.driver import SessionDriver
from agent.interviewer import Interviewer
from agent.local_llm import LocalLLM
from agent.offline_llm import OfflineInterviewerLLM
from agent.runtime import InterviewRuntime

Reply = str | tuple[str, str] | tuple[str, str, dict[str, Any]]
"""Text, or ("tool", name) / ("tool", name, arguments)."""


class ScriptedLLM(LocalLLM):
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

    async def respond(self, chat_ctx: llm.ChatContext) -> str | llm.FunctionToolCall:
        self.contexts.append(chat_ctx.copy())
        reply = self.script.get(self.key_for(chat_ctx), self.default)
        if isinstance(reply, tuple):
            arguments = json.dumps(reply[2] if len(reply) > 2 else {})  # type: ignore[misc]
            return llm.FunctionToolCall(
                name=reply[1], arguments=arguments, call_id=f"call_{next(self._ids)}"
            )
        return reply

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


@dataclass
class FakeParticipant:
    """The agent's local participant as the client protocol sees it."""

    rpc: dict[str, Callable[..., Any]] = field(default_factory=dict)
    published: list[tuple[str, str]] = field(default_factory=list)
    _new_data: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def register_rpc_method(self, method_name: str, handler: Callable[..., Any]) -> None:
        self.rpc[method_name] = handler

    async def publish_data(
        self, payload: bytes | str, *, reliable: bool = True, topic: str = ""
    ) -> None:
        text = payload.decode() if isinstance(payload, bytes) else payload
        self.published.append((topic, text))
        self._new_data.set()

    async def published_until(self, done: Callable[[list[tuple[str, str]]], bool]) -> None:
        """Until what has been published (``(topic, payload)``, in order) is ``done``."""
        while not done(self.published):
            self._new_data.clear()
            await self._new_data.wait()


@contextlib.asynccontextmanager
async def offline_text_interview(
    rt: InterviewRuntime, greeting_limit_s: float = 10.0
) -> AsyncIterator[tuple[AgentSession, SessionDriver]]:
    """The offline interviewer in a text-only ``AgentSession`` (no room, no voice), past its
    greeting; the session and its driver, closed on the way out."""
    session = AgentSession(
        llm=OfflineInterviewerLLM(rt), vad=None, turn_handling={"turn_detection": None}
    )
    driver = SessionDriver(session, rt, watch_silence=False)
    agent = Interviewer(rt)
    await session.start(agent)
    driver.start()
    try:
        await agent.wait_for_greeting(greeting_limit_s)
        yield session, driver
    finally:
        await driver.aclose()
        await session.aclose()


async def typed_interview(
    rt: InterviewRuntime,
    providers: Any,
    *,
    store: Any,
    outbox: Any,
    turns: list[str],
    publish_cues: Any = None,
) -> tuple[Any, Any]:
    """A typed interview through the worker's own session (``InterviewSession``): the
    greeting, then each of ``turns`` while it runs; the candidate leaves if it has not
    ended; its rows as saved (``(interview, feedback)``)."""
    from agent.session import InterviewSession

    interview = InterviewSession(
        rt, providers, store=store, outbox=outbox, mode="test", checkpoints=False,
        publish_cues=publish_cues,
    )  # fmt: skip
    try:
        await interview.start()
        await interview.wait_for_greeting(10)
        for turn in turns:
            if rt.terminal:
                break
            await interview.session.run(user_input=turn)
            await interview.driver.settle(10)
        await asyncio.sleep(0.1)  # the tasks the last reply started (its cues)
        if not rt.terminal:
            rt.candidate_left(final=True)
        await interview.driver.ended.wait()
        return await interview.finish()
    finally:
        await interview.aclose()
