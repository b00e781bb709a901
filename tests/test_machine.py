"""The interview state machine: every exit path, the controls, idempotency."""

from __future__ import annotations

import pytest

from stages.definitions import DEFAULT_PLAN, build_plan
from stages.machine import Ended, InterviewMachine, Limits, Rejected, SilencePrompt, StageChanged

from .conftest import FakeClock


def make(clock: FakeClock, **limits: float) -> InterviewMachine:
    m = InterviewMachine(DEFAULT_PLAN, clock=clock, limits=Limits(**limits))
    m.start()
    return m


class Turns:
    """Drives agent/candidate turns with fresh ids."""

    def __init__(self, m: InterviewMachine) -> None:
        self.m = m
        self.n = 0

    def agent(self) -> list:
        self.n += 1
        return self.m.agent_turn(f"a{self.n}")

    def candidate(self) -> list:
        self.n += 1
        return self.m.candidate_turn(f"c{self.n}")

    def exchange(self) -> list:
        return self.agent() + self.candidate()


def run_to_completion(m: InterviewMachine) -> list:
    t = Turns(m)
    effects: list = []
    for _ in range(100):
        if m.terminal:
            break
        effects += t.agent()
        if not m.terminal:
            effects += t.candidate()
    return effects


def test_complete_interview_walks_every_stage(clock):
    m = make(clock)
    effects = run_to_completion(m)
    assert m.ended_by == "completed"
    assert m.final_stage == "closing"
    assert m.skipped_stages == []
    assert [r.status for r in m.stages] == ["completed"] * len(DEFAULT_PLAN)
    for stage, rec in zip(DEFAULT_PLAN, m.stages, strict=True):
        expected = stage.max_questions
        assert rec.questions_asked == expected, stage.id
    changes = [e.current for e in effects if isinstance(e, StageChanged)]
    assert changes == [s.id for s in DEFAULT_PLAN[1:]]
    assert sum(isinstance(e, Ended) for e in effects) == 1


def test_stage_moves_on_after_max_answers_not_before(clock):
    m = make(clock)
    t = Turns(m)
    t.exchange()  # greeting
    assert m.current.id == "introduction"
    t.exchange()
    assert m.current.id == "introduction"
    t.exchange()
    assert m.current.id == "experience"


def test_stage_time_budget_moves_on_after_the_current_answer(clock):
    m = make(clock)
    t = Turns(m)
    t.exchange()
    t.exchange()  # introduction
    t.exchange()
    assert m.current.id == "experience"
    t.agent()
    clock.advance(DEFAULT_PLAN[2].time_budget_s + 1)
    assert m.current.id == "experience"  # never mid-answer
    effects = t.candidate()
    assert m.current.id == "technical"
    assert m.stages[2].budget_exceeded
    assert StageChanged("experience", "technical", "time_budget") in effects


def test_time_budget_waits_for_min_questions(clock):
    m = make(clock)
    t = Turns(m)
    for _ in range(6):  # greeting, introduction x2, experience x3
        t.exchange()
    assert m.current.id == "technical"  # min_questions = 2
    t.agent()
    clock.advance(DEFAULT_PLAN[3].time_budget_s + 1)
    t.candidate()
    assert m.current.id == "technical"
    t.exchange()
    assert m.current.id == "behavioral"
    assert m.stages[3].budget_exceeded


def test_total_time_limit_goes_to_closing_and_ends_time_limit(clock):
    m = make(clock, max_duration_s=600)
    t = Turns(m)
    t.exchange()
    t.agent()  # introduction question
    m.activity("candidate", True)  # answering when the time runs out
    clock.advance(601)
    effects = m.tick()
    assert effects == [] and not m.terminal
    effects = t.candidate()
    assert m.current.id == "closing"
    assert m.skipped_stages == ["experience", "technical", "behavioral", "candidate_questions"]
    assert all(r.skip_source == "time_limit" for r in m.stages if r.status == "skipped")
    effects = t.agent()  # the closing words
    assert effects == [Ended("time_limit", "closing")]
    assert m.stages[-1].status == "completed"


def test_time_limit_hard_overrun_ends_without_an_answer(clock):
    m = make(clock, max_duration_s=300, hard_overrun_s=60)
    Turns(m).agent()
    clock.advance(361)
    assert m.tick() == [Ended("time_limit", "greeting")]


