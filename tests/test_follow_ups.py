"""What a follow-up picks up from an answer (stages/follow_ups.py): a noun phrase, a
figure, the part of a story that is missing; worded as one short question, never more
than a few of the candidate's words, never a question asked before. Any text is read."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedback.report import answer_pairs
from stages.follow_ups import (
    MAX_QUOTED_WORDS,
    TEMPLATES,
    AskedQuestions,
    FollowUps,
    Pickup,
    pick_up,
    questions_in,
    tokens,
)
from stages.transcript import Message


def words(text: str) -> list[str]:
    return re.findall(r"[\w'’%$€£.,-]+", text.lower())


# ---------------------------------------------------------------- noun phrases


@pytest.mark.parametrize(
    ("answer", "phrase"),
    [
        ("At my last job the migration to Postgres was late.", "the migration to Postgres"),
        ("I built a billing service in Python for invoices.", "the billing service in Python"),
        ("So I rebuilt our weekly planning from scratch.", "your weekly planning"),
        ("I managed a ward of 30 beds for the night shift.", "the ward of 30 beds"),
        ("I worked at a small agency.", "the small agency"),
        ("The billing system.", "the billing system"),
        ("Python, mainly.", "Python"),  # a name, even as the first word, when the bank knows it
        ("In nursing you triage everything that the patient needs.", "the patient"),
    ],
)
def test_a_noun_phrase_is_picked_up_in_the_interviewers_words(answer, phrase):
    assert pick_up(answer, terms=["Python"] if "Python" in answer else ()).phrase == phrase


@pytest.mark.parametrize(
    "answer",
    [
        "Fine.",
        "Yes, mostly.",
        "I prefer small teams where I can own a problem from start to finish.",
        "In the end it was a lot of work for a long time.",  # nothing but general nouns
        "As a result things got better.",
        "The the the the the the the.",
    ],
)
def test_no_phrase_when_the_answer_names_nothing_specific(answer):
    assert pick_up(answer).phrase is None


def test_fillers_are_not_part_of_what_is_named():
    said = "Um, so, uh, I think we did, you know, the, uh, migration to Postgres, basically."
    assert pick_up(said).phrase == "the migration to Postgres"
    assert pick_up("Uh, um, like, the, you know, billing system.").phrase == "the billing system"
    assert [t.text for t in tokens("Um, so, uh, I mean it.")] == ["I", "mean", "it", "."]


# ---------------------------------------------------------------- figures


@pytest.mark.parametrize(
    ("answer", "figure"),
    [
        ("It cut costs by 30 percent within a year.", "30 percent"),
        ("Failures dropped by eighty percent.", "eighty percent"),
        ("Churn went from 8% to 5% after that.", "8% to 5%"),
        ("We had to cut costs by a fifth.", "a fifth"),
        ("It brought in $2 million of new revenue.", "$2 million"),
        ("Tickets fell 20 per cent.", "20 percent"),
        ("Cut costs 30%.", "30%"),
    ],
)
def test_a_measured_figure_is_picked_up(answer, figure):
    assert pick_up(answer).figure == figure


@pytest.mark.parametrize(
    "answer",
    [
        "In 2019 I joined the company.",  # a year
        "I did that for six years.",  # a duration
        "12345 67890",
        "One time I stayed late.",
        "I handled 40 tickets a day.",  # a count of things is a phrase, not a figure
    ],
)
def test_years_durations_and_counts_are_not_figures(answer):
    assert pick_up(answer).figure is None


# ---------------------------------------------------------------- hostile text

HOSTILE = [
    "",
    "   ",
    "...",
    "?!?!",
    "- - -",
    "\x00\x07\u200b",
    "\ud83d lone surrogate",
    "🙂🙂🙂",
    "a" * 5000,
    "I measured it again and again. " * 3000,
    "Ich habe drei Jahre bei Siemens als Entwickler gearbeitet und sehr viel gelernt.",
    "我在一家医院工作了五年，负责夜班和培训新护士。",
    "Um, uh, er, hmm, you know, like, basically.",
    "1 2 3 4 5 6 7 8 9 10 % % % $ $ $",
    "the " * 2000,
]


@pytest.mark.parametrize("text", HOSTILE)
def test_any_text_is_read_without_error_and_quoted_briefly(text):
    found = pick_up(text)
    for part in (found.phrase, found.figure):
        assert part is None or 1 <= len(part.split()) <= MAX_QUOTED_WORDS


def test_other_languages_are_not_quoted_back():
    assert pick_up(HOSTILE[10]).phrase is None
    assert pick_up(HOSTILE[11]) == Pickup()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_whatever_is_named_comes_from_the_answer(text):
    found = pick_up(text)
    said = text.lower()
    if found.phrase is not None:
        first, *rest = found.phrase.split()
        assert first in ("the", "your", "this", "that", "these", "those") or first.lower() in said
        assert len(found.phrase.split()) <= MAX_QUOTED_WORDS
        assert all(w.lower() in said for w in rest)
    if found.figure is not None:
        assert len(found.figure.split()) <= MAX_QUOTED_WORDS


# ---------------------------------------------------------------- wording


def test_every_wording_is_one_short_question_the_report_pairs_with_its_answer():
    long_phrase = "the migration to Postgres Cluster"
    for need, t in TEMPLATES.items():
        for template in (*t.figure, *t.phrase, *t.plain):
            said = template.replace("{phrase}", long_phrase).replace("{figure}", "30 percent")
            assert questions_in(said) == [said], said
            assert said[0].isupper() and said.count("?") == 1 and "{" not in said
            assert 5 <= len(said.split()) <= 16, said
            # the feedback pairs the answer that follows with this follow-up
            turn = Message(role="agent", text=said, stage="behavioral", started_at=0,
                           ended_at=0, question=False)  # fmt: skip
            answer = Message(role="candidate", text="It went well.", stage="behavioral",
                             started_at=1, ended_at=1)  # fmt: skip
            assert answer_pairs([turn, answer]) == [(turn, answer)], (need, said)


def test_a_story_missing_its_action_or_result_is_asked_for_that_part():
    follow = FollowUps(AskedQuestions())
    story = "At my last job the migration to Postgres was late, and the team panicked."
    action = follow.choose("action", story)
    assert action is not None and "the migration to Postgres" in action and "yourself" in action
    result = follow.choose("result", "So I rewrote the import scripts for the data team.")
    assert result is not None and "the import scripts" in result
    assert re.search(r"turn out|outcome|end up", result)
    figure = follow.choose("action", "As a result failures dropped by eighty percent.")
    assert figure == "You said eighty percent; what did you do yourself to get there?"


def test_an_answer_that_tells_no_story_is_asked_for_one_specific_time():
    follow = FollowUps(AskedQuestions())
    line = follow.choose("example", "I think a manager should listen to the support team.")
    assert line is not None and "the support team" in line and "example" in line


def test_a_short_answer_with_a_figure_is_asked_how_it_was_measured():
    line = FollowUps(AskedQuestions()).choose("more", "Cut costs 30%.")
    assert line == "You said 30%; how did you measure that?"


def test_a_skill_is_probed_by_name():
    line = FollowUps(AskedQuestions()).choose("skill", "We used it daily.", skill="Kubernetes")
    assert line is not None and line.startswith("You mentioned Kubernetes;")


# ---------------------------------------------------------------- never twice


def test_no_wording_is_asked_twice_and_then_there_is_none():
    asked = AskedQuestions()
    follow = FollowUps(asked)
    said: list[str] = []
    while (line := follow.choose("example", "Fine, I guess.")) is not None:
        assert line not in said
        said.append(line)
        asked.record(f"Thank you. {line}")
    assert len(said) == len(TEMPLATES["example"].plain)


def test_wordings_rotate_and_the_same_answer_twice_gets_another_one():
    asked = AskedQuestions()
    follow = FollowUps(asked)
    first = follow.choose("result", "So I rewrote the import scripts.")
    assert first is not None
    asked.record(first)
    second = follow.choose("result", "So I rewrote the import scripts.")
    assert second is not None and second != first and "the import scripts" in second
    asked.record(second)
    third = follow.choose("result", "I rebuilt the weekly dashboard.")
    assert third is not None and "the weekly dashboard" in third
    phrases = ("the import scripts", "the weekly dashboard")
    used = set()
    for line in (first, second, third):
        phrase = next(p for p in phrases if p in line)
        used.add(line.replace(phrase, "{phrase}"))
    assert used <= set(TEMPLATES["result"].phrase) and len(used) == 3


def test_the_same_interview_gets_the_same_follow_ups():
    answers = ["Fine.", "The billing system.", "Cut costs 30%.", "Fine."]

    def run() -> list[str | None]:
        asked = AskedQuestions()
        follow = FollowUps(asked)
        out = []
        for a in answers:
            line = follow.choose("more", a)
            asked.record(line or "")
            out.append(line)
        return out

    assert run() == run()


def test_asked_questions_are_sentences_ending_in_a_question_mark():
    asked = AskedQuestions()
    asked.record("Thank you. Could you walk me through your background? Take your time.")
    assert not asked.fresh("Okay. Could you walk me through your background?")
    assert not asked.fresh("could you  walk me through your BACKGROUND?")
    assert asked.fresh("Could you walk me through your background.")  # not a question
    assert asked.fresh("Thank you. Take your time.")
    assert asked.first_fresh(["Could you walk me through your background?", "Why?"]) == "Why?"
