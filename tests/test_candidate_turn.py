"""A candidate turn enters the interview once: recorded and counted when a reply is built
on it, confirmed (never counted again) when LiveKit commits it, replaced when a newer
draft of the same turn takes its place (speech that went on after an early reply was
started and dropped)."""

from __future__ import annotations

import json

from interview.record import Interview
from stages.metadata import parse_metadata
from stages.transcript import Transcript


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _interview() -> Interview:
    md = parse_metadata(json.dumps({"job_role": "Data Engineer"}), require_user=False)
    rt = Interview(md, room_name="turns", clock=Clock())
    rt.start()
    rt.record_message(
        turn_id="greet", role="agent", text="Hello, tell me about yourself?",
        started_at=1_000.0, ended_at=1_003.0, interrupted=False, metrics={},
    )  # fmt: skip
    rt.reply_done("r0", {"greet"}, "Hello, tell me about yourself?")
    return rt


def _candidate_texts(rt: Interview) -> list[str]:
    return [m.text for m in rt.transcript.messages if m.role == "candidate"]


def test_a_turn_is_recorded_and_counted_when_the_reply_is_built_and_confirmed_later() -> None:
    rt = _interview()
    first = rt.machine.stages[0]
    rt.candidate_turn("u1", "I build data pipelines", 1_004.0)
    assert _candidate_texts(rt) == ["I build data pipelines"]
    assert first.answers == 1
    assert rt.candidate_turn("u1", "I build data pipelines", 1_004.0) == []  # seen: no-op
    rt.record_message(
        turn_id="u1", role="candidate", text="I build data pipelines in Spark",
        started_at=1_004.0, ended_at=1_008.0, interrupted=False, metrics={},
    )  # fmt: skip
    assert _candidate_texts(rt) == ["I build data pipelines in Spark"]
    assert first.answers == 1 and rt.transcript.messages[-1].ended_at == 1_008.0
    assert not rt.transcript.messages[-1].drafts


def test_a_newer_draft_of_the_same_turn_replaces_the_dropped_one() -> None:
    rt = _interview()
    rt.candidate_turn("early", "we also did a", 1_004.0)
    rt.candidate_turn("later", "we also did a migration to Kafka", 1_004.0)
    rt.record_message(
        turn_id="later", role="candidate", text="we also did a migration to Kafka",
        started_at=1_004.0, ended_at=1_009.0, interrupted=False, metrics={},
    )  # fmt: skip
    assert _candidate_texts(rt) == ["we also did a migration to Kafka"]
    assert rt.machine.stages[0].answers == 1
    data = rt.transcript.messages[-1].to_json()
    assert data["text"] == "we also did a migration to Kafka"


def test_a_turn_committed_after_the_interviewer_spoke_again_confirms_its_draft() -> None:
    """The interview ends right after an answer: the reply was being built on a draft of
    the turn, the farewell is spoken, and only then LiveKit commits the turn (under an id
    of its own). The answer is saved once, where it was said, with its speech times."""
    rt = _interview()
    rt.candidate_turn("pre", "I am a backend developer with five years", 1_004.0)
    rt.record_message(
        turn_id="bye", role="agent", text="Okay, we'll stop here. Thank you.",
        started_at=1_010.0, ended_at=1_011.0, interrupted=True, metrics={},
    )  # fmt: skip
    rt.candidate_turn("commit", "I am a backend developer with five years of", 1_012.0)
    rt.record_message(
        turn_id="commit", role="candidate",
        text="I am a backend developer with five years of experience.",
        started_at=1_003.5, ended_at=1_007.0, interrupted=False, metrics={},
    )  # fmt: skip
    assert [(m.role, m.text) for m in rt.transcript.messages[1:]] == [
        ("candidate", "I am a backend developer with five years of experience."),
        ("agent", "Okay, we'll stop here. Thank you."),
    ]
    answer = rt.transcript.messages[1]
    assert (answer.started_at, answer.ended_at, answer.drafts) == (1_003.5, 1_007.0, set())
    assert rt.machine.stages[0].answers == 1
    # another turn after the interviewer spoke is a new message, draft or not
    rt.candidate_turn("next", "Something else entirely", 1_020.0)
    rt.record_message(
        turn_id="q", role="agent", text="And then?", started_at=1_021.0, ended_at=1_022.0,
        interrupted=False, metrics={},
    )  # fmt: skip
    rt.record_message(
        turn_id="other", role="candidate", text="A different answer", started_at=1_023.0,
        ended_at=1_025.0, interrupted=False, metrics={},
    )  # fmt: skip
    assert _candidate_texts(rt)[-2:] == ["Something else entirely", "A different answer"]


