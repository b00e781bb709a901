"""The offline interviewer, as a LiveKit language model.

It needs no network and no key. It reads the interview's state (the same machine the
online interviewer uses), recognises spoken requests with :mod:`stages.offline` and
answers them with the same function tools the online model calls, and otherwise asks the
next question from the planned question bank. Because it is an ``llm.LLM``, it runs in a
real ``AgentSession``: console, simulate and a dispatched room all behave the same way.
"""

from __future__ import annotations

import itertools

from livekit.agents import llm

from interview.record import Request, ToolOutcome
from prompts import render
from stages.offline import OFFLINE_LINES, Intent, classify, is_short_answer

from .local_llm import LocalLLM, Response
from .runtime import InterviewRuntime

OFFLINE_MODEL = "offline-question-bank"

_TOOL_FOR_INTENT: dict[Intent, Request] = {
    Intent.SKIP: "skip_stage",
    Intent.END: "end_interview",
    Intent.CONFIRM: "confirm_end_interview",
    Intent.DENY: "cancel_end_interview",
    Intent.REPEAT: "repeat_question",
    Intent.MOMENT: "give_candidate_time",
    Intent.NO_QUESTIONS: "finish_stage",
}


class OfflineInterviewerLLM(LocalLLM):
    def __init__(self, runtime: InterviewRuntime) -> None:
        super().__init__()
        self.runtime = runtime
        self._calls = itertools.count(1)
        self._acks = itertools.count()
        self._follow_ups = itertools.count()
        self._asked: str | None = None
        """The last question this interviewer asked, without its acknowledgement."""

    @property
    def model(self) -> str:
        return OFFLINE_MODEL

    @property
    def provider(self) -> str:
        return "offline"

    async def respond(self, chat_ctx: llm.ChatContext) -> Response:
        return self.decide(chat_ctx)

    # ------------------------------------------------------------ decisions

    def decide(self, chat_ctx: llm.ChatContext) -> str | llm.FunctionToolCall:
        rt = self.runtime
        if rt.terminal:
            return self._closing_line() if rt.ended_by == "candidate_request" else ""
        items = [
            i
            for i in chat_ctx.items
            if i.type in ("message", "function_call_output")
            and not (i.type == "message" and i.role in ("system", "developer"))
        ]
        last = items[-1] if items else None
        if last is not None and last.type == "function_call_output":
            outcome = rt.tool_outcomes.get(last.call_id) or ToolOutcome(last.name)
            return self._after_tool(outcome)
        if last is None or last.type != "message" or last.role != "user":
            if rt.resuming:
                question = (rt.last_question if rt.resume_repeats else None) or (
                    self._next_question() or ""
                )
                return f"{render('say_resume')} {question}".strip()
            return self._next_question() or ""
        said = " ".join(
            (i.text_content or "")
            for i in itertools.takewhile(
                lambda i: i.type == "message" and i.role == "user", reversed(items)
            )
        )
        invites = rt.stage is not None and rt.stage.invites_questions
        intent = classify(said, pending_end=rt.pending_end, invites_questions=invites)
        if intent is not Intent.ANSWER:
            return llm.FunctionToolCall(
                name=_TOOL_FOR_INTENT[intent],
                arguments="{}",
                call_id=f"offline_{next(self._calls)}",
            )
        return self._after_answer(said)

    def _after_answer(self, said: str) -> str:
        rt = self.runtime
        stage = rt.stage
        if stage is None:
            return ""
        same_stage = rt.last_agent_stage == stage.id
        if stage.invites_questions and same_stage:
            return f"{OFFLINE_LINES['candidate_question']} {OFFLINE_LINES['anything_else']}"
        if (
            same_stage
            and stage.answers
            and is_short_answer(said)
            and rt.questions_asked < stage.max_questions
        ):
            self._asked = rt.bank.phrase("follow_up", next(self._follow_ups))
            return self._asked
        nxt = self._next_question()
        if rt.on_last_stage and nxt:
            return nxt  # the closing words, without an acknowledgement first
        ack = rt.bank.phrase("acknowledgements", next(self._acks))
        return f"{ack} {nxt}" if nxt else ack

    def _after_tool(self, outcome: ToolOutcome) -> str:
        rt = self.runtime
        name, refused = outcome.tool, outcome.refused is not None
        question = self._asked or rt.last_question or self._next_question() or ""
        if name == "skip_stage":
            if refused:
                return f"{OFFLINE_LINES['skip_refused']} {question}"
            return f"{OFFLINE_LINES['skip']} {self._next_question() or ''}".strip()
        if name == "end_interview":
            return OFFLINE_LINES["confirm_end"]
        if name == "confirm_end_interview":
            return self._closing_line()
        if name == "cancel_end_interview":
            return f"{OFFLINE_LINES['continue']} {question}".strip()
        if name == "repeat_question":
            return f"{OFFLINE_LINES['repeat']} {question}".strip()
        if name == "give_candidate_time":
            return OFFLINE_LINES["moment"]
        if name == "finish_stage":
            if refused:
                return f"Alright. {OFFLINE_LINES['anything_else']}"
            nxt = self._next_question() or ""
            if rt.on_last_stage:
                return nxt
            ack = rt.bank.phrase("acknowledgements", next(self._acks))
            return f"{ack} {nxt}".strip()
        return question

    def _next_question(self) -> str | None:
        rt = self.runtime
        question = rt.next_planned_question()
        stage = rt.stage
        if question is None and stage is not None and stage.invites_questions:
            question = OFFLINE_LINES["anything_else"]
        if question is None:
            question = rt.bank.phrase("follow_up", next(self._follow_ups))
        self._asked = question
        return question

    def _closing_line(self) -> str:
        rt = self.runtime
        planned = rt.planned.get(rt.plan[-1].id)
        if planned and planned.questions:
            return planned.questions[0].text
        return OFFLINE_LINES["goodbye"]
