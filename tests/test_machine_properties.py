"""Property tests: any sequence of events leaves the machine consistent."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from stages.definitions import DEFAULT_PLAN, build_plan
from stages.machine import (
    ENDED_BY_VALUES,
    MAX_FOLLOW_UPS,
    NON_ANSWERS,
    Ended,
    InterviewMachine,
    Limits,
    Rejected,
)

from .conftest import FakeClock

EVENTS = st.one_of(
    st.tuples(st.just("agent"), st.integers(0, 40)),
    st.tuples(st.just("candidate"), st.integers(0, 40)),
    st.tuples(st.just("skip_spoken"), st.none()),
    st.tuples(st.just("skip_client"), st.sampled_from([s.id for s in DEFAULT_PLAN] + [None])),
    st.tuples(st.just("finish"), st.none()),
    st.tuples(st.just("request_end"), st.none()),
    st.tuples(st.just("confirm_end"), st.none()),
    st.tuples(st.just("cancel_end"), st.none()),
    st.tuples(st.just("client_end"), st.integers(0, 3)),
    st.tuples(st.just("non_answer"), st.sampled_from(NON_ANSWERS)),
    st.tuples(st.just("follow_up"), st.none()),
    st.tuples(st.just("left"), st.booleans()),
    st.tuples(st.just("returned"), st.none()),
    st.tuples(st.just("speaking"), st.booleans()),
    st.tuples(st.just("wait"), st.floats(0, 400)),
    st.tuples(st.just("fail"), st.none()),
    st.tuples(st.just("shutdown"), st.none()),
)


def apply(m: InterviewMachine, clock: FakeClock, event: tuple) -> list:
    kind, arg = event
    match kind:
        case "agent":
            return m.agent_turn(f"a{arg}")
        case "candidate":
            return m.candidate_turn(f"c{arg}")
        case "skip_spoken":
            return m.skip("spoken")
        case "skip_client":
            return m.skip("client", stage_id=arg)
        case "finish":
            return m.finish_stage()
        case "request_end":
            return m.request_end()
        case "confirm_end":
            return m.confirm_end()
        case "cancel_end":
            return m.cancel_end()
        case "client_end":
            return m.client_end(request_id=f"e{arg}")
        case "non_answer":
            return m.not_an_answer(arg)
        case "follow_up":
            return m.follow_up()
        case "left":
            return m.participant_left(final=arg)
        case "returned":
            m.participant_returned()
            return []
        case "speaking":
            m.activity("candidate", arg)
            return []
        case "wait":
            clock.advance(arg)
            return m.tick()
        case "fail":
            return m.fail("boom")
        case "shutdown":
            return m.shutdown()
    raise AssertionError(kind)


def check_consistent(m: InterviewMachine, ended: list[Ended]) -> None:
    plan_ids = [s.id for s in m.plan]
    assert len(ended) <= 1
    if m.terminal:
        assert len(ended) == 1
        assert ended[0].ended_by == m.ended_by
        assert m.ended_by in ENDED_BY_VALUES
        assert m.final_stage is None or m.final_stage in plan_ids
    else:
        assert not ended
    # stage statuses follow plan order: done stages, then at most one current, then pending
    statuses = [r.status for r in m.stages]
    idx = m.stage_index
    assert all(s in ("completed", "skipped") for s in statuses[:idx])
    if not m.terminal and m.status == "running":
        assert statuses[idx] == "active"
        assert all(s == "pending" for s in statuses[idx + 1 :])
    if m.terminal and m.status != "not_started":
        assert all(s in ("not_reached", "skipped") for s in statuses[idx + 1 :])
    skipped = m.skipped_stages
    assert skipped == [p for p in plan_ids if p in skipped]  # plan order, no duplicates
    for r, s in zip(m.stages, m.plan, strict=True):
        assert 0 <= r.answers <= r.questions_asked <= s.max_questions


@settings(max_examples=400, deadline=None)
@given(st.lists(EVENTS, max_size=80), st.booleans())
def test_random_event_sequences_stay_consistent(events, custom_plan):
    clock = FakeClock()
    plan = build_plan(["technical", "behavioral"]) if custom_plan else DEFAULT_PLAN
    m = InterviewMachine(plan, clock=clock, limits=Limits(max_duration_s=900))
    ended: list[Ended] = []
    ended += [e for e in m.start() if isinstance(e, Ended)]
    for event in events:
        effects = apply(m, clock, event)
        ended += [e for e in effects if isinstance(e, Ended)]
        check_consistent(m, ended)


@settings(max_examples=200, deadline=None)
@given(st.lists(EVENTS, max_size=60))
def test_replaying_the_same_event_twice_changes_nothing(events):
    """Turn events carry ids: delivering each one twice equals delivering it once."""
    clock_a, clock_b = FakeClock(), FakeClock()
    a = InterviewMachine(DEFAULT_PLAN, clock=clock_a)
    b = InterviewMachine(DEFAULT_PLAN, clock=clock_b)
    a.start()
    b.start()
    for event in events:
        if event[0] not in ("agent", "candidate", "client_end"):
            continue
        apply(a, clock_a, event)
        apply(b, clock_b, event)
        apply(b, clock_b, event)
        assert a.snapshot() == b.snapshot()
        assert [(r.status, r.questions_asked, r.answers) for r in a.stages] == [
            (r.status, r.questions_asked, r.answers) for r in b.stages
        ]


@settings(max_examples=200, deadline=None)
@given(st.lists(EVENTS, max_size=80))
def test_every_interview_ends_once_when_the_worker_stops(events):
    clock = FakeClock()
    m = InterviewMachine(DEFAULT_PLAN, clock=clock)
    m.start()
    ended = 0
    for event in events:
        ended += sum(isinstance(e, Ended) for e in apply(m, clock, event))
    ended += sum(isinstance(e, Ended) for e in m.shutdown())
    assert ended == 1
    assert m.terminal and m.ended_by in ENDED_BY_VALUES


def _counts(m: InterviewMachine) -> tuple:
    return (m.stage_index, [(r.status, r.questions_asked, r.answers) for r in m.stages])


TURNS = st.lists(
    st.one_of(
        st.just(("answer", None)),
        st.tuples(st.just("non_answer"), st.sampled_from(NON_ANSWERS)),
        st.just(("follow_up", None)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(TURNS)
def test_a_turn_that_is_not_an_answer_never_moves_the_interview_or_uses_a_question(turns):
    """Whatever the mix of answers, hints, "I don't know"s, asides and follow-ups: a turn
    the interviewer treats as not an answer leaves stages, questions and answers as they
    were before it, and the reply to it is not a new question. Only "I don't know" said a
    second time about one question counts (as the answer), and follow-ups stop at
    ``MAX_FOLLOW_UPS``."""
    clock = FakeClock()
    m = InterviewMachine(DEFAULT_PLAN, clock=clock, limits=Limits(max_duration_s=7200))
    m.start()
    m.agent_turn("a-start")
    for n, (kind, arg) in enumerate(turns):
        if m.terminal:
            break
        clock.advance(5)
        before = _counts(m)
        m.candidate_turn(f"c{n}")
        if kind == "answer":
            m.agent_turn(f"a{n}")
            continue
        effects = m.not_an_answer(arg) if kind == "non_answer" else m.follow_up()
        refused = {e.reason for e in effects if isinstance(e, Rejected)}
        if refused & {"move_on", "enough_follow_ups"}:
            m.agent_turn(f"a{n}")
            continue  # counted as the answer after all
        assert _counts(m) == before, (kind, arg)
        m.agent_turn(f"a{n}")
        assert [r.questions_asked for r in m.stages] == [q for _, q, _ in before[1]]


def test_follow_ups_stop_and_hints_are_one_per_question():
    clock = FakeClock()
    m = InterviewMachine(DEFAULT_PLAN, clock=clock)
    m.start()
    m.agent_turn("a0")
    for i in range(MAX_FOLLOW_UPS):
        m.candidate_turn(f"f{i}")
        assert m.follow_up() == []
        m.agent_turn(f"fa{i}")
    m.candidate_turn("f-last")
    assert m.follow_up() == [Rejected("follow_up", "enough_follow_ups")]
    m.agent_turn("next")  # a new question: its own hint and follow-ups
    m.candidate_turn("h1")
    assert m.not_an_answer("hint") == []
    m.agent_turn("hint-reply")
    m.candidate_turn("h2")
    assert m.not_an_answer("hint") == [Rejected("hint", "hint_given")]
