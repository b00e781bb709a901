"""Time-boxed answers: the limit, the machine's rule, the record, the words said first.

The rules in plain data (``stages/timebox.py``), the machine refusing a follow-up on an
answer past its limit, the record timing an answer from the candidate's first words and
marking it, the turn-taking waiting only briefly at the end of a sentence once the limit
has passed (never in unfinished words), and the interviewer's own sentence said word for
word before its reply through the real ``AgentSession``. A real voice interview past a
limit is ``tests/test_timebox_voice.py``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agent.audio import VAD_SILENCE_S, SessionVAD, load_vad
from agent.config import Settings
from agent.runtime import InterviewRuntime
from agent.session import providers_for
from agent.turn_taking import TurnWatch
from contracts.client import AnswerCues
from persistence.outbox import Outbox
from persistence.sqlite_store import SqliteStore
from providers import ProviderKeys
from stages.bank import Question, QuestionBank
from stages.definitions import (
    BEHAVIORAL,
    CANDIDATE_QUESTIONS,
    CLOSING,
    DEFAULT_PLAN,
    GREETING,
    INTRODUCTION,
    TECHNICAL,
)
from stages.machine import InterviewMachine, Limits, Rejected
from stages.metadata import parse_metadata
from stages.timebox import (
    BOXED_SILENCE_S,
    BOXED_WAIT_S,
    MIN_LIMIT_S,
    answer_limit,
    interjection,
    stage_budgets,
)

from .fakes import offline_text_interview, typed_interview


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------- the rules as data


@given(st.floats(min_value=120, max_value=7200))
def test_stage_budgets_fit_the_interview_and_never_grow(max_duration_s: float) -> None:
    budgets = stage_budgets(DEFAULT_PLAN, max_duration_s)
    assert sum(budgets.values()) <= max_duration_s + 1e-6
    for stage in DEFAULT_PLAN:
        assert 0 < budgets[stage.id] <= stage.time_budget_s
    if max_duration_s >= sum(s.time_budget_s for s in DEFAULT_PLAN):
        assert budgets == {s.id: s.time_budget_s for s in DEFAULT_PLAN}


def test_a_limit_is_the_questions_own_else_its_stages_within_the_budget() -> None:
    own = Question(id="q", text="Design a rate limiter.", time_limit_s=90)
    assert answer_limit(TECHNICAL, own, 540) == 90
    assert answer_limit(TECHNICAL, None, 540) == TECHNICAL.answer_limit_s == 150
    assert answer_limit(TECHNICAL, Question(id="p", text="Anything."), 540) == 150
    assert answer_limit(TECHNICAL, None, 100) == 100  # a short interview: the stage's share
    assert answer_limit(TECHNICAL, None, 5) == MIN_LIMIT_S  # never absurdly short
    for no_answers in (GREETING, CANDIDATE_QUESTIONS, CLOSING):
        assert answer_limit(no_answers, own, 500) is None
    assert answer_limit(None, own, 500) is None
    assert answer_limit(replace(BEHAVIORAL, answer_limit_s=None), None, 500) is None


def test_the_interjection_names_what_there_is_time_for() -> None:
    assert interjection(None).endswith("time for the next question.")
    assert interjection(BEHAVIORAL).endswith("time for the behavioral questions.")
    assert interjection(CANDIDATE_QUESTIONS).endswith("time for your questions.")
    assert interjection(CLOSING).endswith("so that we can finish on time.")
    for stage in (None, *DEFAULT_PLAN):
        said = interjection(stage)
        assert said.startswith("Thank you, let me stop you there") and said.count(".") == 1


def test_a_bundled_or_stored_questions_own_limit_is_read() -> None:
    bank = QuestionBank(
        {"roles": [{"id": "r", "title": "R", "technical": [
            {"id": "t1", "text": "Explain caching.", "time_limit_s": 75},
            {"id": "t2", "text": "Explain queues.", "time_limit_s": "soon"},
            {"id": "t3", "text": "Explain locks.", "time_limit_s": -4},
        ]}], "generic": {}},
    )  # fmt: skip
    limits = [q.time_limit_s for q in bank.roles[0].technical]
    assert limits == [75.0, None, None]


# ---------------------------------------------------------------- the machine


def _machine_in(stage_index: int, clock: Clock) -> InterviewMachine:
    m = InterviewMachine(DEFAULT_PLAN, clock=clock, limits=Limits(max_duration_s=1800))
    m.start()
    for i in range(stage_index):
        m._enter(i + 1, "test")
    m.agent_turn("q1")
    return m


def test_no_follow_up_on_an_answer_past_its_limit() -> None:
    clock = Clock()
    m = _machine_in(2, clock)
    m.candidate_turn("a1", boxed=True)
    assert m.answer_boxed
    assert m.follow_up() == [Rejected("follow_up", "time_boxed")]
    assert m.record.answers == 1  # the answer counts, whole
    m.agent_turn("q2")
    assert not m.answer_boxed
    m.candidate_turn("a2")
    assert m.follow_up() == []  # an answer in time may be followed up


def test_a_boxed_turn_that_was_a_request_after_all_is_not_boxed() -> None:
    m = _machine_in(2, Clock())
    m.candidate_turn("a1", boxed=True)
    m.not_an_answer("repeat")
    assert not m.answer_boxed and m.record.answers == 0


# ---------------------------------------------------------------- the record


def _ready(clock: Clock, stages: str = '["introduction"]') -> InterviewRuntime:
    """Greeted, and the candidate said they are ready."""
    md = parse_metadata(f'{{"stages": {stages}}}', require_user=False)
    rt = InterviewRuntime(md, room_name="timebox", clock=clock)
    rt.start()
    rt.reply_done("r0", {"g"}, "Hello! Are you ready to begin?")
    rt.candidate_turn("c0", "Yes.", clock.now)
    return rt


def _record(clock: Clock, stages: str = '["introduction"]') -> InterviewRuntime:
    """The first question asked."""
    rt = _ready(clock, stages)
    rt.reply_done("r1", {"q"}, "Tell me about yourself.")
    return rt


def test_an_answer_is_timed_from_its_first_words_and_boxed_past_its_limit() -> None:
    clock = Clock()
    rt = _record(clock)
    assert rt.stage is INTRODUCTION and rt.answer_limit_s() == 120
    clock.now += 20  # the candidate thinks before speaking: not counted
    rt.speaking("candidate", True)
    clock.now += 100
    rt.speaking("candidate", False)
    assert not rt.answer_overtime()
    rt.speaking("candidate", True)
    clock.now += 25
    assert rt.answer_overtime()
    rt.candidate_turn("c1", "I have built payment systems for ten years.", clock.now - 125)
    said = rt.transcript.messages[-1]
    assert said.time_boxed and said.time_limit_s == 120
    assert said.to_json()["time_boxed"] is True and said.to_json()["time_limit_s"] == 120
    assert rt.prefaces() == [interjection(None)]
    assert rt.answer_boxed and "Do not say them again" in rt.instructions()
    # the reply that said it clears it, and the next answer's clock starts afresh
    rt.reply_done("r2", {"q2"}, f"{interjection(None)} Why this role?")
    assert rt.prefaces() == [] and not rt.answer_boxed
    rt.speaking("candidate", True)
    clock.now += 30
    assert not rt.answer_overtime()


def test_an_answer_in_time_is_not_boxed_and_nothing_is_said_first() -> None:
    clock = Clock()
    rt = _record(clock)
    rt.speaking("candidate", True)
    clock.now += 119
    rt.candidate_turn("c1", "I build payment systems.", clock.now - 119)
    assert not rt.transcript.messages[-1].time_boxed
    assert rt.prefaces() == [] and not rt.answer_boxed
    assert "time_boxed" not in rt.transcript.messages[-1].to_json()


def test_a_typed_interview_has_no_answer_clock() -> None:
    clock = Clock()
    rt = _record(clock)
    clock.now += 600  # no voice activity: typing is not timed
    rt.candidate_turn("c1", "A very long typed answer.", clock.now)
    assert not rt.transcript.messages[-1].time_boxed and rt.prefaces() == []


def test_a_reply_cut_off_by_the_candidate_going_on_keeps_the_clock() -> None:
    clock = Clock()
    rt = _record(clock)
    rt.speaking("candidate", True)
    clock.now += 125
    rt.candidate_turn("c1", "First part of my story.", clock.now - 125)
    assert rt.prefaces()
    # the interviewer begins its sentence; the candidate talks over it at once
    rt.reply_done("r2", {"x"}, "Thank you", interrupted=True)
    assert rt.prefaces() == [interjection(None)]  # not said yet: said at the next end
    assert rt.answer_overtime()  # the same answer, still past its limit


def test_an_answer_begun_over_the_questions_last_words_is_timed_from_the_question() -> None:
    """A candidate who starts answering before the question's reply is done (over its
    last words, or before its playout is reported finished) is timed from when the
    question was done, and boxed past the limit, with no pause needed to start the clock."""
    clock = Clock()
    rt = _ready(clock)
    rt.speaking("candidate", True)  # answering already
    clock.now += 0.4
    rt.reply_done("r1", {"q"}, "Tell me about yourself.")
    clock.now += 119.5  # one breath
    assert not rt.answer_overtime()
    clock.now += 1
    assert rt.answer_overtime()
    rt.candidate_turn("c1", "I build payment systems, and much more.", clock.now - 120.9)
    assert rt.transcript.messages[-1].time_boxed
    assert rt.prefaces() == [interjection(None)]


def test_an_answer_whose_first_words_were_counted_early_starts_its_clock_at_the_next() -> None:
    """The clock starts at the first voice heard while the answer is being given, even if
    a preemptive reply counted a draft of it before (typed first words, a voice missed)."""
    clock = Clock()
    rt = _record(clock)
    rt.candidate_turn("c1", "Well.", clock.now)  # counted early, no voice heard yet
    rt.speaking("candidate", True)
    clock.now += 125
    assert rt.answer_overtime()


def test_the_turn_taking_waits_briefly_only_at_the_end_of_a_sentence_past_the_limit() -> None:
    clock = Clock()
    rt = _record(clock)
    watch = TurnWatch(rt)
    rt.speaking("candidate", True)
    watch.finals = ["I led the migration of our billing system."]
    assert watch.decide().seconds > BOXED_WAIT_S  # in time: the usual wait
    clock.now += 130
    assert watch.decide().seconds == BOXED_WAIT_S
    watch.finals.append("And then we also added a")
    assert watch.decide().seconds >= 4.0  # a thinking pause: never cut mid-thought


async def test_past_the_limit_the_sessions_vad_hears_the_end_of_the_voice_sooner() -> None:
    clock = Clock()
    rt = _record(clock)
    session_vad = SessionVAD(load_vad())
    watch = TurnWatch(rt, vad=session_vad)
    session = _Endpointing()
    watch.attach(session)  # type: ignore[arg-type]
    rt.speaking("candidate", True)
    watch.finals = ["I led the migration of our billing system."]
    watch.apply()
    assert session_vad.silence_s == VAD_SILENCE_S  # in time
    clock.now += 130
    watch.apply()
    assert session_vad.silence_s == BOXED_SILENCE_S
    assert session.delays[-1] == BOXED_WAIT_S
    rt.candidate_turn("c1", watch.text, clock.now - 130)
    rt.reply_done("r1", {"a1"}, f"{interjection(None)} What came next?")
    watch.finals = []
    watch.apply()  # the next answer's clock has not started: the VAD's own silence
    assert session_vad.silence_s == VAD_SILENCE_S


class _Endpointing:
    """What the watch needs of an ``AgentSession``: its events and its endpointing."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def on(self, event: str, handler: Any) -> None:
        pass

    def update_options(self, *, endpointing_opts: dict[str, Any]) -> None:
        self.delays.append(endpointing_opts["min_delay"])


