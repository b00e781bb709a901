"""Pause and continue later: "can we pause and continue later?" (or ``interview.pause``)
saves the interview as paused with its stage, open question and clock; a later dispatch
naming it (``resume_interview_id``, the same user only) continues where it stopped, in a
new room, and the row, the transcript and the report cover both parts.

In process with the real ``AgentSession`` and the offline interviewer, the embedded
store as the database; the same through a real LiveKit room is
``tests/rooms/test_pause_room.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.config import Settings
from agent.runtime import InterviewRuntime
from agent.session import choice_for, providers_for
from agent.worker import ResumeRefused, paused_interview
from interview.record import Interview
from interview.rows import SessionFacts, build_interview
from persistence import InterviewIdentity
from persistence.outbox import Outbox
from persistence.sqlite_store import SqliteStore
from prompts import render
from providers import ProviderKeys
from stages.definitions import DEFAULT_PLAN
from stages.machine import InterviewMachine, Limits, Rejected
from stages.metadata import MetadataError, parse_metadata
from stages.offline import Intent, classify

from .fake_openai import FakeOpenAI, last_user_text
from .fakes import typed_interview
from .rooms.harness import OPENAI_KEY

USER = "9b2f1c9e-1111-4222-8333-444455556666"
OTHER = "9b2f1c9e-1111-4222-8333-777788889999"
METADATA = json.dumps({"user_id": USER, "job_role": "Backend Developer"})


# ---------------------------------------------------------------- the words and the rule


@pytest.mark.parametrize(
    "said",
    ["Can we pause and continue later?", "Could we take a break?", "Let's pause here.",
     "Can we stop now and continue tomorrow?", "I'd like to finish this later.",
     "Please pause the interview."],
)  # fmt: skip
def test_asking_to_pause_is_a_pause(said: str) -> None:
    assert classify(said) is Intent.PAUSE


@pytest.mark.parametrize(
    "said",
    ["We paused the rollout and fixed the bug.", "I want to stop the interview.",
     "I'd like to end this now.", "I took a pause in my career to study."],
)  # fmt: skip
def test_other_words_about_pausing_or_stopping_are_no_pause(said: str) -> None:
    assert classify(said) is not Intent.PAUSE


def test_a_pause_ends_this_part_once_and_the_clock_stops() -> None:
    now = [100.0]
    m = InterviewMachine(DEFAULT_PLAN, clock=lambda: now[0], limits=Limits())
    m.start()
    m.agent_turn("g")
    m.candidate_turn("c")
    (ended,) = m.pause()
    assert ended.ended_by == "paused" and m.ended_by == "paused"
    assert m.pause() == [Rejected("pause", "not_running")]


def test_resume_interview_id_must_be_a_uuid() -> None:
    with pytest.raises(MetadataError):
        parse_metadata(json.dumps({"user_id": USER, "resume_interview_id": "x"}), require_user=True)
    md = parse_metadata(
        json.dumps({"user_id": USER, "resume_interview_id": USER.upper()}), require_user=True
    )
    assert md.resume_interview_id == USER


# ---------------------------------------------------------------- in process


async def _run(rt: InterviewRuntime, store: SqliteStore, outbox: Outbox, turns: list[str]):  # type: ignore[no-untyped-def]
    providers = providers_for(Settings(_env_file=None), ProviderKeys(), rt, vad=None)
    return await typed_interview(rt, providers, store=store, outbox=outbox, turns=turns)


async def test_paused_then_continued_in_a_new_room_is_one_interview(tmp_path: Path) -> None:
    store, outbox = SqliteStore(tmp_path / "s.db"), Outbox(tmp_path / "o.db")
    first = InterviewRuntime(parse_metadata(METADATA, require_user=True), room_name="room-a")
    part1 = [
        "Yes, I am ready.",
        "I build payment systems for a bank, mostly in Go and Postgres, for five years now.",
        "Can we pause and continue later?",
    ]
    row, _ = await _run(first, store, outbox, part1)
    assert row.ended_by == "paused"
    paused = row.metadata["paused"]
    open_question = paused["open_question"]
    assert open_question and paused["stage"] == first.stage.id  # type: ignore[union-attr]
    assert paused["elapsed_s"] >= 0 and paused["at"]
    agent = [m.text for m in first.transcript.messages if m.role == "agent"]
    assert agent[-1] == render("say_paused")  # the interviewer said it was saved
    said = [m for m in first.transcript.messages if m.role == "candidate"]
    assert said[-1].request  # asking to pause is no answer

    # another user's, a missing one: refused alike; the user's own: found
    for who, interview_id in ((OTHER, row.id), (USER, "00000000-0000-4000-8000-000000000000")):
        with pytest.raises(ResumeRefused, match="no paused interview"):
            await paused_interview(store, interview_id, who)
    found = await paused_interview(store, row.id, USER)

    # a new dispatch in another room, naming it
    md = parse_metadata(
        json.dumps({"user_id": USER, "job_role": "Backend Developer",
                    "resume_interview_id": row.id}), require_user=True,
    )  # fmt: skip
    generation = found.record.metadata.get("generation") or 0
    identity = InterviewIdentity(row.id, "room-b", None, generation).continued()
    second = InterviewRuntime(md, identity=identity)
    second.resume_from(found.record)
    assert second.paused_before and second.machine.elapsed_s() == pytest.approx(
        paused["elapsed_s"], abs=1.0
    )  # the time away does not count
    part2 = ["I led the move of our ledger to a new database without downtime last year."]
    final, feedback = await _run(second, store, outbox, part2)

    assert final.id == row.id and final.ended_by != "paused"
    assert final.metadata["pauses"][0]["open_question"] == open_question
    assert "paused" not in final.metadata
    replies = [m.text for m in second.transcript.messages if m.role == "agent"]
    back = next(r for r in replies if r.startswith("Welcome back!"))
    assert open_question.split()[-1] in back  # the open question asked again
    said = [m.text for m in second.transcript.messages if m.role == "candidate"]
    assert said[: len(part1)] == part1 and said[len(part1) :] == part2  # both parts, in order
    saved = await store.get(row.id)
    assert saved is not None and saved.interview.revision > row.revision
    messages = saved.interview.conversation["messages"]
    assert [m["text"] for m in messages if m["role"] == "candidate"] == part1 + part2
    assert feedback is not None and feedback.feedback_data["answers"]

    # finished now: it cannot be continued again
    with pytest.raises(ResumeRefused, match="already finished"):
        await paused_interview(store, row.id, USER)


def test_the_clock_goes_on_from_where_it_stopped() -> None:
    """Resumed a day later: the interview's elapsed time and its stage's are what they
    were when it paused, not a day more."""
    now = [1_000.0]
    rt = Interview(parse_metadata(METADATA, require_user=True), room_name="a", clock=lambda: now[0])
    rt.start()
    rt.reply_done("r0", {"g"}, "Hello! Are you ready to begin?")
    rt.candidate_turn("c0", "Yes.", now[0])
    rt.reply_done("r1", {"q"}, "Tell me about yourself.")
    now[0] += 300
    rt.client_pause()
    state = rt.pause_state()
    assert state is not None and state["elapsed_s"] == 300.0 and state["open_question"]
    record = build_interview(rt, SessionFacts(mode="test", models={}), revision=1)
    now[0] += 86_400
    later = Interview(parse_metadata(METADATA, require_user=True), room_name="b",
                      clock=lambda: now[0])  # fmt: skip
    later.resume_from(record)
    assert later.machine.elapsed_s() == pytest.approx(300.0)
    assert later.machine.stage_elapsed_s() == pytest.approx(state["stage_elapsed_s"])
    assert later.machine.remaining_s() == pytest.approx(1800 - 300)
    assert "Tell me about yourself." in later.resume_note()


async def test_a_model_pauses_with_its_tool_and_says_nothing_after_it(tmp_path: Path) -> None:
    """With a model, "can we pause?" reaches the machine as the ``pause_interview`` tool:
    paused, the worker's own words said, no model words after the tool."""

    def model(body: dict) -> dict:
        said = last_user_text(body)
        if body.get("response_format"):
            return {"status": 500}
        if said is None:
            return {"content": "Hello! Are you ready to begin?"}
        if "pause" in said.lower() and not any(
            m.get("role") == "tool" for m in body.get("messages", [])[-2:]
        ):
            return {"tool": "pause_interview"}
        return {"content": "Thank you. Tell me about a project you are proud of."}

    async with FakeOpenAI(model) as openai:
        settings = Settings(_env_file=None, openai_base_url=openai.base_url)
        rt = InterviewRuntime(parse_metadata(METADATA, require_user=True), room_name="m")
        keys = ProviderKeys(openai=OPENAI_KEY)
        providers = providers_for(
            settings, keys, rt, vad=None, choice=choice_for(keys, rt).typed("a test")
        )
        row, _ = await typed_interview(
            rt, providers, store=SqliteStore(tmp_path / "s.db"),
            outbox=Outbox(tmp_path / "o.db"),
            turns=["Yes, I am ready.", "Could we pause here and finish this later?"],
        )  # fmt: skip
    assert row.ended_by == "paused"
    assert row.metadata["paused"]["open_question"] == (
        "Thank you. Tell me about a project you are proud of."
    )
    agent = [m.text for m in rt.transcript.messages if m.role == "agent"]
    assert agent[-1] == render("say_paused")
    assert [m.text for m in rt.transcript.messages if m.role == "candidate"][-1].startswith(
        "Could we pause"
    )
