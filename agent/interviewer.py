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

from interview.record import Request, ToolOutcome

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


def describe(outcome: ToolOutcome, runtime: InterviewRuntime, done: str) -> str:
    """What a tool call achieved, as one instruction for the model's next words."""
    if outcome.refused == "not_confirmed_yet":
        return _REFUSALS[outcome.refused]
    if outcome.refused is not None:
        return (
            f"{_REFUSALS.get(outcome.refused, 'Refused.')} Tell the candidate in a few words "
            "and continue with the current question."
        )
    if outcome.ended:
        return "The interview is over. Say a short goodbye."
    if outcome.stage_changed:
        stage = runtime.stage
        title = stage.title if stage else "next"
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
        self.runtime.start()
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
        if rt.terminal and rt.ended_by != "candidate_request":
            return
        ctx = rt.llm_context(chat_ctx)
        async for chunk in Agent.default.llm_node(self, ctx, tools, model_settings):
            yield chunk

    # ------------------------------------------------------------ tools

    @function_tool
    async def skip_stage(self, context: RunContext) -> str:
        """Skip the current part of the interview. Call only when the candidate clearly
        asks to skip this part or this question."""
        return self._ask(context, "skip_stage", "Skipped.")

    @function_tool
    async def end_interview(self, context: RunContext) -> str:
        """The candidate asked to stop or end the interview. This does not end it yet:
        the candidate must confirm."""
        return self._ask(
            context,
            "end_interview",
            "Ask the candidate, in one short sentence, to confirm they want to end the "
            "interview now.",
        )

    @function_tool
    async def confirm_end_interview(self, context: RunContext) -> str:
        """The candidate confirmed they want to end the interview now."""
        return self._ask(context, "confirm_end_interview", "Ended.")

    @function_tool
    async def cancel_end_interview(self, context: RunContext) -> str:
        """The candidate changed their mind and wants to continue the interview."""
        rt = self.runtime
        question = rt.last_question or "the current question"
        return self._ask(
            context,
            "cancel_end_interview",
            f"Continuing. Say so in a few words and repeat this question: {question}",
        )

    @function_tool
    async def repeat_question(self, context: RunContext) -> str:
        """The candidate asked to hear the question again, or to have it rephrased."""
        rt = self.runtime
        question = rt.last_question or "the current question"
        return self._ask(
            context, "repeat_question",
            f"Repeat or rephrase this question: {question}",
        )  # fmt: skip

    @function_tool
    async def give_candidate_time(self, context: RunContext) -> str:
        """The candidate asked for a moment to think before answering."""
        return self._ask(
            context, "give_candidate_time",
            "Tell the candidate to take their time, in a few words, then wait.",
        )  # fmt: skip

    @function_tool
    async def finish_stage(self, context: RunContext) -> str:
        """The goal of the current stage is covered (for example the candidate has no more
        questions). The interview system may refuse if it is too early."""
        return self._ask(context, "finish_stage", "Stage finished.")

    def _ask(self, context: RunContext, tool: Request, done: str) -> str:
        """Pass the request to the interview (which keeps the typed outcome) and word
        the outcome for the model."""
        rt = self.runtime
        return describe(rt.request(context.function_call.call_id, tool), rt, done)
