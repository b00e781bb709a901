"""The offline interviewer, as a LiveKit language model.

It needs no network and no key. It reads the interview's state (the same machine the
online interviewer uses), recognises spoken requests with :mod:`stages.offline` and
answers them with the same function tools the online model calls, and otherwise asks the
next question from the planned question bank. Its follow-ups pick up what the answer
said (:mod:`stages.follow_ups`), and it keeps every question it has asked: no question is
asked twice in one interview, except when the candidate asks to hear it again (a repeat,
a clarification) or a continued interview picks up where it stopped. Because it is an
``llm.LLM``, it runs in a real ``AgentSession``: console, simulate and a dispatched room
all behave the same way.
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
from stages.follow_ups import AskedQuestions, FollowUps, Need
from stages.offline import (
    NON_ANSWER_INTENTS,
    OFFLINE_LINES,
    OFFLINE_QUESTIONS,
    Intent,
    classify,
    is_short_answer,
)

from .local_llm import LocalLLM, Response
from .runtime import InterviewRuntime

OFFLINE_MODEL = "offline-question-bank"

_STORY_PARTS: tuple[Need, ...] = ("action", "result")
"""The parts of a story a follow-up asks for, first missing first."""

_TOOL_FOR_INTENT: dict[Intent, Request] = {
    Intent.SKIP: "skip_stage",
    Intent.END: "end_interview",
    Intent.PAUSE: "pause_interview",
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
        self.asked = AskedQuestions()
        """Every question this interviewer has asked (in a continued interview, those of
        the saved conversation too)."""
        for msg in runtime.transcript.messages:
            if msg.role == "agent":
                self.asked.record(msg.text)
        self._follow_ups = FollowUps(self.asked)
        self._asked: str | None = None
        """The last question this interviewer asked, without its acknowledgement."""
        self._answer = ""
        """The candidate's last answer."""
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
        reply = self._decide(chat_ctx)
        if isinstance(reply, str):
            self.asked.record(reply)
        return reply

    def _decide(self, chat_ctx: llm.ChatContext) -> str | llm.FunctionToolCall:
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
            if rt.resuming:  # the question that was open when the interview stopped
                question = (rt.last_question if rt.resume_repeats else None) or (
                    self._next_question() or ""
                )
                if rt.paused_before:
                    stage = rt.stage.title.lower() if rt.stage else "interview"
                    again = render("say_resume_paused", stage=stage)
                    return f"{again} {question}".strip()
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
        self._answer = said
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
            self._asked = self._fresh("anything_else")
            return f"{OFFLINE_LINES['candidate_question']} {self._asked}"
        if rt.answer_boxed:  # the worker has said its own words: straight to what is next
            if answered.id == stage.id and self._plan_used_up():
                return self._call("finish_stage", {})
            return self._next_question() or ""
        if answered.answers and self._followed_up != rt.last_question:
            line = self._follow_up_for(said, answered)
            if line is not None:
                self._followed_up = rt.last_question
                self._follow_up_line = line
                return self._call("ask_follow_up", {})
        if answered.id == stage.id and self._plan_used_up():
            return self._call("finish_stage", {})
        return self._move_on()

    def _plan_used_up(self) -> bool:
        """The current stage has asked all its planned questions but may ask more: it
        is finished rather than padded with a question about nothing."""
        rt = self.runtime
        stage = rt.stage
        return (
            stage is not None
            and not stage.invites_questions
            and not rt.on_last_stage
            and rt.next_planned_question() is None
        )

    def _follow_up_for(self, said: str, answered: StageDef) -> str | None:
        """The follow-up this answer calls for, if any, naming what the answer said: a
        story that stops before what the candidate did or how it ended gets asked for
        that part; a very short answer for more; a full one that names a skill or tool
        is probed on it (once a stage). ``None`` also when every wording of it has been
        asked already."""
        terms = self.runtime.bank.terms_in(said, skills_only=True)
        if answered.stories and not is_short_answer(said):
            parts = star_components(said)
            missing = [p for p in _STORY_PARTS if not parts[p]]
            need: Need | None = "example" if not is_story(said) else next(iter(missing), None)
            return self._follow_ups.choose(need, said, terms=terms) if need else None
        if is_short_answer(said):
            return self._follow_ups.choose("more", said, terms=terms)
        detail = self._detail(said, answered)
        if detail is not None:
            return self._follow_ups.choose("skill", said, skill=detail)
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
        if name == "skip_stage":
            if refused:
                nudge = rt.stage.nudge if rt.stage is not None else ""
                return f"{OFFLINE_LINES['skip_refused']} {nudge}".strip()
            return f"{OFFLINE_LINES['skip']} {self._next_question() or ''}".strip()
        if name == "end_interview":
            return self._fresh("confirm_end")
        if name == "confirm_end_interview":
            return self._closing_line()
        if name == "cancel_end_interview":
            return OFFLINE_LINES["continue"]
        if name == "not_an_answer":
            return self._after_non_answer(outcome)
        if name == "ask_follow_up":
            if refused:
                return self._move_on()
            line, self._follow_up_line = self._follow_up_line, None
            self._asked = line or self._more()
            return self._asked
        if name == "finish_stage":
            if refused and rt.stage is not None and rt.stage.invites_questions:
                return f"Alright. {self._fresh('anything_else')}"
            return self._move_on()  # (refused because the answer already moved it on)
        return self._open_question()

    def _after_non_answer(self, outcome: ToolOutcome) -> str:
        """The reply to a turn that was not an answer. Only a repeat or a clarification
        asks the open question again; the others go back to it without asking it twice."""
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
            return f"{OFFLINE_LINES['clarify']} {nudge} {self._open_question()}".strip()
        if kind in ("progress", "aside", "moment"):
            return OFFLINE_LINES[kind]
        return f"{OFFLINE_LINES['repeat']} {self._open_question()}".strip()

    def _open_question(self) -> str:
        return self._asked or self.runtime.last_question or self._next_question() or ""

    def _next_question(self) -> str | None:
        rt = self.runtime
        question = rt.next_planned_question()
        stage = rt.stage
        if question is None and stage is not None and stage.invites_questions:
            question = self._fresh("anything_else")
        if question is None:
            question = self._more()
        self._asked = question
        return question

    def _more(self) -> str:
        """Something more about the last answer, never asked before."""
        return self._follow_ups.choose("more", self._answer) or OFFLINE_LINES["tell_more"]

    def _fresh(self, kind: str) -> str:
        """A wording of one of :data:`OFFLINE_QUESTIONS` not asked yet, or once all were,
        the same request said without asking it again."""
        return self.asked.first_fresh(OFFLINE_QUESTIONS[kind]) or OFFLINE_LINES[kind]

    def _closing_line(self) -> str:
        rt = self.runtime
        planned = rt.planned.get(rt.plan[-1].id)
        if planned and planned.questions:
            return planned.questions[0].text
        return OFFLINE_LINES["goodbye"]
