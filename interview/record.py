"""One interview in progress, as plain data: the state machine, the transcript, what the
language model is told, latencies and errors.

The LiveKit layer (``agent/runtime.py``) turns what the session delivers into the plain
events below (a candidate turn committed, a message recorded, a reply finished); the
row building, the saving and the assessment read this record and nothing of LiveKit.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from feedback.cues import answer_cues
from feedback.metrics import keyword_coverage, words
from feedback.report import answer_pairs
from persistence import InterviewIdentity, InterviewRecord
from prompts import render
from prompts.builder import Adjustment, interviewer_instructions, stage_summaries
from stages.bank import Question, QuestionBank, StageQuestions
from stages.definitions import PlanError, StageDef, build_plan
from stages.machine import (
    Effect,
    Ended,
    EndedBy,
    InterviewMachine,
    Limits,
    NonAnswer,
    Rejected,
    SilencePrompt,
    StageChanged,
)
from stages.metadata import InterviewMetadata
from stages.text import clean_text, seconds
from stages.timebox import answer_limit, interjection
from stages.transcript import Message, Role, Transcript, iso, parse_iso

from .cost import carried_items
from .spending import SpendingMeter, usd

SECONDS_PER_SPOKEN_WORD = 0.35
"""About how long the interviewer's voice takes per word (roughly 170 words a minute)."""
STRONG_ANSWER_WORDS = 40
THIN_ANSWER_WORDS = 12
DIFFICULTY_ORDER = ("hard", "medium", "easy")

Request = Literal[
    "skip_stage",
    "end_interview",
    "confirm_end_interview",
    "cancel_end_interview",
    "not_an_answer",
    "ask_follow_up",
    "finish_stage",
    "pause_interview",
]
"""What the interviewer model may ask of the interview (its tools). Each is one machine
event. ``skip_stage``, the end requests and ``not_an_answer`` mean the candidate's last
turn was a request, not an answer; ``ask_follow_up`` and ``finish_stage`` are the
interviewer's own judgement about an answer."""
REQUESTS: tuple[Request, ...] = get_args(Request)
_ANSWER_STANDS: frozenset[Request] = frozenset({"ask_follow_up", "finish_stage"})


def _event(m: InterviewMachine, tool: Request, kind: NonAnswer | None) -> list[Effect]:
    match tool:
        case "skip_stage":
            return m.skip("spoken")
        case "end_interview":
            return m.request_end()
        case "confirm_end_interview":
            return m.confirm_end()
        case "cancel_end_interview":
            return m.cancel_end()
        case "not_an_answer":
            return m.not_an_answer(kind or "aside")
        case "ask_follow_up":
            return m.follow_up()
        case "pause_interview":
            return m.pause()
        case "finish_stage":
            return m.finish_stage()


SPEECH_LOST_WINDOW_S = 3.0
"""A speech-to-text stream that fails this soon after the candidate stopped speaking may
not have sent the final words of what it heard."""


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What a request the model made on the candidate's behalf (a tool call) achieved,
    as data: the offline interviewer reads this, the online model reads its wording."""

    tool: str
    kind: NonAnswer | None = None
    """For ``not_an_answer``: which kind of turn it was."""
    refused: str | None = None
    """The machine's reason when it refused (``not_skippable``, ``one_per_turn``, ...)."""
    stage_changed: bool = False
    ended: bool = False

    @classmethod
    def of(cls, tool: str, effects: Sequence[Effect], kind: NonAnswer | None = None) -> ToolOutcome:
        refused = next((e.reason for e in effects if isinstance(e, Rejected)), None)
        return cls(
            tool=tool,
            kind=kind,
            refused=refused,
            stage_changed=any(isinstance(e, StageChanged) for e in effects),
            ended=any(isinstance(e, Ended) for e in effects),
        )


@dataclass(slots=True)
class TurnLatency:
    e2e_s: float | None
    llm_ttft_s: float | None
    tts_ttfb_s: float | None
    end_of_turn_delay_s: float | None


def _copy_message(m: Message) -> Message:
    out = copy.copy(m)
    out.parts, out.drafts, out.item_ids = dict(m.parts), set(m.drafts), list(m.item_ids)
    return out