def test_spoken_skip_marks_stage_and_skips_the_request_turn(clock):
    m = make(clock)
    t = Turns(m)
    t.exchange()
    t.agent()
    t.candidate()  # "let's skip this part" committed provisionally as an answer
    effects = m.skip("spoken")
    assert StageChanged("introduction", "experience", "skip:spoken") in effects
    assert m.stages[1].status == "skipped" and m.stages[1].skip_source == "spoken"
    assert m.stages[1].answers == 0  # the request was not an answer
    assert m.skipped_stages == ["introduction"]


def test_greeting_and_closing_cannot_be_skipped(clock):
    m = make(clock)
    assert m.skip("client") == [Rejected("skip", "not_skippable")]
    assert m.current.id == "greeting"


def test_client_skip_names_the_stage_and_replays_are_harmless(clock):
    m = make(clock)
    t = Turns(m)
    t.exchange()
    assert m.current.id == "introduction"
    first = m.skip("client", stage_id="introduction", request_id="r1")
    assert any(isinstance(e, StageChanged) for e in first)
    assert m.skip("client", stage_id="introduction", request_id="r1") == []  # replay
    assert m.skip("client", stage_id="introduction", request_id="r2") == [
        Rejected("skip", "stale_stage")
    ]  # late duplicate
    assert m.current.id == "experience"
    assert m.skipped_stages == ["introduction"]


def test_spoken_end_needs_confirmation(clock):
    m = make(clock)
    t = Turns(m)
    t.exchange()
    t.agent()
    t.candidate()  # "I want to stop"
    assert m.request_end() == []
    assert m.pending_end and not m.terminal
    t.agent()  # "are you sure?" does not count as a question
    assert m.stages[1].questions_asked == 1
    t.candidate()  # "yes"
    assert m.confirm_end() == [Ended("candidate_request", "introduction")]
    assert m.stages[1].status == "ended"
    assert [r.status for r in m.stages[2:]] == ["not_reached"] * 5


def test_confirm_without_request_is_refused(clock):
    m = make(clock)
    assert m.confirm_end() == [Rejected("confirm_end", "no_pending_request")]
    assert not m.terminal


def test_cancelled_and_lapsed_end_requests(clock):
    m = make(clock)
    t = Turns(m)
    t.exchange()
    t.agent()
    t.candidate()
    m.request_end()
    t.agent()
    t.candidate()  # "no, let's continue"
    m.cancel_end()
    assert not m.pending_end and not m.terminal
    m.request_end()
    t.agent()  # confirmation question
    t.candidate()  # an unrelated answer
    t.agent()  # the interviewer moved on without a confirmation
    assert not m.pending_end
    assert m.confirm_end() == [Rejected("confirm_end", "no_pending_request")]


def test_client_end_is_immediate_and_idempotent(clock):
    m = make(clock)
    t = Turns(m)
    t.exchange()
    assert m.client_end(request_id="e1") == [Ended("client_request", "introduction")]
    assert m.client_end(request_id="e1") == []
    assert m.client_end(request_id="e2") == []
    assert m.shutdown() == [] and m.fail("x") == []
    assert m.ended_by == "client_request"


def test_repeat_does_not_count_as_question_or_answer(clock):
    m = make(clock)
    t = Turns(m)
    t.exchange()
    t.agent()
    t.candidate()  # "could you repeat that?"
    m.not_an_answer("repeat")
    assert m.stages[1].answers == 0
    t.agent()  # the repeated question
    assert m.stages[1].questions_asked == 1
    assert m.stages[1].repeats == 1
    t.candidate()
    assert m.stages[1].answers == 1


def test_give_me_a_moment_holds_off_the_silence_prompt(clock):
    m = make(clock, silence_prompt_s=20, moment_s=90)
    t = Turns(m)
    t.agent()
    t.candidate()
    m.not_an_answer("moment")
    clock.advance(60)
    assert m.tick() == []
    clock.advance(31)
    assert m.tick() == [SilencePrompt()]


