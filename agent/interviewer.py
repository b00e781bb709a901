"""The LiveKit ``Agent`` that conducts the interview.

The model writes the words; the state machine decides the stage. Each LLM call first
commits the candidate's pending turn to the machine, then sees only the bounded context
the runtime builds. Spoken requests (skip, end, repeat, "give me a moment") arrive as
function-tool calls, and each tool only asks the machine, which may refuse.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable

from livekit.agents import Agent, ModelSettings, RunContext, function_tool, llm
from livekit.agents.voice.speech_handle import SpeechHandle

from stages.machine import Effect, Ended, Rejected, StageChanged

from .runtime import InterviewRuntime

_REFUSALS = {
    "not_skippable": "Not skipped: this part of the interview cannot be skipped.",
    "stale_stage": "Not skipped: that part is already over.",
    "not_running": "Nothing changed: the interview is not running.",
    "min_questions_not_met": "Not yet: this stage needs at least one more answer.",
    "last_stage": "Not possible: this is the last stage.",
    "no_pending_request": "Nothing to confirm: the candidate has not asked to end.",
    "not_confirmed_yet": "Not ended: the candidate must confirm in their own next reply. "
    "Ask them to confirm.",
    "one_per_turn": "Not done: only one part of the interview can be skipped or finished "
    "per candidate reply.",
}


def describe(effects: list[Effect], runtime: InterviewRuntime, done: str) -> str:
    """What a tool call achieved, as one instruction for the model's next words."""
    for e in effects:
        if isinstance(e, Rejected) and e.reason == "not_confirmed_yet":
            return _REFUSALS[e.reason]
        if isinstance(e, Rejected):
            return (
                f"{_REFUSALS.get(e.reason, 'Refused.')} Tell the candidate in a few words and "
                "continue with the current question."
            )
        if isinstance(e, Ended):
            return "The interview is over. Say a short goodbye."
        if isinstance(e, StageChanged):
            stage = runtime.machine.current
            title = stage.title if stage else e.current
            return (
                f"{done} The interview is now in the {title} stage. Acknowledge in a few "
                "words and ask that stage's first question."
            )
    return done


class Interviewer(Agent):
    def __init__(self, runtime: InterviewRuntime) -> None:
        super().__init__(
            instructions=runtime.instructions(),
            chat_ctx=runtime.restored_chat() if runtime.resuming else None,
        )
        self.runtime = runtime
        self._greeting: SpeechHandle | None = None
        self._entered = asyncio.Event()

    async def on_enter(self) -> None:
        self.runtime.apply(self.runtime.machine.start())
        self._greeting = self.session.generate_reply()
        self._entered.set()

    async def wait_for_greeting(self, limit_s: float) -> None:
        """Until the opening words have been delivered (for scripted sessions)."""
        async with asyncio.timeout(limit_s):
            await self._entered.wait()
            if self._greeting is not None:
                await self._greeting

    async def llm_node(
        self,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool],
        model_settings: ModelSettings,
    ) -> AsyncIterable[llm.ChatChunk | str]:
        rt = self.runtime
        rt.commit_candidate_turns(chat_ctx)
        m = rt.machine
        if m.terminal and m.ended_by != "candidate_request":
            return
        ctx = rt.llm_context(chat_ctx)
        async for chunk in Agent.default.llm_node(self, ctx, tools, model_settings):
            yield chunk

    # ------------------------------------------------------------ tools

    @function_tool
    async def skip_stage(self, context: RunContext) -> str:
        """Skip the current part of the interview. Call only when the candidate clearly
        asks to skip this part or this question."""
        rt = self.runtime
        return describe(rt.control(rt.machine.skip("spoken")), rt, "Skipped.")

    @function_tool
    async def end_interview(self, context: RunContext) -> str:
        """The candidate asked to stop or end the interview. This does not end it yet:
        the candidate must confirm."""
        rt = self.runtime
        effects = rt.control(rt.machine.request_end())
        return describe(
            effects,
            rt,
            "Ask the candidate, in one short sentence, to confirm they want to end the "
            "interview now.",
        )

    @function_tool
    async def confirm_end_interview(self, context: RunContext) -> str:
        """The candidate confirmed they want to end the interview now."""
        rt = self.runtime
        return describe(rt.control(rt.machine.confirm_end()), rt, "Ended.")

    @function_tool
    async def cancel_end_interview(self, context: RunContext) -> str:
        """The candidate changed their mind and wants to continue the interview."""
        rt = self.runtime
        rt.control(rt.machine.cancel_end())
        question = rt.last_question or "the current question"
        return f"Continuing. Say so in a few words and repeat this question: {question}"

    @function_tool
    async def repeat_question(self, context: RunContext) -> str:
        """The candidate asked to hear the question again, or to have it rephrased."""
        rt = self.runtime
        effects = rt.control(rt.machine.repeat())
        question = rt.last_question or "the current question"
        return describe(effects, rt, f"Repeat or rephrase this question: {question}")

    @function_tool
    async def give_candidate_time(self, context: RunContext) -> str:
        """The candidate asked for a moment to think before answering."""
        rt = self.runtime
        effects = rt.control(rt.machine.need_moment())
        return describe(
            effects, rt, "Tell the candidate to take their time, in a few words, then wait."
        )

    @function_tool
    async def finish_stage(self, context: RunContext) -> str:
        """The goal of the current stage is covered (for example the candidate has no more
        questions). The interview system may refuse if it is too early."""
        rt = self.runtime
        return describe(rt.apply(rt.machine.finish_stage()), rt, "Stage finished.")