# ---------------------------------------------------------------- said first, word for word


async def test_the_interviewers_own_sentence_is_said_first_and_once() -> None:
    md = parse_metadata('{"job_role": "Backend Developer"}', require_user=False)
    rt = InterviewRuntime(md, room_name="prefaces")
    async with offline_text_interview(rt) as (session, driver):
        rt.preface("A word from the worker first.")
        await session.run(user_input="Yes, I am ready.")
        await driver.settle(10)
        await session.run(user_input="I build payment systems for a bank, mostly in Go.")
        await driver.settle(10)
    agent = [m.text for m in rt.transcript.messages if m.role == "agent"]
    assert agent[1].startswith("A word from the worker first. ")
    assert len(agent[1]) > len("A word from the worker first. ")  # the reply follows
    assert all("A word from the worker" not in t for t in agent[2:])


# ---------------------------------------------------------------- live delivery cues


async def _cued_interview(tmp_path, metadata: str, turns: list[str]) -> tuple[list[dict], Any]:
    md = parse_metadata(metadata, require_user=False)
    rt = InterviewRuntime(md, room_name="cues")
    sent: list[dict] = []

    async def collect(cues: dict) -> None:
        sent.append(cues)

    providers = providers_for(Settings(_env_file=None), ProviderKeys(), rt, vad=None)
    await typed_interview(
        rt, providers, store=SqliteStore(tmp_path / "s.db"), outbox=Outbox(tmp_path / "o.db"),
        turns=turns, publish_cues=collect,
    )  # fmt: skip
    return sent, rt