def test_long_silence_prompts_then_ends_inactivity(clock):
    m = make(clock, silence_prompt_s=20, silence_end_s=30)
    Turns(m).agent()
    clock.advance(19)
    assert m.tick() == []
    clock.advance(2)
    assert m.tick() == [SilencePrompt()]
    clock.advance(29)
    assert m.tick() == []
    clock.advance(2)
    assert m.tick() == [Ended("inactivity", "greeting")]


def test_speaking_candidate_is_never_silent(clock):
    m = make(clock, silence_prompt_s=20)
    m.activity("candidate", True)
    clock.advance(300)
    assert m.tick() == []


def test_candidate_left_grace_period_and_return(clock):
    m = make(clock, reconnect_grace_s=30)
    t = Turns(m)
    t.exchange()
    m.participant_left()
    clock.advance(20)
    assert m.tick() == []
    m.participant_returned()
    clock.advance(20)
    assert not m.terminal
    m.participant_left()
    clock.advance(31)
    assert m.tick() == [Ended("candidate_left", "introduction")]


def test_final_departure_ends_at_once(clock):
    m = make(clock)
    assert m.participant_left(final=True) == [Ended("candidate_left", "greeting")]


def test_error_and_shutdown(clock):
    m = make(clock)
    assert m.fail("llm 401") == [Ended("error", "greeting")]
    assert m.end_reason == "llm 401"
    m2 = make(clock)
    assert m2.shutdown() == [Ended("worker_shutdown", "greeting")]


def test_end_before_start_has_no_final_stage(clock):
    m = InterviewMachine(DEFAULT_PLAN, clock=clock)
    assert m.fail("bad keys") == [Ended("error", None)]
    assert all(r.status == "not_reached" for r in m.stages)


def test_duplicate_and_fragment_turns_change_nothing(clock):
    m = make(clock)
    m.agent_turn("a1")
    m.candidate_turn("c1")
    snapshot = (m.current.id, [(r.questions_asked, r.answers) for r in m.stages])
    m.agent_turn("a1")
    m.candidate_turn("c1")
    m.candidate_turn("c2")  # a second fragment with no agent turn in between
    assert (m.current.id, [(r.questions_asked, r.answers) for r in m.stages]) == snapshot


def test_finish_stage_is_guarded_by_min_questions(clock):
    m = make(clock)
    t = Turns(m)
    t.exchange()
    assert m.current.id == "introduction"
    assert m.finish_stage() == [Rejected("finish_stage", "min_questions_not_met")]
    t.exchange()
    assert StageChanged("introduction", "experience", "goal_covered") in m.finish_stage()


def test_snapshot_matches_the_client_contract(clock):
    m = make(clock, max_duration_s=1800)
    clock.advance(100)
    snap = m.snapshot()
    assert snap == {
        "stage": "greeting",
        "stage_index": 0,
        "stage_count": 7,
        "skipped_stages": [],
        "remaining_s": 1700,
        "status": "running",
    }
    m.client_end()
    assert m.snapshot()["status"] == "ending"
    m.mark_ended()
    assert m.snapshot()["status"] == "ended"


def test_plan_override_keeps_order_and_bookends():
    plan = build_plan(["behavioral", "technical"])
    assert [s.id for s in plan] == ["greeting", "technical", "behavioral", "closing"]
    with pytest.raises(ValueError, match="unknown stage"):
        build_plan(["technical", "karaoke"])


def test_the_model_alone_cannot_confirm_an_end(clock):
    m = make(clock)
    t = Turns(m)
    t.exchange()
    t.agent()
    t.candidate()  # "I want to stop"
    m.request_end()
    # the same reply asks to end and "confirms" it: refused, the candidate must answer
    assert m.confirm_end() == [Rejected("confirm_end", "not_confirmed_yet")]
    assert m.pending_end and not m.terminal
    t.agent()  # "are you sure?"
    t.candidate()  # "yes"
    assert m.confirm_end() == [Ended("candidate_request", "introduction")]


