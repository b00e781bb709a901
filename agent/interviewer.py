"""The LiveKit ``Agent`` that conducts the interview.

The model writes the words; the state machine decides the stage. Each LLM call first
commits the candidate's pending turn to the machine, then sees only the bounded context
the runtime builds. Spoken requests (skip, end) and turns that are not an answer (repeat,
clarify, a hint, "I don't know", "how am I doing?", an aside, "give me a moment") arrive
as function-tool calls, as does a follow-up the model wants to ask; each tool only asks
the machine, which may refuse.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator

from livekit import rtc
from livekit.agents import Agent, ModelSettings, RunContext, function_tool, llm, stt
from livekit.agents.voice.speech_handle import SpeechHandle

from interview.record import Request, ToolOutcome
from interview.recordings import AnswerRecorder
from stages.machine import NonAnswer

from .runtime import InterviewRuntime
from .speech_end import SpeechEnd

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
_COMPLETE_REFUSALS = {
    "not_confirmed_yet": _REFUSALS["not_confirmed_yet"],
    "hint_given": "You already gave this question's one hint. Encourage the candidate, in "
    "one sentence, to try with whatever comes to mind.",
    "move_on": "The candidate does not know this one, and that is their answer. Say kindly "
    "that it is fine, then ask the next question.",
    "time_boxed": "No follow-up: the answer ran past its time, and you have already said so. "
    "Ask the next question now, with no comment on the answer or its length.",
    "enough_follow_ups": "No more follow-ups on this question: acknowledge the answer in a "
    "few words and ask the next question.",
}


def describe(outcome: ToolOutcome, runtime: InterviewRuntime, done: str) -> str:
    """What a tool call achieved, as one instruction for the model's next words."""
    if outcome.refused in _COMPLETE_REFUSALS:
        return _COMPLETE_REFUSALS[outcome.refused]
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


async def _recorded(
    audio: AsyncIterable[rtc.AudioFrame], recorder: AnswerRecorder
) -> AsyncIterator[rtc.AudioFrame]:
    """The audio on its way to speech-to-text, a copy of each frame kept for the answers'
    recordings (``feed`` never blocks)."""
    async for frame in audio:
        recorder.feed(bytes(frame.data), frame.sample_rate, frame.num_channels, time.time())
        yield frame


def _answers_the_candidate(chat_ctx: llm.ChatContext) -> bool:
    """This model call starts a reply (its last item is not a tool's result)."""
    last = chat_ctx.items[-1] if chat_ctx.items else None
    return last is None or last.type not in ("function_call", "function_call_output")


class Interviewer(Agent):
    def __init__(self, runtime: InterviewRuntime, recorder: AnswerRecorder | None = None) -> None:
        super().__init__(
            instructions=runtime.instructions(),
            chat_ctx=runtime.restored_chat() if runtime.resuming else None,
        )
        self.runtime = runtime
        self.recorder = recorder
        """Keeps the answers' audio when the candidate agreed (``record_audio``)."""
        self.speech_end = SpeechEnd()
        self._greeting: SpeechHandle | None = None
        self._entered = asyncio.Event()

    def stt_node(
        self, audio: AsyncIterable[rtc.AudioFrame], model_settings: ModelSettings
    ) -> AsyncIterable[stt.SpeechEvent]:
        if self.recorder is not None:
            audio = _recorded(audio, self.recorder)
        return Agent.default.stt_node(self, self.speech_end.audio(audio), model_settings)

    def end_speech(self) -> None:
        """The candidate's audio has stopped for good (they left): have speech-to-text
        finish the utterance it holds, so its final words come."""
        self.speech_end.request()

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
        if rt.leaving:  # their last words came after they hung up: nobody to answer
            return
        if _answers_the_candidate(chat_ctx):  # not a tool step's continuation
            for sentence in rt.prefaces():  # the worker's own words, said first
                yield sentence + " "
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
    async def pause_interview(self, context: RunContext) -> str:
        """The candidate asked to pause the interview and continue it later (not to end
        it): it is saved where it stands, and they can come back to the same point."""
        return self._ask(context, "pause_interview", "Paused and saved.")

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
    async def not_an_answer(self, context: RunContext, kind: NonAnswer) -> str:
        """The candidate's last turn was not an answer to your question. Call this before
        you reply whenever that is so, even if a new stage has just begun; the question
        then stays open and you will be told what to say.

        Args:
            kind: repeat (wants to hear the question again), clarify (does not understand
                it, asks what you mean), hint (asks for a hint or help), dont_know (says
                they don't know or can't think of anything), progress (asks how they are
                doing or for a score), aside (asks you something else, or talks about
                something unrelated), moment (asks for time to think).
        """
        rt = self.runtime
        question = rt.last_question or "the current question"
        return self._ask(context, "not_an_answer", _non_answer_reply(rt, kind, question), kind)

    @function_tool
    async def ask_follow_up(self, context: RunContext) -> str:
        """You want to ask a follow-up about the answer the candidate just gave (a detail
        they mentioned, a part of their story that is missing, why they chose what they
        did) instead of moving to the next question. The follow-up does not use up one
        of the stage's questions."""
        return self._ask(
            context,
            "ask_follow_up",
            "Ask one short follow-up question about a specific detail the candidate just "
            "said. Stay on this topic.",
        )

    @function_tool
    async def finish_stage(self, context: RunContext) -> str:
        """The goal of the current stage is covered (for example the candidate has no more
        questions). The interview system may refuse if it is too early."""
        return self._ask(context, "finish_stage", "Stage finished.")

    def _ask(
        self, context: RunContext, tool: Request, done: str, kind: NonAnswer | None = None
    ) -> str:
        """Pass the request to the interview (which keeps the typed outcome) and word
        the outcome for the model."""
        rt = self.runtime
        return describe(rt.request(context.function_call.call_id, tool, kind), rt, done)


def _non_answer_reply(rt: InterviewRuntime, kind: NonAnswer, question: str) -> str:
    """What the interviewer says to a turn that was not an answer."""
    planned = rt.open_question()
    nudge = f" A nudge you may use: {planned.hint}" if planned and planned.hint else ""
    return {
        "repeat": f"Say the question again, nearly word for word: {question}",
        "clarify": "Rephrase the question more simply, in one short sentence: the same "
        f"question, with no hint at the answer. The question: {question}",
        "hint": "Give one short nudge: a direction to think in, never the answer or the "
        f"points you listen for. Then invite them to try. The question: {question}{nudge}",
        "dont_know": "Reassure them in a few words and give one gentle nudge (a simpler "
        "angle, or a related experience they may have), then let them try again. The "
        f"question: {question}{nudge}",
        "progress": "Give no score and no judgement. Say kindly, in one sentence, that "
        f"detailed feedback comes at the end, then return to the question: {question}",
        "aside": "Reply in one short sentence (you cannot speak for a real employer; there "
        "is time for the candidate's questions near the end), then return to the "
        f"question: {question}",
        "moment": "Tell the candidate to take their time, in a few words, then wait.",
    }[kind]