class Interview:
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
        self.last_question: str | None = None
        """The text of the last agent turn that counted as a question (for repeats)."""
        self.tool_outcomes: dict[str, ToolOutcome] = {}
        """What each tool call achieved, by call id."""
        self._speech_lost = False
        self._candidate_speaking = False
        self._candidate_quiet_at: float | None = None
        self._played: dict[str, float] = {}
        """How long each cut-off interviewer message played (seconds)."""
        self._answer_goes_on = False
        """The interviewer's reply was cut off by the candidate going on: their next words
        continue the answer (one message, one answer)."""
        self._stage_of_turn: dict[str, str] = {}
        self.leaving = False
        """The candidate left the room for good; the interview has not been told yet
        (their last words are being waited for): no reply is wanted."""
        self._ignored_replies: set[str] = set()
        self._prefaces: list[str] = []
        """Sentences the interviewer says, word for word, before its next reply."""
        self._answer_started_at: float | None = None
        """When the candidate began speaking to the question on the table (a voice
        interview: the answer's time limit counts from there)."""
        self._boxed_preface: str | None = None
        self.timed = False
        """A voice interview (answers have a length in time; set by the session)."""
        self.paused_before = False
        """This job continues an interview the candidate paused (:meth:`resume_from`)."""
        self.spending = SpendingMeter(cap_usd=md.max_cost_usd, source=md.cost_cap_source)
        """What the interview has cost so far against the candidate's cap (the session
        gives it the price table and the usage as it grows)."""
        self._cued: set[tuple[int, int]] = set()
        self._listeners: list[Callable[[list[Effect]], None]] = []
        self._message_listeners: list[Callable[[str], None]] = []

    # ------------------------------------------------------------ effects

    def on_effects(self, listener: Callable[[list[Effect]], None]) -> None:
        self._listeners.append(listener)

    def on_message(self, listener: Callable[[str], None]) -> None:
        """Called with the role ("agent" or "candidate") after every recorded message."""
        self._message_listeners.append(listener)

    def apply(self, effects: list[Effect]) -> list[Effect]:
        if effects:
            for listener in self._listeners:
                listener(effects)
        return effects

    # ------------------------------------------------------------ turns (plain events)

    def candidate_turn(
        self,
        turn_id: str,
        text: str,
        at: float,
        *,
        ended_at: float | None = None,
        partial: bool = False,
    ) -> list[Effect]:
        """The candidate finished a turn (``text``, so far): recorded in the transcript and
        counted by the machine, in the stage active now, once. The words may still change
        before LiveKit commits the turn (:meth:`record_message` confirms them); a newer
        draft of the same turn replaces this one and is not counted again.

        ``partial``: the words are speech-to-text's interim ones (the final never came)."""
        if turn_id in self._stage_of_turn:
            return []
        current = self.machine.current
        stage = current.id if current else None
        continues, self._answer_goes_on = self._answer_goes_on, False
        msg = self.transcript.add(
            item_id=turn_id, role="candidate", text=text, stage=stage, started_at=at,
            ended_at=ended_at, draft=True, continues=continues, partial=partial,
        )  # fmt: skip
        stage = msg.stage if msg is not None else stage
        if stage is not None:
            self._stage_of_turn[turn_id] = stage
        limit = self.answer_limit_s() if self._answering() else None
        boxed = limit is not None and self._answered_for(ended_at) >= limit
        effects = self.machine.candidate_turn(turn_id, boxed=boxed)
        if boxed and self.machine.answer_boxed:
            moved = next((e for e in effects if isinstance(e, StageChanged)), None)
            self._boxed_preface = interjection(
                self._stage_def(moved.current) if moved is not None else None
            )
            self.preface(self._boxed_preface)
            if msg is not None:
                msg.time_boxed = True
        if msg is not None and limit is not None:
            msg.time_limit_s = limit
        return self.apply(effects)

    def answer_cues(self) -> dict[str, Any] | None:
        """The delivery cues of the candidate's latest answer, once per version of it
        (an answer that went on over the interviewer is measured again, whole); ``None``
        when the latest candidate turn is no answer or was measured already."""
        answering = {s.id for s in self.machine.plan if s.answers}
        answers = [
            (i, m) for i, m in enumerate(self.transcript.messages)
            if m.role == "candidate" and not m.request and m.stage in answering
        ]  # fmt: skip
        if not answers:
            return None
        index, msg = answers[-1]
        last = self.transcript.messages[-1] if self.transcript.messages else None
        if last is not msg and not (last is not None and last.role == "agent"):
            return None
        key = (index, len(msg.text))
        if key in self._cued:
            return None
        self._cued.add(key)
        return {
            "interview_id": self.identity.interview_id,
            **answer_cues(msg, number=len(answers), limit_s=msg.time_limit_s, timed=self.timed),
        }

    def _stage_def(self, stage_id: str) -> StageDef | None:
        return next((s for s in self.machine.plan if s.id == stage_id), None)

    def answer_limit_s(self) -> float | None:
        """How long the answer to the question on the table may run (``None``: no limit
        here), from the question's own limit, its stage's, and the stage's budget."""
        stage = self.machine.current
        if stage is None:
            return None
        return answer_limit(stage, self.open_question(), self.machine.budgets.get(stage.id))

    def _answered_for(self, until: float | None = None) -> float:
        started = self._answer_started_at
        if started is None:
            return 0.0
        return max(0.0, (until if until is not None else self.clock()) - started)

    def _answering(self) -> bool:
        """The question on the table is being answered: not counted yet, or counted only
        provisionally (a preemptive reply counts a draft of the answer early, while the
        candidate may go on)."""
        return self.machine.awaiting_answer or self.machine.answer_pending

    def answer_overtime(self) -> bool:
        """The candidate is answering (speaking, or in a pause of their answer) and has
        gone past the answer's time limit, or the spending cap is reached: the
        interviewer moves on at the next end of a sentence."""
        if self._answer_started_at is None or not self._answering():
            return False
        if self.spending.reached:
            return True
        limit = self.answer_limit_s()
        return limit is not None and self._answered_for() >= limit

    def usage_updated(self, usage: Sequence[Mapping[str, Any]]) -> None:
        """The session's usage so far (cumulative, LiveKit's shape): the spending meter
        moves; at 80 % of the candidate's cap the interviewer says so once, and when the
        next reply could pass it the interview closes after the current answer."""
        for crossing in self.spending.update(usage, self.clock()):
            cap = usd(self.spending.cap_usd or 0.0)
            if crossing == "warned":
                self.preface(render("say_spending_warned", cap=cap))
            else:
                self.machine.spending_cap_reached()
                self.preface(render("say_spending_reached", cap=cap))

    @property
    def answer_boxed(self) -> bool:
        """The answer just counted ran past its limit (the reply moves on, no follow-up)."""
        return self.machine.answer_boxed

    def stage_of(self, turn_id: str) -> str | None:
        """The stage a turn belongs to (``None`` for one never seen)."""
        return self._stage_of_turn.get(turn_id)

    def stage_def_of(self, turn_id: str) -> StageDef | None:
        """The definition of the stage a turn belongs to (the one it answered, even when
        that answer has since moved the interview on)."""
        sid = self._stage_of_turn.get(turn_id)
        return next((s for s in self.machine.plan if s.id == sid), None)

    def open_question(self) -> Question | None:
        """The planned question the candidate is answering (``None`` when the last
        question asked was not one of the plan's)."""
        asked = self.last_question or ""
        for planned in self.planned.values():
            for q in planned.questions:
                if q.text and q.text in asked:
                    return q
        return None

    def record_message(
        self,
        *,
        turn_id: str,
        role: Role,
        text: str,
        started_at: float,
        ended_at: float,
        interrupted: bool,
        metrics: Mapping[str, Any],
    ) -> None:
        """A message entered the conversation (``metrics``: LiveKit's per-turn timings);
        for a candidate turn already counted, its final words and times."""
        current = self.machine.current
        stage = self._stage_of_turn.get(turn_id) or (current.id if current else None)
        continues = False
        if role == "candidate" and turn_id not in self._stage_of_turn:
            continues, self._answer_goes_on = self._answer_goes_on, False
        msg = self.transcript.add(
            item_id=turn_id, role=role, text=text, stage=stage, started_at=started_at,
            ended_at=ended_at, interrupted=interrupted, continues=continues,
        )  # fmt: skip
        stage = msg.stage if msg is not None and continues else stage
        if stage is not None:
            self._stage_of_turn.setdefault(turn_id, stage)
        if role == "agent" and interrupted and ended_at > started_at:
            self._played[turn_id] = ended_at - started_at
        if msg is not None and role == "candidate" and self._speech_lost:
            msg.transcription_gap = True
            self._speech_lost = False
        for listener in self._message_listeners:
            listener(role)
        if role == "agent":
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

    def preface(self, sentence: str) -> None:
        """Have the interviewer say ``sentence`` word for word at the start of its next
        reply (the model's words, or the offline interviewer's, follow): what the worker
        must say in its own words, never left to a model (a time box, a spending notice)."""
        if sentence.strip() and sentence not in self._prefaces:
            self._prefaces.append(sentence.strip())

    def prefaces(self) -> list[str]:
        """The sentences to say before this reply. Each stays until a reply that said it
        is done (:meth:`reply_done`): a reply built and then dropped (a preemptive one on
        words that changed) or cut off before it was said leaves it for the next."""
        return list(self._prefaces)

    def ignore_reply(self, reply_id: str) -> None:
        """A reply that is not an interview turn (a silence prompt, a farewell)."""
        self._ignored_replies.add(reply_id)

    def reply_done(
        self, reply_id: str, turn_ids: set[str], spoken: str, *, interrupted: bool = False
    ) -> list[Effect]:
        """The interviewer finished a reply that said ``spoken`` (its messages are
        ``turn_ids``; ``interrupted``: cut off by the candidate speaking, ``spoken`` is
        what was played): the machine counts it, a question or not. A reply cut off
        before its question was heard in full means the candidate's answer goes on."""
        if reply_id in self._ignored_replies or not spoken.strip():
            # (a silence prompt, a farewell: no question, nor one to ask again later)
            self.transcript.mark_agent_items(turn_ids, question=False)
            return []
        self._prefaces = [p for p in self._prefaces if p not in spoken]
        m = self.machine
        if interrupted and m.answer_pending and not self._heard_in_full(turn_ids, spoken):
            self._answer_goes_on = True
            self.transcript.mark_agent_items(turn_ids, question=False)
            return self.apply(m.answer_resumed())
        self.resuming = False
        self._answer_started_at = None  # the next answer's clock starts when it does
        self._boxed_preface = None
        record, before = m.record, m.record.questions_asked
        effects = self.apply(m.agent_turn(reply_id))
        if self._candidate_speaking and m.awaiting_answer:
            # answering already (over the question's last words, or before its playout
            # was reported done): the answer's clock starts now, not at their next breath
            self._answer_started_at = self.clock()
        asked = record.questions_asked > before
        self.transcript.mark_agent_items(turn_ids, question=asked)
        if asked:
            self.last_question = spoken.strip()
        return effects

    def _heard_in_full(self, turn_ids: set[str], spoken: str) -> bool:
        """Whether a reply that was cut off had been heard to its question: its words end
        with the question, and (when its playing time is known) it played for about as
        long as saying them takes."""
        if not spoken.rstrip().endswith("?"):
            return False
        played = [self._played[t] for t in turn_ids if t in self._played]
        if not played:
            return True
        return sum(played) >= 0.8 * len(words(spoken)) * SECONDS_PER_SPOKEN_WORD

    def request(self, call_id: str, tool: Request, kind: NonAnswer | None = None) -> ToolOutcome:
        """The model passed on a request (tool ``tool``, call ``call_id``; ``kind`` for
        ``not_an_answer``): the machine answers it, the effects are applied, the
        candidate's last turn is marked as a request rather than an answer when it was
        one, and the outcome is kept for whoever words the reply."""
        effects = _event(self.machine, tool, kind)
        outcome = ToolOutcome.of(tool, self.apply(effects), kind)
        if self._boxed_preface is not None and not self.machine.answer_boxed:
            # the long turn was not an answer after all (a request at its end): no time box
            self._prefaces = [p for p in self._prefaces if p != self._boxed_preface]
            self._boxed_preface = None
        if tool not in _ANSWER_STANDS and outcome.refused != "move_on":
            self.transcript.mark_last_candidate_request()
        self.tool_outcomes[call_id] = outcome
        return outcome

    def provider_error(
        self, source: str, kind: str, *, recoverable: bool, speech_lost: bool = False
    ) -> None:
        """A provider failed (recorded in the interview's metadata). ``speech_lost``: the
        speech-to-text stream broke while the candidate was speaking, so the turn being
        spoken is missing words; it is marked when it is recorded."""
        self.errors.append(
            {"source": source, "type": kind, "recoverable": str(recoverable),
             "at": iso(self.clock()) or ""}
        )  # fmt: skip
        self._speech_lost = self._speech_lost or speech_lost

    def provider_switched(self, kind: str, failed: str, now: str | None) -> None:
        """A provider of ``kind`` failed and ``now`` took over (``None``: none left);
        recorded in the interview's errors (``type: fallback``) and its report. A
        speech-to-text that failed while the candidate spoke (or within
        :data:`SPEECH_LOST_WINDOW_S` of it) lost the words its stream had heard: the turn
        being spoken is marked as missing words."""
        if kind == "stt" and self._candidate_spoke_lately():
            self._speech_lost = True
        self.errors.append(
            {"source": kind, "type": "fallback", "from": failed, "to": now or "",
             "recoverable": str(now is not None), "at": iso(self.clock()) or ""}
        )  # fmt: skip

    # ------------------------------------------------------------ lifecycle and controls
    # Every event for the state machine enters through this record, which applies its
    # effects (listeners told) before returning them: nothing outside ``interview/``
    # touches the machine.

    def start(self) -> list[Effect]:
        return self.apply(self.machine.start())

    def tick(self, *, silence_prompts: bool = True) -> list[Effect]:
        """Time passed (called about once a second): limits, silence, a candidate away."""
        effects = self.machine.tick()
        if not silence_prompts:
            effects = [e for e in effects if not isinstance(e, SilencePrompt)]
        return self.apply(effects)

    def speaking(self, who: Literal["agent", "candidate"], now: bool) -> None:
        """Who is speaking (voice activity / playout): resets the silence clock."""
        self.machine.activity(who, now)
        if who == "candidate":
            if self._candidate_speaking and not now:
                self._candidate_quiet_at = self.clock()
            self._candidate_speaking = now
            if now and self._answer_started_at is None and self._answering():
                # (an answer a preemptive reply counted early is still being given)
                self._answer_started_at = self.clock()

    def _candidate_spoke_lately(self) -> bool:
        quiet_at = self._candidate_quiet_at
        return self._candidate_speaking or (
            quiet_at is not None and self.clock() - quiet_at <= SPEECH_LOST_WINDOW_S
        )

    def client_skip(self, *, stage_id: str | None, request_id: str | None) -> list[Effect]:
        """The candidate's app asked to skip ``stage_id`` (the current stage when None)."""
        return self.apply(self.machine.skip("client", stage_id=stage_id, request_id=request_id))

    def client_end(self, *, request_id: str | None = None) -> list[Effect]:
        return self.apply(self.machine.client_end(request_id=request_id))

    def client_pause(self) -> list[Effect]:
        """The candidate's app asked to pause the interview and continue it later."""
        return self.apply(self.machine.pause())

    def pause_state(self) -> dict[str, Any] | None:
        """``metadata.paused`` of an interview paused to continue later: when, how long it
        had run (the clock goes on from there, not from the pause), the stage and how long
        it had run, the open question (``None`` when not paused)."""
        m = self.machine
        if m.ended_by != "paused":
            return None
        record = m.stages[m.stage_index]
        stage_s = (m.ended_at or self.clock()) - (record.started_at or m.ended_at or 0.0)
        return {
            "at": iso(m.ended_at),
            "elapsed_s": round(m.elapsed_s(), 1),
            "stage": record.id,
            "stage_elapsed_s": round(max(0.0, stage_s), 1),
            "open_question": self.last_question,
        }

    def candidate_leaving(self) -> None:
        """The candidate has left the room for good; :meth:`candidate_left` follows once
        their last words are in. No reply is wanted any more (``leaving``)."""
        self.leaving = True

    def candidate_left(self, *, final: bool) -> list[Effect]:
        """The candidate left the room; ``final``: no reconnect is possible. Their words
        heard but not yet committed as a turn are recorded first
        (:meth:`candidate_last_words`)."""
        self.leaving = False
        return self.apply(self.machine.participant_left(final=final))

    def candidate_last_words(
        self, turn_id: str, text: str, *, started_at: float, ended_at: float, partial: bool
    ) -> list[Effect]:
        """What speech-to-text heard of the candidate's turn when they left, never
        committed as a turn: recorded as that turn and counted once. It is a draft: if
        the turn is committed after all, its words replace these (never both).
        ``partial``: only interim words were heard. Empty words record nothing."""
        if not clean_text(text).strip():
            return []
        effects = self.candidate_turn(
            turn_id, text, started_at, ended_at=max(started_at, ended_at), partial=partial
        )
        for listener in self._message_listeners:
            listener("candidate")
        return effects

    def candidate_returned(self) -> None:
        self.machine.participant_returned()

    def fail(self, reason: str) -> list[Effect]:
        return self.apply(self.machine.fail(reason))

    def shutdown(self) -> list[Effect]:
        return self.apply(self.machine.shutdown())

    def mark_ended(self) -> None:
        """The farewell (if any) is delivered; the session is closing."""
        self.machine.mark_ended()

    @property
    def stage(self) -> StageDef | None:
        """The stage in progress (``None`` before the interview starts)."""
        return self.machine.current

    @property
    def plan(self) -> tuple[StageDef, ...]:
        return self.machine.plan

    @property
    def terminal(self) -> bool:
        return self.machine.terminal

    @property
    def ended_by(self) -> EndedBy | None:
        return self.machine.ended_by

    @property
    def end_reason(self) -> str | None:
        return self.machine.end_reason

    @property
    def on_last_stage(self) -> bool:
        return self.machine.on_last_stage

    @property
    def pending_end(self) -> bool:
        """The candidate asked to end and has not confirmed yet."""
        return self.machine.pending_end

    @property
    def candidate_away(self) -> bool:
        return self.machine.candidate_away

    @property
    def version(self) -> int:
        """Changes whenever the published state may have changed."""
        return self.machine.version

    @property
    def questions_asked(self) -> int:
        """Questions asked so far in the current stage."""
        return self.machine.record.questions_asked

    @property
    def closing_done(self) -> bool:
        """The last stage ran to its end (its closing words were said)."""
        m = self.machine
        return m.final_stage == m.plan[-1].id and m.stages[-1].status == "completed"

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
        paused = md.get("paused") if saved.ended_by == "paused" else None
        started_at = parse_iso(md.get("started_at")) or self.clock()
        if isinstance(paused, dict) and seconds(paused.get("elapsed_s"), zero=True) is not None:
            # the clock goes on from where it stopped: the time away does not count
            started_at = self.clock() - float(paused["elapsed_s"])
        self.machine = InterviewMachine.resume(
            plan,
            conversation.get("stages") or [],
            started_at=started_at,
            clock=self.clock,
            limits=self.limits,
            awaiting_answer=awaiting,
        )
        self.paused_before = isinstance(paused, dict)
        if isinstance(paused, dict):
            self.transcript.seal()
        if isinstance(paused, dict) and (s := seconds(paused.get("stage_elapsed_s"))):
            self.machine.record.started_at = self.clock() - s
        for msg in self.transcript.messages:
            for turn_id in msg.item_ids:
                self._stage_of_turn[turn_id] = msg.stage or ""
        asked = [m.text for m in self.transcript.messages if m.role == "agent" and m.question]
        self.last_question = asked[-1] if asked else None
        if isinstance(paused, dict) and isinstance(paused.get("open_question"), str):
            self.last_question = paused["open_question"]
        previous = md.get("continued") if isinstance(md.get("continued"), list) else []
        self.carried = {
            "events": md.get("events") if isinstance(md.get("events"), list) else [],
            "errors": md.get("errors") if isinstance(md.get("errors"), list) else [],
            "usage": md.get("usage") if isinstance(md.get("usage"), dict) else {},
            "cost": md.get("cost"),
            "continued": [
                *previous,
                {"at": iso(self.clock()), "from_revision": saved.revision,
                 "generation": self.identity.generation},
            ],
        }  # fmt: skip
        self.spending.carried = carried_items(md.get("cost"))  # the earlier jobs' spend counts
        earlier = md.get("pauses") if isinstance(md.get("pauses"), list) else []
        self.carried["pauses"] = [*earlier, paused] if isinstance(paused, dict) else earlier
        self.resume_repeats = awaiting
        self.resuming = True

    def resume_note(self) -> str:
        """What the first reply of a continued interview must do (after a pause the
        candidate asked for: a one-sentence recap, then the open question again)."""
        question = self.last_question or "the current question"
        if self.paused_before:
            stage = self.machine.current
            return render(
                "resume_paused", question=question, stage=stage.title if stage else "interview"
            )
        return render("resume", question=question)

    # ------------------------------------------------------------ what others see

    def state(self) -> dict[str, object]:
        """The state published to the candidate's client (docs/CONTRACTS.md)."""
        return {"interview_id": self.identity.interview_id, **self.machine.snapshot()}

    def instructions(self) -> str:
        """What the interviewer model is told now (bounded: see prompts.builder)."""
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
            adjust=self.adjustment(),
            role_known=self.bank.role_for(self.md.job_role or "") is not None,
        )
        if self.resuming:
            text = f"{text}\n\n{self.resume_note()}"
        if self.machine.answer_boxed and self._boxed_preface is not None:
            text = f"{text}\n\n{render('time_boxed', said=self._boxed_preface)}"
        return text

    def snapshot(self) -> Interview:
        """A plain copy to build rows from off the event loop: the machine deep-copied,
        the transcript and lists copied, everything read-only shared."""
        snap = Interview.__new__(Interview)
        snap.__dict__.update(self.__dict__)
        snap.machine = copy.deepcopy(self.machine)
        snap.transcript = Transcript()
        snap.transcript.messages = [_copy_message(m) for m in self.transcript.messages]
        snap.latencies = list(self.latencies)
        snap.errors = list(self.errors)
        snap._listeners, snap._message_listeners = [], []
        return snap

    @property
    def last_agent_stage(self) -> str | None:
        for msg in reversed(self.transcript.messages):
            if msg.role == "agent":
                return msg.stage
        return None

    def next_planned_question(self) -> str | None:
        """The next planned question of the current stage; after two strong (or two thin)
        answers, a harder (or easier) one of the stage's remaining questions first."""
        m = self.machine
        stage = m.current
        if stage is None:
            return None
        qs = self.planned.get(stage.id, StageQuestions()).questions
        asked = m.stages[m.stage_index].questions_asked
        if asked >= len(qs):
            return None
        adjust = self.adjustment()
        if adjust is not None:
            order = DIFFICULTY_ORDER if adjust == "harder" else DIFFICULTY_ORDER[::-1]
            rest = qs[asked:]
            best = min(
                rest, key=lambda q: order.index(q.difficulty) if q.difficulty in order else 9
            )
            i = asked + rest.index(best)
            qs[asked], qs[i] = qs[i], qs[asked]
        return qs[asked].text

    def adjustment(self) -> Adjustment:
        """``harder`` after two strong answers in a row, ``easier`` after two thin ones
        (judged from the words alone: length, and the points a strong answer to that
        planned question often touches)."""
        answering = {s.id for s in self.machine.plan if s.answers}
        pairs = [(q, a) for q, a in answer_pairs(self.transcript.messages) if a.stage in answering]
        if len(pairs) < 2:
            return None
        marks = {self._strength(q, a) for q, a in pairs[-2:]}
        if marks == {"strong"}:
            return "harder"
        if marks == {"thin"}:
            return "easier"
        return None

    def _strength(self, question: Message | None, answer: Message) -> str:
        n = len(words(answer.text))
        if n < THIN_ANSWER_WORDS:
            return "thin"
        planned = self.bank.find(question.text) if question is not None else None
        keywords = planned.keywords if planned else ()
        if keywords:
            hit, _ = keyword_coverage(answer.text, keywords)
            covered = len(hit) / len(keywords) >= 0.5
        else:
            covered = True
        return "strong" if n >= STRONG_ANSWER_WORDS and covered else "fair"
