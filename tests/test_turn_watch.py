"""The turn watch applies the wait the policy chooses, for the question the turn answers.

A turn's provisional commit (preemptive generation builds a reply on the final
transcript before the turn has ended) can move the stage on; the wait must still be the
one for the question the candidate was answering. Before this was fixed, "Yes, I am
ready to begin." after the greeting was first given the brief wait and then, once the
greeting stage had moved on, the wait for an answer that is too short.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from livekit.agents.voice.events import (
    AgentStateChangedEvent,
    UserInputTranscribedEvent,
    UserStateChangedEvent,
)

from agent.runtime import InterviewRuntime
from agent.turn_taking import TurnWatch
from stages.metadata import parse_metadata
from stages.turns import ANSWER_FINISHED_S, BRIEF_S, SHORT_STORY_CAP_S, UNFINISHED_S


class Session:
    """What the watch needs of an ``AgentSession``: its events and its endpointing."""

    def __init__(self) -> None:
        self.handlers: dict[str, Callable[[Any], None]] = {}
        self.delays: list[float] = []

    def on(self, event: str, handler: Callable[[Any], None]) -> None:
        self.handlers[event] = handler

    def update_options(self, *, endpointing_opts: dict[str, Any]) -> None:
        assert endpointing_opts["min_delay"] == endpointing_opts["max_delay"]
        self.delays.append(endpointing_opts["min_delay"])


def interview(greeting: str) -> InterviewRuntime:
    md = parse_metadata(json.dumps({"job_role": "Backend Developer"}), require_user=False)
    rt = InterviewRuntime(md, room_name="watch")
    rt.start()
    rt.record_message(
        turn_id="greet", role="agent", text=greeting, started_at=1.0, ended_at=3.0,
        interrupted=False, metrics={},
    )  # fmt: skip
    rt.reply_done("r0", {"greet"}, greeting)
    return rt


def heard(session: Session, text: str, *, final: bool) -> None:
    session.handlers["user_input_transcribed"](
        UserInputTranscribedEvent(transcript=text, is_final=final)
    )


def test_a_brief_reply_keeps_its_wait_when_its_provisional_commit_moves_the_stage_on():
    rt = interview("Hello Ada! Are you ready to begin?")
    watch, session = TurnWatch(rt), Session()
    watch.attach(session)  # type: ignore[arg-type]
    heard(session, "Yes I am", final=False)
    assert session.delays[-1] == BRIEF_S
    rt.candidate_turn("u1", "Yes, I am ready to begin.", 4.0)  # the reply is being built
    assert rt.stage is not None and rt.stage.id == "introduction"
    heard(session, "Yes, I am ready to begin.", final=True)
    assert session.delays[-1] == BRIEF_S
    assert watch.decide().reason == "a brief reply or a request"


def test_the_next_question_is_read_afresh_once_the_turn_is_committed():
    rt = interview("Hello Ada! Are you ready to begin?")
    watch, session = TurnWatch(rt), Session()
    watch.attach(session)  # type: ignore[arg-type]
    heard(session, "Yes, I am ready.", final=True)
    rt.candidate_turn("u1", "Yes, I am ready.", 4.0)
    committed = type("Item", (), {"type": "message", "role": "user"})()
    session.handlers["conversation_item_added"](type("Ev", (), {"item": committed})())
    question = "Thank you. Tell me about a time you solved a hard problem."
    rt.record_message(
        turn_id="q1", role="agent", text=question, started_at=5.0, ended_at=8.0,
        interrupted=False, metrics={},
    )  # fmt: skip
    rt.reply_done("r1", {"q1"}, question)
    heard(session, "I fixed our flaky deploys.", final=True)
    assert ANSWER_FINISHED_S < session.delays[-1] <= SHORT_STORY_CAP_S
    heard(session, "and then we", final=False)
    assert session.delays[-1] >= UNFINISHED_S


# ---------------------------------------------------------------- this candidate's pauses


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def states(session: Session, clock: Clock, *events: tuple[float, str, str]) -> None:
    """Each ``(at, who, state)``: the candidate's state (``speaking``/``listening``) or the
    interviewer's (``speaking``/``listening``), at ``at`` seconds."""
    last = {"user": "listening", "agent": "listening"}
    for at, who, state in events:
        clock.now = at
        event = (UserStateChangedEvent if who == "user" else AgentStateChangedEvent)(
            old_state=last[who],
            new_state=state,  # type: ignore[arg-type]
        )
        last[who] = state
        session.handlers[f"{who}_state_changed"](event)


def watched(monkeypatch: pytest.MonkeyPatch) -> tuple[TurnWatch, Session, Clock]:
    clock = Clock()
    monkeypatch.setattr("agent.turn_taking.time.monotonic", clock)
    rt = interview("Hello Ada! Tell me about a time you solved a hard problem.")
    watch, session = TurnWatch(rt), Session()
    watch.attach(session)  # type: ignore[arg-type]
    watch.finals = ["We moved the reports to a read replica."]
    return watch, session, clock


async def test_a_pause_is_measured_from_the_end_of_the_voice(monkeypatch):
    # the VAD reports the end of speech 0.55 s after the voice stopped (its silence)
    watch, session, clock = watched(monkeypatch)
    states(session, clock, (100.0, "user", "speaking"), (103.55, "user", "listening"),
           (104.0, "user", "speaking"))  # fmt: skip
    assert watch.profile.between_sentences == [pytest.approx(1.0)]


async def test_a_pause_the_interviewer_took_for_the_end_is_learnt_when_they_go_on(monkeypatch):
    watch, session, clock = watched(monkeypatch)
    states(session, clock, (100.0, "user", "speaking"), (103.55, "user", "listening"),
           (103.9, "agent", "speaking"),  # 0.9 s after the voice: the interviewer starts
           (104.1, "user", "speaking"))  # and the candidate goes on over it  # fmt: skip
    assert watch.profile.between_sentences == [pytest.approx(1.1)]


async def test_a_candidate_who_speaks_well_into_the_reply_is_not_pausing(monkeypatch):
    watch, session, clock = watched(monkeypatch)
    states(session, clock, (100.0, "user", "speaking"), (103.55, "user", "listening"),
           (103.9, "agent", "speaking"), (106.0, "user", "speaking"))  # fmt: skip
    assert watch.profile.between_sentences == []
