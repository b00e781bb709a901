"""The interview state machine: plain Python, driven by events and an injected clock.

The machine, not the language model, decides which stage the interview is in and when
it ends. The LiveKit layer feeds it what happened (an agent turn was spoken, a candidate
turn was committed, the candidate asked to skip, a second of time passed, the candidate
left) and carries out the effects it returns (say a gentle prompt, close the session).

Rules, in one place:

* A stage moves on after the candidate's answer to its ``max_questions``-th question, or
  after an answer once its time budget is spent and ``min_questions`` were answered.
* The last stage (``closing``) completes when the agent has spoken it.
* The total time limit sends the interview to the last stage after the current answer
  (stages jumped over are recorded as skipped); if nobody answers, it ends anyway
  ``hard_overrun_s`` later. The candidate's spending cap does the same (``cost_limit``).
* A candidate turn is committed provisionally: if, within the same turn, it turns out not
  to be an answer (:data:`NonAnswer`: a request to repeat or clarify, a hint request, "I
  don't know", "how am I doing?", an aside or question back, "give me a moment"; or an
  end request, a spoken skip, a follow-up the interviewer wants), the commit is undone
  (with any stage change it caused) before anything else, so it is never counted as an
  answer and never uses up a question: the next interviewer turn is not a new question.
* Per question: one hint; "I don't know" once gets a nudge, twice counts as the answer
  (the interview moves on); at most ``MAX_FOLLOW_UPS`` follow-ups, none on an answer that
  ran past its time limit.
* Each stage's time budget is its share of the interview's length (scaled down when the
  plan's budgets add up to more, ``stages/timebox.py``).
* Every event is idempotent: events with an id already seen, a second candidate turn with
  no agent turn in between (one spoken turn split in fragments), a skip that names a stage
  that is no longer current, or any event after the end, change nothing.
* Exactly one terminal decision: once ``ended_by`` is set it never changes.
* The model alone cannot end or race through the interview: an end is confirmed only in
  a candidate turn after the one that asked for it, and at most one stage is skipped or
  finished on the model's word per candidate turn (client skips are the user's own).
* An interview whose job was lost can be continued by a new job from its saved stages
  (:meth:`InterviewMachine.resume`), its clock still counting from the original start.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, get_args

from .definitions import StageDef
from .timebox import stage_budgets

EndedBy = Literal[
    "completed",
    "candidate_request",
    "client_request",
    "candidate_left",
    "time_limit",
    "inactivity",
    "error",
    "worker_shutdown",
    "cost_limit",
    "paused",
]
ENDED_BY_VALUES: tuple[EndedBy, ...] = get_args(EndedBy)
Status = Literal["not_started", "running", "ending", "ended"]
StageStatus = Literal["pending", "active", "completed", "skipped", "not_reached", "ended"]
SkipSource = Literal["spoken", "client", "time_limit", "cost_limit"]
NonAnswer = Literal["repeat", "clarify", "hint", "dont_know", "progress", "aside", "moment"]
"""Candidate turns that are not an answer to the question asked."""
NON_ANSWERS: tuple[NonAnswer, ...] = get_args(NonAnswer)
MAX_FOLLOW_UPS = 2
"""Follow-up questions the interviewer may ask on one question before moving on."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_duration_s: float = 1800.0
    """Total time limit: after it, the interview goes to its closing stage."""
    hard_overrun_s: float = 120.0
    """How long past the limit the machine waits for an answer before ending anyway."""
    silence_prompt_s: float = 25.0
    """Silence (nobody speaking) before the agent gently prompts the candidate."""
    silence_end_s: float = 35.0
    """Further silence after that prompt before the interview ends for inactivity."""
    moment_s: float = 90.0
    """How long "give me a moment" holds off the silence prompt."""
    reconnect_grace_s: float = 30.0
    """How long a candidate who left may take to come back before the interview ends."""

    def __post_init__(self) -> None:
        for name in (
            "max_duration_s",
            "hard_overrun_s",
            "silence_prompt_s",
            "silence_end_s",
            "moment_s",
            "reconnect_grace_s",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")


def _epoch(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None
    return None


# ---------------------------------------------------------------- effects


@dataclass(frozen=True, slots=True)
class StageChanged:
    previous: str | None
    current: str
    reason: str


@dataclass(frozen=True, slots=True)
class SilencePrompt:
    pass


@dataclass(frozen=True, slots=True)
class Ended:
    ended_by: EndedBy
    final_stage: str | None


@dataclass(frozen=True, slots=True)
class Rejected:
    event: str
    reason: str


Effect = StageChanged | SilencePrompt | Ended | Rejected


# ---------------------------------------------------------------- state


@dataclass(slots=True)
class StageRecord:
    id: str
    status: StageStatus = "pending"
    started_at: float | None = None
    ended_at: float | None = None
    questions_asked: int = 0
    answers: int = 0
    repeats: int = 0
    skip_source: SkipSource | None = None
    budget_exceeded: bool = False


@dataclass(slots=True)
class _State:
    """Everything a provisional candidate commit may change (and a revert restores)."""

    stages: list[StageRecord]
    index: int = 0
    awaiting_answer: bool = False
    next_agent_turn_counts: bool = True
    pending_end: bool = False
    pending_end_agent_turns: int = 0
    pending_end_turn: int = 0
    """The candidate turn count when the end was requested (confirmation must be later)."""
    time_up: bool = False
    hints: int = 0
    """Hints given on the current question."""
    unsure: int = 0
    """Times the candidate said they did not know the current question."""
    follow_ups: int = 0
    """Follow-up questions asked on the current question."""
    boxed: bool = False
    """The answer to the current question ran past its time limit (no follow-up on it)."""


@dataclass(slots=True)
class LogEntry:
    t: float
    event: str
    detail: dict[str, str | int | float | bool | None] = field(default_factory=dict)


MAX_LOG_ENTRIES = 500


class InterviewMachine:
    def __init__(
        self,
        plan: Sequence[StageDef],
        *,
        clock: Callable[[], float],
        limits: Limits | None = None,
    ) -> None:
        if not plan:
            raise ValueError("an interview plan needs at least one stage")
        if len({s.id for s in plan}) != len(plan):
            raise ValueError("stage ids in a plan must be unique")
        self.plan: tuple[StageDef, ...] = tuple(plan)
        self.limits = limits or Limits()
        self.budgets: dict[str, float] = stage_budgets(self.plan, self.limits.max_duration_s)
        """Each stage's time budget within this interview's length."""
        self._clock = clock
        self._s = _State(stages=[StageRecord(id=s.id) for s in plan])
        self._provisional: _State | None = None
        self._seen: set[str] = set()
        self.status: Status = "not_started"
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.ended_by: EndedBy | None = None
        self.final_stage: str | None = None
        self.end_reason: str | None = None
        self.version = 0
        self.log: list[LogEntry] = []
        # silence and presence tracking (never reverted)
        self._speaking: dict[str, bool] = {"agent": False, "candidate": False}
        self._last_activity = 0.0
        self._silence_prompted_at: float | None = None
        self._hold_until = 0.0
        self._left_at: float | None = None
        self._candidate_turns = 0
        """Candidate turns seen (never reverted: a request is a turn too)."""
        self._model_move_turn = -1
        """The candidate turn at which the model last skipped or finished a stage."""
        self.cost_up = False
        """The candidate's spending cap is reached: the interview closes after the current
        answer (never reverted)."""

    @classmethod
    def resume(
        cls,
        plan: Sequence[StageDef],
        saved: Sequence[dict[str, object]],
        *,
        started_at: float,
        clock: Callable[[], float],
        limits: Limits | None = None,
        awaiting_answer: bool = True,
    ) -> InterviewMachine:
        """The machine of an interview continued by a new job: the stage records as saved
        (``conversation["stages"]``), the stage that was in progress active again, the
        total time limit counted from ``started_at``.

        ``awaiting_answer``: the last thing said was the interviewer's question (the next
        agent turn repeats it and does not count); else the candidate had answered and the
        next agent turn asks a new question.
        """
        m = cls(plan, clock=clock, limits=limits)
        by_id = {str(d.get("id")): d for d in saved if isinstance(d, dict)}
        for rec in m._s.stages:
            d = by_id.get(rec.id)
            if d is None:
                continue
            status = d.get("status")
            rec.status = status if status in ("completed", "skipped", "ended") else "pending"  # type: ignore[assignment]
            rec.started_at = _epoch(d.get("started_at"))
            rec.ended_at = _epoch(d.get("ended_at"))
            for name in ("questions_asked", "answers", "repeats"):
                value = d.get(name)
                setattr(rec, name, value if isinstance(value, int) and value >= 0 else 0)
            source = d.get("skip_source")
            rec.skip_source = source if source in get_args(SkipSource) else None  # type: ignore[assignment]
            rec.budget_exceeded = bool(d.get("budget_exceeded"))
        current = next(
            (i for i, r in enumerate(m._s.stages) if r.status in ("ended", "pending")),
            len(plan) - 1,
        )
        rec = m._s.stages[current]
        rec.status = "active"
        rec.ended_at = None
        if rec.started_at is None:
            rec.started_at = clock()
        m._s.index = current
        m._s.awaiting_answer = False
        m._s.next_agent_turn_counts = not awaiting_answer
        m.status = "running"
        m.started_at = started_at
        m._last_activity = clock()
        m._log("resume", stage=rec.id)
        m._changed()
        return m

    # ------------------------------------------------------------ queries

    @property
    def current(self) -> StageDef | None:
        if self.status == "not_started":
            return None
        return self.plan[self._s.index]

    @property
    def stage_index(self) -> int:
        return self._s.index

    @property
    def stages(self) -> list[StageRecord]:
        return self._s.stages

    @property
    def record(self) -> StageRecord:
        return self._s.stages[self._s.index]

    @property
    def terminal(self) -> bool:
        return self.ended_by is not None

    @property
    def on_last_stage(self) -> bool:
        """The interview is in its last stage (the one that closes it)."""
        return self.status != "not_started" and self._s.index == len(self.plan) - 1

    @property
    def candidate_away(self) -> bool:
        """The candidate left the room and has not come back (yet)."""
        return self._left_at is not None and not self.terminal

    @property
    def answer_pending(self) -> bool:
        """The candidate's last turn is counted provisionally: the interviewer's reply to
        it has not been completed yet."""
        return self._provisional is not None

    @property
    def awaiting_answer(self) -> bool:
        """A question is on the table and the candidate's answer has not been counted."""
        return self._s.awaiting_answer

    @property
    def answer_boxed(self) -> bool:
        """The answer just counted ran past its time limit."""
        return self._s.boxed

    @property
    def pending_end(self) -> bool:
        return self._s.pending_end

    @property
    def skipped_stages(self) -> list[str]:
        return [r.id for r in self._s.stages if r.status == "skipped"]

    def elapsed_s(self) -> float:
        if self.started_at is None:
            return 0.0
        end = self.ended_at if self.ended_at is not None else self._clock()
        return max(0.0, end - self.started_at)

    def remaining_s(self) -> float:
        return max(0.0, self.limits.max_duration_s - self.elapsed_s())

    def stage_elapsed_s(self) -> float:
        started = self.record.started_at
        return 0.0 if started is None else max(0.0, self._clock() - started)

    def snapshot(self) -> dict[str, object]:
        """The state published to the candidate's client (docs/CONTRACTS.md, client protocol)."""
        current = self.current
        return {
            "stage": current.id if current else None,
            "stage_index": self._s.index,
            "stage_count": len(self.plan),
            "skipped_stages": self.skipped_stages,
            "remaining_s": round(self.remaining_s()),
            "status": "running" if self.status == "not_started" else self.status,
        }

    # ------------------------------------------------------------ lifecycle

    def start(self) -> list[Effect]:
        if self.status != "not_started":
            return []
        now = self._clock()
        self.status = "running"
        self.started_at = now
        self._last_activity = now
        first = self._s.stages[0]
        first.status = "active"
        first.started_at = now
        self._log("start")
        self._changed()
        return [StageChanged(previous=None, current=first.id, reason="start")]

    def mark_ended(self) -> None:
        """The farewell (if any) has been delivered and the session is closing."""
        if self.terminal and self.status != "ended":
            self.status = "ended"
            self._changed()

    # ------------------------------------------------------------ turns

    def agent_turn(self, turn_id: str) -> list[Effect]:
        if not self._fresh(f"agent:{turn_id}") or self.status != "running":
            return []
        s = self._s
        self._provisional = None
        self._touch()
        if s.pending_end:
            s.pending_end_agent_turns += 1
            if s.pending_end_agent_turns > 1:
                s.pending_end = False
                self._log("end_request_lapsed")
        # Speaking again before the candidate answered (after a client skip, say) is still
        # the same question; a repeat, a "take your time" or an end confirmation is none.
        counts = (s.next_agent_turn_counts or self.record.questions_asked == 0) and not (
            s.awaiting_answer and self.record.questions_asked > 0
        )
        s.awaiting_answer = True
        s.next_agent_turn_counts = True
        if counts:
            self.record.questions_asked += 1
            s.hints = s.unsure = s.follow_ups = 0
            s.boxed = False
            self._changed()
        if self._s.index == len(self.plan) - 1 and (
            self.record.questions_asked >= self.plan[-1].max_questions
        ):
            self.record.status = "completed"
            self.record.ended_at = self._clock()
            return self._end(self._limit_reached() or "completed")
        return []

    def _limit_reached(self) -> Literal["cost_limit", "time_limit"] | None:
        if self.cost_up:
            return "cost_limit"
        return "time_limit" if self._s.time_up else None

    def candidate_turn(self, turn_id: str, *, boxed: bool = False) -> list[Effect]:
        """The candidate finished a turn; ``boxed``: it ran past the answer's time limit
        (it counts as the answer; no follow-up is asked on it)."""
        if not self._fresh(f"candidate:{turn_id}") or self.status != "running":
            return []
        s = self._s
        self._candidate_turns += 1
        self._touch()
        self._left_at = None
        if not s.awaiting_answer or s.pending_end:
            if boxed and not s.pending_end and self._provisional is not None:
                s.boxed = True  # a later draft of an answer counted early ran past its limit
            return []  # a fragment of the same turn, or the reply to an end confirmation
        self._provisional = copy.deepcopy(s)
        s.awaiting_answer = False
        s.boxed = boxed
        rec = self.record
        rec.answers += 1
        self._changed()
        now = self._clock()
        stage = self.plan[s.index]
        last = s.index == len(self.plan) - 1
        if not last and self.cost_up:
            return self._jump_to_last("cost_limit")
        if not last and (s.time_up or self._over_time(now)):
            s.time_up = True
            return self._jump_to_last("time_limit")
        if last:
            return []
        if rec.answers >= stage.max_questions:
            return self._advance("max_questions")
        if rec.answers >= stage.min_questions and self.stage_elapsed_s() >= self.budgets[stage.id]:
            rec.budget_exceeded = True
            return self._advance("time_budget")
        return []

    # ------------------------------------------------------------ controls

    def skip(
        self,
        source: Literal["spoken", "client"],
        *,
        stage_id: str | None = None,
        request_id: str | None = None,
    ) -> list[Effect]:
        if request_id is not None and not self._fresh(f"skip:{request_id}"):
            return []
        if self.status != "running":
            return [Rejected("skip", "not_running")]
        if source == "spoken":
            if self._model_move_turn == self._candidate_turns:
                return [Rejected("skip", "one_per_turn")]
            self._revert()
        current = self.plan[self._s.index]
        if stage_id is not None and stage_id != current.id:
            return [Rejected("skip", "stale_stage")]
        if not current.skippable:
            if source == "spoken":  # the request was not an answer; the question stands
                self._s.next_agent_turn_counts = False
            return [Rejected("skip", "not_skippable")]
        rec = self.record
        if source == "spoken":
            self._model_move_turn = self._candidate_turns
        else:
            self._provisional = None  # the candidate's click: nothing before it is undone
        rec.status = "skipped"
        rec.skip_source = source
        self._log("skip", stage=current.id, source=source)
        return self._advance(f"skip:{source}", already_closed=True)

    def finish_stage(self) -> list[Effect]:
        """The interviewer says the stage's goal is covered; granted once min_questions met."""
        if self.status != "running":
            return [Rejected("finish_stage", "not_running")]
        current = self.plan[self._s.index]
        if self._s.index == len(self.plan) - 1:
            return [Rejected("finish_stage", "last_stage")]
        if self._model_move_turn == self._candidate_turns:
            return [Rejected("finish_stage", "one_per_turn")]
        if self.record.answers < current.min_questions:
            return [Rejected("finish_stage", "min_questions_not_met")]
        self._model_move_turn = self._candidate_turns
        self._provisional = None
        return self._advance("goal_covered")

    def request_end(self) -> list[Effect]:
        if self.status != "running":
            return [Rejected("end", "not_running")]
        self._revert()
        s = self._s
        s.pending_end = True
        s.pending_end_agent_turns = 0
        s.pending_end_turn = self._candidate_turns
        s.next_agent_turn_counts = False
        self._log("end_requested")
        self._changed()
        return []

    def confirm_end(self) -> list[Effect]:
        if self.status != "running":
            return [Rejected("confirm_end", "not_running")]
        if not self._s.pending_end:
            return [Rejected("confirm_end", "no_pending_request")]
        if self._candidate_turns <= self._s.pending_end_turn:
            return [Rejected("confirm_end", "not_confirmed_yet")]
        self._revert()
        return self._end("candidate_request")

    def cancel_end(self) -> list[Effect]:
        if self.status != "running" or not self._s.pending_end:
            return []
        self._revert()
        self._s.pending_end = False
        self._s.next_agent_turn_counts = False
        self._log("end_cancelled")
        self._changed()
        return []

    def client_end(self, *, request_id: str | None = None) -> list[Effect]:
        if request_id is not None and not self._fresh(f"end:{request_id}"):
            return []
        if self.terminal:
            return []
        return self._end("client_request")

    def not_an_answer(self, kind: NonAnswer) -> list[Effect]:
        """The candidate's last turn was not an answer to the question (``kind``): its
        provisional commit is undone and the question stays open; the next interviewer
        turn (a repeat, a rephrasing, a hint, a nudge, a kind deferral) is not a new
        question. Refused, still not an answer: a second hint on one question
        (``hint_given``). Refused, counted as the answer after all: "I don't know" said a
        second time about one question (``move_on``)."""
        if self.status != "running":
            return [Rejected(kind, "not_running")]
        s = self._s
        if kind == "dont_know" and s.unsure >= 1 and self._provisional is not None:
            self._provisional = None  # the commit stands: the answer is "I don't know"
            self._log("dont_know", counted=True)
            return [Rejected(kind, "move_on")]
        self._revert()
        s = self._s
        s.next_agent_turn_counts = False
        self._log(kind, stage=self.record.id)
        if kind == "hint":
            if s.hints >= 1:
                return [Rejected(kind, "hint_given")]
            s.hints += 1
        elif kind == "dont_know":
            s.unsure += 1
        elif kind in ("repeat", "clarify"):
            self.record.repeats += 1
        elif kind == "moment":
            self._hold_until = self._clock() + self.limits.moment_s
            self._silence_prompted_at = None
        return []

    def answer_resumed(self) -> list[Effect]:
        """The candidate went on speaking after the interviewer had started its reply and
        before the next question was heard in full: the answer goes on. Its provisional
        count (and any stage change it caused) is undone and the question stays open, so
        the rest of the answer completes it; the cut-off reply was no question."""
        if self.status != "running" or self._provisional is None:
            return []
        self._revert()
        self._s.awaiting_answer = True
        self._log("answer_resumed", stage=self.record.id)
        return []

    def follow_up(self) -> list[Effect]:
        """The interviewer wants to ask a follow-up on the answer just given: the answer
        is not counted yet (the follow-up's answer completes the question) and the
        follow-up is not a new question. At most ``MAX_FOLLOW_UPS`` per question
        (``enough_follow_ups``: the answer stands, move on)."""
        if self.status != "running":
            return [Rejected("follow_up", "not_running")]
        if self._s.boxed:
            return [Rejected("follow_up", "time_boxed")]
        if self._s.follow_ups >= MAX_FOLLOW_UPS:
            return [Rejected("follow_up", "enough_follow_ups")]
        self._revert()
        s = self._s
        s.follow_ups += 1
        s.next_agent_turn_counts = False
        self._log("follow_up", stage=self.record.id)
        return []

    # ------------------------------------------------------------ presence and time

    def activity(self, who: Literal["agent", "candidate"], speaking: bool) -> None:
        """Who is speaking now (from VAD / playout state); resets the silence clock."""
        if self._speaking.get(who) == speaking:
            return
        self._speaking[who] = speaking
        self._touch()
        if who == "candidate":
            self._silence_prompted_at = None
            self._hold_until = 0.0
            self._left_at = None

    def participant_left(self, *, final: bool = False) -> list[Effect]:
        """The candidate left the room. ``final``: no reconnect is possible (ends now)."""
        if self.terminal:
            return []
        if final:
            return self._end("candidate_left")
        if self._left_at is None:
            self._left_at = self._clock()
            self._log("candidate_left_room")
        return []

    def participant_returned(self) -> None:
        if self._left_at is not None and not self.terminal:
            self._left_at = None
            self._touch()
            self._log("candidate_returned")

    def tick(self) -> list[Effect]:
        if self.status != "running":
            return []
        now = self._clock()
        lim = self.limits
        if self._left_at is not None and now - self._left_at >= lim.reconnect_grace_s:
            return self._end("candidate_left")
        if self.elapsed_s() >= lim.max_duration_s + lim.hard_overrun_s:
            return self._end("time_limit")
        if self._over_time(now) and not self._s.time_up:
            self._s.time_up = True
            self._log("time_up")
            self._changed()
        if any(self._speaking.values()) or self._left_at is not None:
            return []
        if self._silence_prompted_at is not None:
            if now - self._silence_prompted_at >= lim.silence_end_s:
                return self._end("inactivity")
            return []
        if now >= max(self._last_activity + lim.silence_prompt_s, self._hold_until):
            self._silence_prompted_at = now
            self._log("silence_prompt")
            return [SilencePrompt()]
        return []

    def pause(self) -> list[Effect]:
        """The candidate asked to pause and continue later: this part of the interview
        ends ``paused`` (its stages, open question and clock saved); a later job may
        continue it (:meth:`resume`). The turn that asked was no answer."""
        if self.status != "running":
            return [Rejected("pause", "not_running")]
        self._revert()
        return self._end("paused")

    def spending_cap_reached(self) -> None:
        """The candidate's spending cap is (about to be) reached: after the current
        answer the interview goes to its last stage, and ends ``cost_limit`` once that
        is spoken (as the total time limit does)."""
        if not self.cost_up and not self.terminal:
            self.cost_up = True
            self._log("cost_up")
            self._changed()

    def fail(self, reason: str) -> list[Effect]:
        if self.terminal:
            return []
        self.end_reason = reason
        return self._end("error")

    def shutdown(self) -> list[Effect]:
        if self.terminal:
            return []
        return self._end("worker_shutdown")

    # ------------------------------------------------------------ internals

    def _fresh(self, key: str) -> bool:
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def _touch(self) -> None:
        self._last_activity = self._clock()
        self._silence_prompted_at = None

    def _changed(self) -> None:
        self.version += 1

    def _log(self, event: str, **detail: str | int | float | bool | None) -> None:
        if len(self.log) < MAX_LOG_ENTRIES:
            self.log.append(LogEntry(t=self._clock(), event=event, detail=detail))

    def _over_time(self, now: float) -> bool:
        return self.started_at is not None and now - self.started_at >= self.limits.max_duration_s

    def _revert(self) -> None:
        """Undo this turn's provisional candidate commit (the turn was a request)."""
        if self._provisional is not None:
            self._s = self._provisional
            self._provisional = None
            self._s.awaiting_answer = False
            self._changed()

    def _advance(self, reason: str, *, already_closed: bool = False) -> list[Effect]:
        s = self._s
        rec = s.stages[s.index]
        if not already_closed:
            rec.status = "completed"
        rec.ended_at = self._clock()
        if s.index + 1 >= len(self.plan):
            return self._end("completed")
        return self._enter(s.index + 1, reason)

    def _jump_to_last(self, reason: SkipSource) -> list[Effect]:
        s = self._s
        rec = s.stages[s.index]
        rec.status = "completed"
        rec.ended_at = self._clock()
        last = len(self.plan) - 1
        for r in s.stages[s.index + 1 : last]:
            r.status = "skipped"
            r.skip_source = reason
        return self._enter(last, reason)

    def _enter(self, index: int, reason: str) -> list[Effect]:
        s = self._s
        previous = s.stages[s.index].id
        s.index = index
        nxt = s.stages[index]
        nxt.status = "active"
        nxt.started_at = self._clock()
        s.next_agent_turn_counts = True
        s.awaiting_answer = False
        s.pending_end = False
        self._log("stage", stage=nxt.id, reason=reason)
        self._changed()
        return [StageChanged(previous=previous, current=nxt.id, reason=reason)]

    def _end(self, ended_by: EndedBy) -> list[Effect]:
        if self.terminal:
            return []
        now = self._clock()
        self._provisional = None
        self.ended_by = ended_by
        self.ended_at = now
        if self.status == "not_started":
            self.final_stage = None
            for r in self._s.stages:
                r.status = "not_reached"
        else:
            rec = self.record
            self.final_stage = rec.id
            if rec.status == "active":
                rec.status = "ended"
                rec.ended_at = now
            for r in self._s.stages[self._s.index + 1 :]:
                if r.status == "pending":
                    r.status = "not_reached"
        self.status = "ending"
        self._log("end", ended_by=ended_by)
        self._changed()
        return [Ended(ended_by=ended_by, final_stage=self.final_stage)]