def test_one_stage_skipped_or_finished_per_candidate_turn(clock):
    m = make(clock)
    t = Turns(m)
    t.exchange()  # greeting answered: now introduction
    t.agent()
    t.candidate()  # "let's skip ahead"
    assert m.skip("spoken")[0] == StageChanged("introduction", "experience", "skip:spoken")
    # the same reply tries to skip three more stages
    for _ in range(3):
        assert m.skip("spoken") == [Rejected("skip", "one_per_turn")]
    assert m.current.id == "experience" and m.skipped_stages == ["introduction"]
    t.agent()
    t.candidate()  # one answer in experience (min 1)
    assert m.finish_stage() == [StageChanged("experience", "technical", "goal_covered")]
    assert m.finish_stage() == [Rejected("finish_stage", "one_per_turn")]
    t.agent()
    t.candidate()  # a new turn: the next request may be granted
    assert m.skip("spoken")[0].current == "behavioral"
    # a client skip is the user's own click, never limited
    assert m.skip("client", stage_id="behavioral")[0].current == "candidate_questions"


def test_a_refused_spoken_skip_is_neither_an_answer_nor_a_new_question(clock):
    m = make(clock)
    t = Turns(m)
    t.agent()  # greeting question
    t.candidate()  # "skip this" (provisionally an answer: greeting would complete)
    assert m.skip("spoken") == [Rejected("skip", "not_skippable")]
    assert m.current.id == "greeting" and m.record.answers == 0
    t.agent()  # "we can't skip this part" + the same question
    assert m.record.questions_asked == 1


def test_resume_continues_where_the_lost_job_stopped(clock):
    m = make(clock)
    t = Turns(m)
    for _ in range(3):
        t.exchange()  # greeting, then two introduction answers: now experience
    t.agent()  # the first experience question, unanswered when the job died
    clock.advance(100)
    m.shutdown()
    saved = [
        {"id": r.id, "status": "not_reached" if r.status == "pending" else r.status,
         "questions_asked": r.questions_asked, "answers": r.answers, "repeats": r.repeats,
         "started_at": r.started_at, "ended_at": r.ended_at, "skip_source": r.skip_source}
        for r in m.stages
    ]  # fmt: skip
    started = m.started_at
    clock.advance(30)
    r = InterviewMachine.resume(
        DEFAULT_PLAN, saved, started_at=started, clock=clock, limits=Limits(), awaiting_answer=True
    )
    assert r.current.id == "experience" and r.status == "running" and not r.terminal
    assert [s.status for s in r.stages] == ["completed", "completed", "active", *["pending"] * 4]
    assert r.elapsed_s() == 130  # the clock counts from the original start
    rt = Turns(r)
    rt.agent()  # "sorry, we were cut off" + the same question: not a new question
    assert r.record.questions_asked == 1
    rt.candidate()
    assert r.record.answers == 1
    rest = run_to_completion(r)
    assert r.ended_by == "completed" and any(isinstance(e, Ended) for e in rest)


def test_resume_after_an_answer_asks_the_next_question(clock):
    m = make(clock)
    t = Turns(m)
    t.exchange()
    t.agent()
    t.candidate()  # answered; the job died before replying
    m.shutdown()
    saved = [{"id": s.id, "status": s.status, "questions_asked": s.questions_asked,
              "answers": s.answers} for s in m.stages]  # fmt: skip
    r = InterviewMachine.resume(
        DEFAULT_PLAN, saved, started_at=m.started_at, clock=clock, awaiting_answer=False
    )
    Turns(r).agent()
    assert r.current.id == "introduction" and r.record.questions_asked == 2


def test_an_answer_resumed_after_the_interviewer_started_undoes_the_stage_change(clock):
    m = make(clock)
    t = Turns(m)
    t.exchange()  # greeting answered: introduction
    intro = m.stage_index
    for _ in range(m.plan[intro].max_questions):
        t.agent()
        t.candidate()
    assert m.stage_index == intro + 1  # the last answer moved the interview on ...
    assert m.answer_pending
    m.answer_resumed()  # ... but the candidate went on speaking over the next question
    assert m.stage_index == intro and m.stages[intro].status == "active"
    assert m.stages[intro].answers == m.plan[intro].max_questions - 1
    t.candidate()  # the rest of the answer completes it, once
    assert m.stage_index == intro + 1
    assert m.stages[intro].answers == m.plan[intro].max_questions
    t.agent()  # the next stage's first question, heard in full
    assert not m.answer_pending and m.answer_resumed() == []
