"""stages.turns: the words, the moment and the candidate's rhythm decide how long to wait."""

from __future__ import annotations

import pytest

from stages.turns import (
    ANSWER_FINISHED_S,
    FINISHED_CAP_S,
    UNFINISHED_S,
    PauseProfile,
    answer_complete,
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
    "I was responsible for the migration, the monitoring, the",
    "",
    "   ",
]
FINISHED = [
    "I led the migration and we shipped it on time.",
    "We cut failed payments by half.",
    "Yes.",
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
    for brief in (True, False):
        assert wait_after("we also did a", brief=brief, profile=profile).seconds >= UNFINISHED_S


def test_a_finished_answer_is_answered_fast_and_a_brief_reply_faster():
    profile = PauseProfile()
    assert wait_after(LONG, brief=False, profile=profile).seconds == ANSWER_FINISHED_S
    assert wait_after("Yes, I'm ready.", brief=True, profile=profile).seconds < ANSWER_FINISHED_S
    assert wait_after("Could you repeat that?", brief=False, profile=profile).seconds < 1
    assert wait_after("I don't know.", brief=False, profile=profile).seconds < 1


def test_a_first_short_sentence_is_not_taken_for_the_whole_answer():
    wait = wait_after("I led the billing migration.", brief=False, profile=PauseProfile())
    assert wait.seconds >= UNFINISHED_S and "short" in wait.reason


def test_the_candidates_own_pauses_stretch_the_waits():
    profile = PauseProfile()
    for pause in (2.0, 2.2, 2.4, 2.1):
        profile.observe(pause, words_complete=True)
    for pause in (4.2, 4.5, 4.4):
        profile.observe(pause, words_complete=False)
    finished = wait_after(LONG, brief=False, profile=profile)
    assert 2.4 < finished.seconds <= FINISHED_CAP_S
    assert wait_after("we also did a", brief=False, profile=profile).seconds > 4.5


def test_a_voice_that_sounds_unfinished_waits_a_little_longer():
    profile = PauseProfile()
    plain = wait_after(LONG, brief=False, profile=profile).seconds
    unsure = wait_after(LONG, brief=False, profile=profile, audio_unfinished=True).seconds
    assert plain < unsure < UNFINISHED_S
