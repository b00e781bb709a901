"""stages.turns: the words, the moment and the candidate's rhythm decide how long to wait."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.bank import QuestionBank
from stages.definitions import BEHAVIORAL, DEFAULT_PLAN, TECHNICAL
from stages.turns import (
    ANSWER_FINISHED_S,
    BRIEF_S,
    FINISHED_CAP_S,
    MAX_WAIT_S,
    SHORT_STORY_CAP_S,
    UNFINISHED_S,
    Ask,
    PauseProfile,
    answer_complete,
    asks_for,
    wait_after,
)

UNFINISHED = [
    "we also did a",
    "we also did a.",  # speech-to-text puts a full stop at the pause
    "I worked with Kafka as well as",
    "the main reason was that the queue, which",
    "using Azure's",
    "and then we moved the reports to",
    "I led the team of",
    "My role was to,",
    "There were three problems:",
    "we tried Python, Java, Go",
    "It was, um",
    "because",
    "I think that",
    "the biggest challenge in terms of",
    "We did it in order to",
    "so I decided to talk to the",
    "We had to choose between",
    "and the result was…",
    "we shipped it and",
    "the problem was that we were",
    "because we were",
    "I was responsible for the migration, the monitoring, the",
    "",
    "   ",
]
FINISHED = [
    "I led the migration and we shipped it on time.",
    "We cut failed payments by half.",
    "Yes.",
    "Yes, I am.",
    "No, we didn't.",
    "Sure, I'm ready.",
    "Could you repeat the question?",
    "That's all from me!",
    "I used Python, Java, and Go.",
    "We tried Python, Java or Go",
    "It took about six months",
    "I fixed it.",
    "that was the hardest part of the whole project",
    "I'd do it again",
    "We chose Kafka",
    "At my last job I built it from scratch and, as a result, we cut failures by half.",
    "No, that covers everything from my side, thank you very much for your time today.",
]


VOCABULARY = sorted(
    {w for t in UNFINISHED + FINISHED for w in t.split()} | {",", ".", "?", "um", "and", "…"}
)


@pytest.mark.parametrize("text", UNFINISHED)
def test_unfinished_words(text):
    assert answer_complete(text) is False


@pytest.mark.parametrize("text", FINISHED)
def test_finished_words(text):
    assert answer_complete(text) is True


LONG = (
    "At my last job I led the migration of our billing system to a new provider, and "
    "as a result we cut failed payments by half within two months."
)


def test_unfinished_words_always_wait_long_whatever_the_moment():
    profile = PauseProfile()
    for ask in Ask:
        assert wait_after("we also did a", ask=ask, profile=profile).seconds >= UNFINISHED_S


def test_a_finished_answer_is_answered_fast_and_a_brief_reply_faster():
    profile = PauseProfile()
    assert wait_after(LONG, ask=Ask.STORY, profile=profile).seconds == ANSWER_FINISHED_S
    assert wait_after("Yes, I'm ready.", ask=Ask.BRIEF, profile=profile).seconds == BRIEF_S
    assert wait_after("Yes, I am ready to begin.", ask=Ask.BRIEF, profile=profile).seconds < 1
    assert wait_after("Could you repeat that?", ask=Ask.STORY, profile=profile).seconds < 1
    assert wait_after("I don't know.", ask=Ask.STORY, profile=profile).seconds < 1


SHORT_COMPLETE = [
    "I have been a backend developer for five years, mostly on payment services.",
    "At my last job I cut failed payments by half with idempotency keys and retries.",
    "I use Python every day.",
    "Mostly Postgres, and some Redis for caching.",
]


@pytest.mark.parametrize("text", SHORT_COMPLETE)
def test_a_short_finished_answer_is_answered_within_a_second_unless_more_was_asked_for(text):
    profile = PauseProfile()
    direct = wait_after(text, ask=Ask.ANSWER, profile=profile)
    assert direct.seconds == ANSWER_FINISHED_S and direct.reason == "a finished answer"
    story = wait_after(text, ask=Ask.STORY, profile=profile)
    assert ANSWER_FINISHED_S < story.seconds <= SHORT_STORY_CAP_S
    assert "asking for more" in story.reason


def test_the_candidates_own_pauses_stretch_the_waits_within_their_caps():
    profile = PauseProfile()
    for pause in (1.0, 1.1, 1.2, 1.0):
        profile.observe(pause, words_complete=True)
    for pause in (4.2, 4.5, 4.4):
        profile.observe(pause, words_complete=False)
    finished = wait_after(LONG, ask=Ask.STORY, profile=profile)
    assert ANSWER_FINISHED_S < finished.seconds <= FINISHED_CAP_S
    assert wait_after("we also did a", ask=Ask.STORY, profile=profile).seconds > 4.5
    for pause in (3.0, 3.2, 3.4):
        profile.observe(pause, words_complete=True)
    assert wait_after(LONG, ask=Ask.STORY, profile=profile).seconds == FINISHED_CAP_S
    short = wait_after("I led the billing migration.", ask=Ask.STORY, profile=profile)
    assert short.seconds == SHORT_STORY_CAP_S


def test_a_voice_that_sounds_unfinished_waits_a_little_longer():
    profile = PauseProfile()
    plain = wait_after(LONG, ask=Ask.STORY, profile=profile).seconds
    unsure = wait_after(LONG, ask=Ask.STORY, profile=profile, audio_unfinished=True).seconds
    assert plain < unsure <= FINISHED_CAP_S


@settings(max_examples=400, deadline=None)
@given(
    text=st.text(max_size=400) | st.lists(st.sampled_from(VOCABULARY), max_size=60).map(" ".join),
    ask=st.sampled_from(list(Ask)),
    unsure=st.booleans(),
    pauses=st.lists(st.tuples(st.floats(0, 30), st.booleans()), max_size=50),
)
def test_finished_words_never_wait_long_and_nothing_waits_forever(text, ask, unsure, pauses):
    profile = PauseProfile()
    for pause, complete in pauses:
        profile.observe(pause, words_complete=complete)
    wait = wait_after(text, ask=ask, profile=profile, audio_unfinished=unsure)
    assert 0 < wait.seconds <= MAX_WAIT_S and wait.reason
    if answer_complete(text):
        assert wait.seconds <= SHORT_STORY_CAP_S  # never a long silence on finished words
        if ask is Ask.BRIEF:
            assert wait.seconds == BRIEF_S
    else:
        assert wait.seconds >= UNFINISHED_S  # never cut off mid-thought


def test_what_a_question_asks_for():
    plan = {s.id: s for s in DEFAULT_PLAN}
    assert asks_for("Hi Ada! Are you ready to begin?", plan["greeting"]) is Ask.BRIEF
    assert asks_for("Anything else you'd like to ask?", plan["candidate_questions"]) is Ask.BRIEF
    assert asks_for("Tell me about yourself.", plan["introduction"]) is Ask.STORY
    assert asks_for("What is your current role?", plan["introduction"]) is Ask.ANSWER
    assert asks_for("Which databases have you used?", plan["experience"]) is Ask.ANSWER
    assert asks_for("Walk me through a project with Kafka.", plan["experience"]) is Ask.STORY
    assert asks_for("What is an index?", plan["technical"]) is Ask.STORY
    assert asks_for("Tell me about a time you failed.", plan["behavioral"]) is Ask.STORY
    assert asks_for(None, plan["behavioral"]) is Ask.STORY
    assert asks_for("Tell me about a time you failed.", plan["behavioral"], pending_end=True) is (
        Ask.BRIEF
    )
    assert asks_for("anything", None) is Ask.BRIEF


def test_every_planned_behavioural_and_technical_question_asks_for_more():
    bank = QuestionBank.bundled()
    for role in bank.roles:
        for q in (*role.technical, *role.behavioral):
            for stage in (TECHNICAL, BEHAVIORAL):
                assert asks_for(q.text, stage) is Ask.STORY, q.text