async def test_each_answer_gets_its_delivery_cues_and_nothing_else_does(tmp_path) -> None:
    answer = "Um, I build payment systems, you know, for a bank, mostly in Go and Postgres."
    sent, rt = await _cued_interview(
        tmp_path, '{"job_role": "Backend Developer"}',
        ["Yes, I am ready.", answer, "Could you repeat the question?"],
    )  # fmt: skip
    assert len(sent) == 1, sent  # "ready" is no answer, nor is a request to repeat
    cue = AnswerCues.model_validate(sent[0])  # the published contract
    assert cue.interview_id == rt.identity.interview_id and cue.answer == 1
    assert cue.stage == "introduction" and cue.words == 15
    assert cue.filler_words == {"um": 1, "you know": 1} and cue.fillers_per_100_words == 13.33
    assert cue.duration_s is None and cue.words_per_minute is None  # typed: no pace
    assert cue.time_limit_s == 120 and cue.share_of_limit is None and not cue.time_boxed
    assert set(sent[0]) <= set(AnswerCues.model_fields)  # delivery only: no judgement


async def test_cues_are_off_when_the_metadata_says_so(tmp_path) -> None:
    sent, _ = await _cued_interview(
        tmp_path, '{"job_role": "Backend Developer", "live_cues": false}',
        ["Yes, I am ready.", "I build payment systems for a bank, mostly in Go."],
    )  # fmt: skip
    assert sent == []
    md = parse_metadata('{"live_cues": "no"}', require_user=False)
    assert md.live_cues and any("live_cues" in w for w in md.warnings)