def test_confirmed_fragments_of_one_turn_are_kept_and_joined() -> None:
    t = Transcript()
    t.add(item_id="a", role="candidate", text="first part", stage="s", started_at=1.0)
    t.add(item_id="b", role="candidate", text="second part", stage="s", started_at=2.0)
    assert [m.text for m in t.messages] == ["first part second part"]
    # a draft after confirmed fragments replaces only itself
    t.add(item_id="c", role="candidate", text="dra", stage="s", started_at=3.0, draft=True)
    t.add(item_id="d", role="candidate", text="draft done", stage="s", started_at=3.0)
    assert [m.text for m in t.messages] == ["first part second part draft done"]
    assert t.messages[0].item_ids == ["a", "b", "d"]


def test_a_draft_never_confirmed_is_still_saved_with_the_interview() -> None:
    rt = _interview()
    rt.candidate_turn("u1", "my answer before the line dropped", 1_004.0)
    snap = rt.snapshot()
    assert _candidate_texts(snap) == ["my answer before the line dropped"]
    rt.record_message(
        turn_id="u1", role="candidate", text="my answer before the line dropped, final",
        started_at=1_004.0, ended_at=1_006.0, interrupted=False, metrics={},
    )  # fmt: skip
    assert _candidate_texts(snap) == ["my answer before the line dropped"]  # a true copy


def _answer(rt: Interview, n: int, question: str, text: str) -> None:
    t = 2_000.0 + n * 100
    rt.record_message(turn_id=f"q{n}", role="agent", text=question, started_at=t,
                      ended_at=t + 3, interrupted=False, metrics={})  # fmt: skip
    rt.reply_done(f"r{n}", {f"q{n}"}, question)
    rt.candidate_turn(f"a{n}", text, t + 5)
    rt.record_message(turn_id=f"a{n}", role="candidate", text=text, started_at=t + 5,
                      ended_at=t + 60, interrupted=False, metrics={})  # fmt: skip


def test_two_strong_or_two_thin_answers_change_the_next_questions_difficulty() -> None:
    strong = " ".join(["I designed the ingestion pipeline, partitioned the data by day,"] * 6)
    rt = _interview()
    rt.candidate_turn("ready", "Yes, ready.", 1_004.0)  # the greeting's answer
    _answer(rt, 1, "Tell me about yourself?", strong)
    assert rt.adjustment() is None  # one answer says nothing yet
    _answer(rt, 2, "What are you looking for?", strong)
    assert rt.adjustment() == "harder"
    assert "more demanding" in rt.instructions()
    _answer(rt, 3, "Tell me about a project?", "Not much.")
    assert rt.adjustment() is None
    _answer(rt, 4, "What did you learn?", "Nothing really.")
    assert rt.adjustment() == "easier"
    assert "simpler and more concrete" in rt.instructions()


def test_an_answer_that_goes_on_after_the_interviewer_started_is_one_answer() -> None:
    rt = _interview()
    rt.candidate_turn("ready", "Yes, ready.", 1_004.0)
    _answer(rt, 1, "Could you tell me a little about yourself?", "I build data pipelines.")

    def intro():  # (a revert restores a copy of the records: read them afresh)
        return rt.machine.stages[1]

    assert (rt.stage.id, intro().answers) == ("introduction", 1)
    # the interviewer starts its next question; the candidate goes on and cuts it off
    rt.record_message(turn_id="cut", role="agent", text="Thanks. What draws you",
                      started_at=2_200.0, ended_at=2_201.0, interrupted=True, metrics={})  # fmt: skip
    rt.reply_done("r-cut", {"cut"}, "Thanks. What draws you", interrupted=True)
    assert (intro().answers, intro().questions_asked) == (0, 1)  # the answer goes on
    rt.candidate_turn("more", "in Spark and Airflow for a retailer.", 2_202.0)
    rt.record_message(turn_id="more", role="candidate", text="in Spark and Airflow for a retailer.",
                      started_at=2_202.0, ended_at=2_205.0, interrupted=False, metrics={})  # fmt: skip
    assert (intro().answers, intro().questions_asked) == (1, 1)
    said = [m for m in rt.transcript.messages if m.role == "candidate"]
    assert said[-1].text == "I build data pipelines. in Spark and Airflow for a retailer."
    assert said[-1].stage == "introduction"
    cut = next(m for m in rt.transcript.messages if "cut" in m.item_ids)
    assert cut.interrupted and not cut.question


def test_a_reply_cut_off_after_its_question_was_heard_is_a_question() -> None:
    rt = _interview()
    rt.candidate_turn("ready", "Yes, ready.", 1_004.0)
    _answer(rt, 1, "Could you tell me a little about yourself?", "I build data pipelines.")
    heard = "Thanks. What draws you to this role?"
    rt.record_message(turn_id="q2", role="agent", text=heard, started_at=2_200.0,
                      ended_at=2_203.0, interrupted=True, metrics={})  # fmt: skip
    rt.reply_done("r2", {"q2"}, heard, interrupted=True)
    intro = rt.machine.stages[1]
    assert (intro.answers, intro.questions_asked) == (1, 2)
