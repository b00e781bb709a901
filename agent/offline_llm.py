"""The offline interviewer, as a LiveKit language model.

It needs no network and no key. It reads the interview's state (the same machine the
online interviewer uses), recognises spoken requests with :mod:`stages.offline` and
answers them with the same function tools the online model calls, and otherwise asks the
next question from the planned question bank. Because it is an ``llm.LLM``, it runs in a
real ``AgentSession``: console, simulate and a dispatched room all behave the same way.
"""

from __future__ import annotations

import itertools
import json

from livekit.agents import llm

from feedback.metrics import is_story, star_components
from interview.record import Request, ToolOutcome
from prompts import render
from stages.bank import StageQuestions
from stages.definitions import StageDef
from stages.offline import NON_ANSWER_INTENTS, OFFLINE_LINES, Intent, classify, is_short_answer

from .local_llm import LocalLLM, Response
from .runtime import InterviewRuntime

OFFLINE_MODEL = "offline-question-bank"

_TOOL_FOR_INTENT: dict[Intent, Request] = {
    Intent.SKIP: "skip_stage",
    Intent.END: "end_interview",
    Intent.CONFIRM: "confirm_end_interview",
    Intent.DENY: "cancel_end_interview",
    Intent.NO_QUESTIONS: "finish_stage",
    **dict.fromkeys(NON_ANSWER_INTENTS, "not_an_answer"),
}


class OfflineInterviewerLLM(LocalLLM):
    def __init__(self, runtime: InterviewRuntime) -> None:
        super().__init__()
        self.runtime = runtime
        self._calls = itertools.count(1)
        self._acks = itertools.count()
        self._follow_ups = itertools.count()
        self._probes = itertools.count()
        self._asked: str | None = None
        """The last question this interviewer asked, without its acknowledgement."""
        self._followed_up: str | None = None
        """The question last followed up (one follow-up per question)."""
        self._follow_up_line: str | None = None
        self._probed_stages: set[str] = set()

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
        answered = rt.stage_def_of(last.id) or rt.stage
        invites = answered is not None and answered.invites_questions
        intent = classify(said, pending_end=rt.pending_end, invites_questions=invites)
        if intent is not Intent.ANSWER:
            kind = NON_ANSWER_INTENTS.get(intent)
            return self._call(_TOOL_FOR_INTENT[intent], {"kind": kind} if kind else {})
        return self._after_answer(said, answered)

    def _call(self, name: Request, arguments: dict[str, str]) -> llm.FunctionToolCall:
        return llm.FunctionToolCall(
            name=name, arguments=json.dumps(arguments), call_id=f"offline_{next(self._calls)}"
        )

    def _after_answer(self, said: str, answered: StageDef | None) -> str | llm.FunctionToolCall:
        rt = self.runtime
        stage = rt.stage
        if stage is None or answered is None:
            return ""
        if answered.invites_questions and answered.id == stage.id:
            return f"{OFFLINE_LINES['candidate_question']} {OFFLINE_LINES['anything_else']}"
        if answered.answers and self._followed_up != rt.last_question:
            line = self._follow_up_for(said, answered)
            if line is not None:
                self._followed_up = rt.last_question
                self._follow_up_line = line
                return self._call("ask_follow_up", {})
        return self._move_on()

    def _follow_up_for(self, said: str, answered: StageDef) -> str | None:
        """The follow-up this answer calls for, if any: a story that stops before what
        the candidate did or how it ended gets asked for that part; a very short answer
        for more; a full one that names a skill or tool is probed on it (once a stage)."""
        bank = self.runtime.bank
        if answered.stories and not is_short_answer(said):
            if not is_story(said):
                return OFFLINE_LINES["star_example"]
            parts = star_components(said)
            for part in ("action", "result"):
                if not parts[part]:
                    return OFFLINE_LINES[f"star_{part}"]
            return None
        if is_short_answer(said):
            return bank.phrase("follow_up", next(self._follow_ups))
        detail = self._detail(said, answered)
        if detail is not None:
            return bank.phrase("probe", next(self._probes)).replace("{detail}", detail)
        return None

    def _move_on(self, lead: str | None = None) -> str:
        rt = self.runtime
        nxt = self._next_question()
        if rt.on_last_stage and nxt:
            return nxt  # the closing words, without an acknowledgement first
        ack = lead or rt.bank.phrase("acknowledgements", next(self._acks))
        return f"{ack} {nxt}" if nxt else ack

    def _detail(self, said: str, answered: StageDef) -> str | None:
        """A skill or tool the candidate named in a full answer, to probe (a strong answer
        is followed up too; at most once per stage)."""
        if not answered.probe_details or answered.id in self._probed_stages:
            return None
        rt = self.runtime
        # not the skill a planned question of this stage was about (asked already)
        subjects = (
            {k for q in rt.planned.get(answered.id, StageQuestions()).questions for k in q.keywords}
            if answered.questions.personal
            else set()
        )
        terms = [t for t in rt.bank.terms_in(said, skills_only=True) if t.lower() not in subjects]
        if not terms:
            return None
        self._probed_stages.add(answered.id)
        return terms[0]

    def _after_tool(self, outcome: ToolOutcome) -> str:
        rt = self.runtime
        name, refused = outcome.tool, outcome.refused
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
        if name == "not_an_answer":
            return self._after_non_answer(outcome, question)
        if name == "ask_follow_up":
            if refused:
                return self._move_on()
            line, self._follow_up_line = self._follow_up_line, None
            self._asked = line or rt.bank.phrase("follow_up", next(self._follow_ups))
            return self._asked
        if name == "finish_stage":
            if refused and rt.stage is not None and rt.stage.invites_questions:
                return f"Alright. {OFFLINE_LINES['anything_else']}"
            return self._move_on()  # (refused because the answer already moved it on)
        return question

    def _after_non_answer(self, outcome: ToolOutcome, question: str) -> str:
        rt = self.runtime
        kind, refused = outcome.kind, outcome.refused
        open_q = rt.open_question()
        nudge = (open_q.hint if open_q and open_q.hint else None) or (
            rt.stage.nudge if rt.stage is not None else ""
        )
        if kind == "dont_know":
            if refused == "move_on":
                return self._move_on(OFFLINE_LINES["move_on"])
            return f"{OFFLINE_LINES['dont_know']} {nudge}"
        if kind == "hint":
            if refused == "hint_given":
                return OFFLINE_LINES["hint_given"]
            return f"{OFFLINE_LINES['hint']} {nudge}"
        if kind == "clarify":
            return f"{OFFLINE_LINES['clarify']} {nudge} {question}".strip()
        if kind == "progress":
            return f"{OFFLINE_LINES['progress']} {question}".strip()
        if kind == "aside":
            return f"{OFFLINE_LINES['aside']} {question}".strip()
        if kind == "moment":
            return OFFLINE_LINES["moment"]
        return f"{OFFLINE_LINES['repeat']} {question}".strip()

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
