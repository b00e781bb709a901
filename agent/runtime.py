"""One interview in progress: the state machine, the transcript and the LLM's view.

This is the seam between LiveKit and the plain-Python interview: it turns LiveKit chat
items and speech handles into machine events (idempotently) and builds the bounded
context each LLM call sees. It holds no connection and does no I/O.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from livekit.agents import llm

from persistence import InterviewIdentity, InterviewRecord
from prompts import render
from prompts.builder import interviewer_instructions, stage_summaries
from stages.bank import Question, QuestionBank, StageQuestions
from stages.definitions import PlanError, build_plan
from stages.machine import Effect, InterviewMachine, Limits
from stages.metadata import InterviewMetadata
from stages.transcript import Transcript, iso, parse_iso

logger = logging.getLogger("interview.runtime")

MAX_CONTEXT_ITEMS = 12
"""Most chat items (messages, tool calls) of the current stage the LLM sees."""


@dataclass(slots=True)
class TurnLatency:
    e2e_s: float | None
    llm_ttft_s: float | None
    tts_ttfb_s: float | None
    end_of_turn_delay_s: float | None


def agent_spoke(items: Sequence[llm.ChatItem]) -> bool:
    """A reply said something: one of its items is an assistant message with text."""
    return any(
        i.type == "message" and i.role == "assistant" and (i.text_content or "").strip()
        for i in items
    )


class InterviewRuntime:
    def __init__(
        self,
        md: InterviewMetadata,
        *,
        room_name: str | None = None,
        identity: InterviewIdentity | None = None,
        clock: Callable[[], float] = time.time,
        bank: QuestionBank | None = None,
        limits: Limits | None = None,
        stored: tuple[Sequence[Question], Sequence[Question]] = ((), ()),
    ) -> None:
        if identity is None:
            if room_name is None:
                raise ValueError("an interview needs a room name or an identity")
            identity = InterviewIdentity.new(room_name)
        self.identity = identity
        self.md = md
        self.room_name = identity.room_name
        self.clock = clock
        self.bank = bank or QuestionBank.bundled()
        self.limits = limits or Limits(max_duration_s=md.max_duration_s)
        self.machine = InterviewMachine(md.plan, clock=clock, limits=self.limits)
        self.transcript = Transcript()
        self.planned: dict[str, StageQuestions] = self.bank.plan_questions(
            md, seed=identity.interview_id, extra_technical=stored[0], extra_behavioral=stored[1]
        )
        self.carried: dict[str, Any] = {}
        """What the jobs before this one recorded (a continued interview): events,
        errors, usage, and when each continuation happened."""
        self.resuming = False
        """The next reply is the first of a continued interview (apologise, go on)."""
        self.resume_repeats = False
        """... and it repeats the last question (the candidate had not answered it)."""
        self.latencies: list[TurnLatency] = []
        self.errors: list[dict[str, str]] = []
        self._speech_lost = False
        self._stage_of_item: dict[str, str] = {}
        self._ignored_speech: set[str] = set()
        self._listeners: list[Callable[[list[Effect]], None]] = []
        self._message_listeners: list[Callable[[str], None]] = []
        self.last_question: str | None = None
        """The text of the last agent turn that counted as a question (for repeats)."""

    # ------------------------------------------------------------ continuing

    def resume_from(self, saved: InterviewRecord) -> None:
        """Continue the interview ``saved`` (its last checkpoint or row): its transcript,
        its stage records and plan, its clock; the next reply picks up where it stopped."""
        md = saved.metadata if isinstance(saved.metadata, dict) else {}
        conversation = saved.conversation if isinstance(saved.conversation, dict) else {}
        plan_ids = md.get("plan")
        try:
            plan = build_plan(plan_ids) if isinstance(plan_ids, list) else self.md.plan
        except PlanError:
            plan = self.md.plan
        self.md.plan = plan
        self.transcript = Transcript.restored(conversation.get("messages"))
        last = self.transcript.messages[-1] if self.transcript.messages else None
        awaiting = last is None or last.role == "agent" or last.request
        self.machine = InterviewMachine.resume(
            plan,
            conversation.get("stages") or [],
            started_at=parse_iso(md.get("started_at")) or self.clock(),
            clock=self.clock,
            limits=self.limits,
            awaiting_answer=awaiting,
        )
        for msg in self.transcript.messages:
            for item_id in msg.item_ids:
                self._stage_of_item[item_id] = msg.stage or ""
        self.last_question = next(
            (
                m.text
                for m in reversed(self.transcript.messages)
                if m.role == "agent" and m.question
            ),
            None,
        )
        previous = md.get("continued") if isinstance(md.get("continued"), list) else []
        self.carried = {
            "events": md.get("events") if isinstance(md.get("events"), list) else [],
            "errors": md.get("errors") if isinstance(md.get("errors"), list) else [],
            "usage": md.get("usage") if isinstance(md.get("usage"), dict) else {},
            "continued": [
                *previous,
                {"at": iso(self.clock()), "from_revision": saved.revision,
                 "generation": self.identity.generation},
            ],
        }  # fmt: skip
        self.resume_repeats = awaiting
        self.resuming = True

    def restored_chat(self) -> llm.ChatContext:
        """The current stage's saved exchange, for the model of a continued interview."""
        stage = self.machine.current.id if self.machine.current else None
        items: list[llm.ChatItem] = [
            llm.ChatMessage(
                id=msg.item_ids[0],
                role="assistant" if msg.role == "agent" else "user",
                content=[msg.text],
            )
            for msg in self.transcript.messages
            if msg.stage == stage
        ]
        return llm.ChatContext(items[-MAX_CONTEXT_ITEMS:])

    def resume_note(self) -> str:
        """What the first reply of a continued interview must do."""
        question = self.last_question or "the current question"
        return render("resume", question=question)

    # ------------------------------------------------------------ effects

    def on_effects(self, listener: Callable[[list[Effect]], None]) -> None:
        self._listeners.append(listener)

    def on_message(self, listener: Callable[[str], None]) -> None:
        """Called with the role ("agent" or "candidate") after every committed message."""
        self._message_listeners.append(listener)

    def apply(self, effects: list[Effect]) -> list[Effect]:
        if effects:
            for listener in self._listeners:
                listener(effects)
        return effects

    # ------------------------------------------------------------ turns

    def commit_candidate_turns(self, chat_ctx: llm.ChatContext) -> list[Effect]:
        """Commit the candidate's pending turn seen by an LLM call (idempotent).

        The pending turn is every user message after the last assistant message. The
        same message seen again (a tool step, a preemptive generation reused) is a no-op.
        """
        pending: list[llm.ChatMessage] = []
        for item in reversed(chat_ctx.items):
            if item.type != "message":
                continue
            if item.role == "assistant":
                break
            if item.role == "user":
                pending.append(item)
        effects: list[Effect] = []
        current = self.machine.current
        for msg in reversed(pending):
            if msg.id in self._stage_of_item:
                continue
            if current is not None:
                self._stage_of_item[msg.id] = current.id
            effects += self.machine.candidate_turn(msg.id)
        return self.apply(effects)

    def control(self, effects: list[Effect]) -> list[Effect]:
        """A spoken request was handled: the candidate's last turn was not an answer."""
        self.transcript.mark_last_candidate_request()
        return self.apply(effects)

    def ignore_speech(self, speech_id: str) -> None:
        """A speech that is not an interview turn (a silence prompt, a farewell)."""
        self._ignored_speech.add(speech_id)

    def speech_done(self, speech_id: str, items: list[llm.ChatItem]) -> list[Effect]:
        """An agent reply (all its tool steps included) has finished playing."""
        if speech_id in self._ignored_speech or not agent_spoke(items):
            return []
        self.resuming = False
        m = self.machine
        record, before = m.record, m.record.questions_asked
        effects = self.apply(m.agent_turn(speech_id))
        self.transcript.mark_agent_items(
            {i.id for i in items}, question=record.questions_asked > before
        )
        if record.questions_asked > before:
            self.last_question = " ".join(
                (i.text_content or "").strip()
                for i in items
                if i.type == "message" and i.role == "assistant"
            ).strip()
        return effects

    def item_added(self, item: llm.ChatItem) -> None:
        """A message was committed to the session history."""
        if item.type != "message" or item.role not in ("user", "assistant"):
            return
        text = item.text_content or ""
        current = self.machine.current
        stage = self._stage_of_item.get(item.id) or (current.id if current else None)
        if stage is not None:
            self._stage_of_item.setdefault(item.id, stage)
        metrics = item.metrics or {}
        started = metrics.get("started_speaking_at") or item.created_at
        ended = metrics.get("stopped_speaking_at") or started
        msg = self.transcript.add(
            item_id=item.id,
            role="agent" if item.role == "assistant" else "candidate",
            text=text,
            stage=stage,
            started_at=float(started),
            ended_at=float(ended),
            interrupted=bool(item.interrupted),
        )
        role = "agent" if item.role == "assistant" else "candidate"
        if msg is not None and role == "candidate" and self._speech_lost:
            msg.transcription_gap = True
            self._speech_lost = False
        for listener in self._message_listeners:
            listener(role)
        if item.role == "assistant":
            self.latencies.append(
                TurnLatency(
                    e2e_s=metrics.get("e2e_latency"),
                    llm_ttft_s=metrics.get("llm_node_ttft"),
                    tts_ttfb_s=metrics.get("tts_node_ttfb"),
                    end_of_turn_delay_s=None,
                )
            )
        elif (delay := metrics.get("end_of_turn_delay")) is not None and self.latencies:
            self.latencies[-1].end_of_turn_delay_s = delay

    def provider_error(
        self, source: str, kind: str, *, recoverable: bool, speech_lost: bool = False
    ) -> None:
        """A provider failed (recorded in the interview's metadata). ``speech_lost``: the
        speech-to-text stream broke while the candidate was speaking, so the turn being
        spoken is missing words; it is marked when it is committed."""
        self.errors.append(
            {"source": source, "type": kind, "recoverable": str(recoverable),
             "at": iso(self.clock()) or ""}
        )  # fmt: skip
        self._speech_lost = self._speech_lost or speech_lost

    def state(self) -> dict[str, object]:
        """The state published to the candidate's client (DESIGN.md client protocol)."""
        return {"interview_id": self.identity.interview_id, **self.machine.snapshot()}

    # ------------------------------------------------------------ LLM view

    def instructions(self) -> str:
        m = self.machine
        stage = m.current or m.plan[0]
        record = m.stages[m.stage_index]
        text = interviewer_instructions(
            self.md,
            stage,
            record,
            self.planned.get(stage.id, StageQuestions()).questions,
            stage_summaries(self.transcript.messages, m.stages, m.stage_index),
            farewell=m.terminal and m.ended_by == "candidate_request",
        )
        return f"{text}\n\n{self.resume_note()}" if self.resuming else text

    def llm_context(self, chat_ctx: llm.ChatContext) -> llm.ChatContext:
        """The bounded context for one LLM call: instructions + this stage's exchange."""
        current = self.machine.current
        current_id = current.id if current else None
        items = [
            i
            for i in chat_ctx.items
            if i.type in ("message", "function_call", "function_call_output")
            and not (i.type == "message" and i.role in ("system", "developer"))
        ]
        kept: list[llm.ChatItem] = []
        messages = 0
        for item in reversed(items):
            if len(kept) >= MAX_CONTEXT_ITEMS:
                break
            tag = self._stage_of_item.get(item.id)
            if tag is not None and tag != current_id and messages >= 2:
                break
            kept.append(item)
            if item.type == "message":
                messages += 1
        kept.reverse()
        calls = {i.call_id for i in kept if i.type == "function_call"}
        kept = [i for i in kept if i.type != "function_call_output" or i.call_id in calls]
        system = llm.ChatMessage(role="system", content=[self.instructions()])
        return llm.ChatContext([system, *kept])

    # ------------------------------------------------------------ helpers for the offline LLM

    def snapshot(self) -> InterviewRuntime:
        """A copy to build rows from off the event loop: the machine deep-copied, the
        transcript and lists copied, everything read-only shared."""
        snap = copy.copy(self)
        snap.machine = copy.deepcopy(self.machine)
        snap.transcript = Transcript()
        snap.transcript.messages = [copy.copy(m) for m in self.transcript.messages]
        snap.latencies = list(self.latencies)
        snap.errors = list(self.errors)
        return snap

    @property
    def last_agent_stage(self) -> str | None:
        for msg in reversed(self.transcript.messages):
            if msg.role == "agent":
                return msg.stage
        return None

    def next_planned_question(self) -> str | None:
        m = self.machine
        stage = m.current
        if stage is None:
            return None
        qs = self.planned.get(stage.id, StageQuestions()).questions
        asked = m.stages[m.stage_index].questions_asked
        if asked < len(qs):
            return qs[asked].text
        return None
