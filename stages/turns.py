"""When has the candidate finished speaking? The words, the moment and the candidate's rhythm.

A pause is not an ending. Candidates stop mid-sentence to think ("we also did a …"), and
between sentences of one answer; a reply that starts in such a pause cuts them off. A
finished answer, short or long, should get its reply within a second or two: finished
words are never met by a long silence. Nothing here knows LiveKit: the worker feeds it
the words heard so far, what the question asked for, the audio model's opinion, and the
pauses this candidate has made, and gets back how long to wait.

* :func:`answer_complete`: does the turn so far sound finished from its words alone?
* :func:`asks_for`: what the question on the table asks for (a brief reply, a direct
  answer, a story or an explanation).
* :class:`PauseProfile`: the pauses this candidate made inside their own turns.
* :func:`wait_after`: how long to wait in this pause before replying, and why.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from enum import Enum

from .definitions import StageDef
from .offline import Intent, classify, words

_OPEN_ENDINGS = frozenset(
    # conjunctions and linking words: more is coming
    "and or but nor so because since although though while whereas if unless until when "
    "whenever whether then plus "
    # prepositions
    "of to in on at for with by from into onto about as like than via using through over "
    "under between without within across per around after before during against toward "
    "towards upon among "
    # articles, determiners and possessives
    "a an the this these those my our your their his her its some any each every another "
    "such no "
    # a subject or an auxiliary with nothing after it
    "i we you they he she is are was were be been being am have has had do does did will "
    "would could should can may might must shall "
    # relatives
    "which who whom whose where "
    # thinking aloud
    "um uh erm er hmm ah".split()
)
_OPEN_PHRASES = (
    "as well as", "such as", "in order to", "so that", "rather than", "a lot of",
    "kind of", "sort of", "going to", "want to", "need to", "have to", "able to",
    "based on", "instead of", "because of", "due to", "in terms of", "for example",
    "for instance", "and then", "and also", "as well as the", "one of", "some of",
    "the fact that", "i think that", "i mean", "you know", "and so on and",
)  # fmt: skip
LIST_ITEM_WORDS = 3
"""Items of a spoken list ("Python, Java, Go") are short; longer pieces are clauses."""
_CLOSING_PUNCTUATION = re.compile(r"[?!]\s*$")
_OPEN_PUNCTUATION = re.compile(r"(,|;|:|-|–|—|\.\.\.|…)\s*$")


def answer_complete(text: str) -> bool:
    """Whether the candidate's turn so far sounds finished from its words alone.

    Unfinished: nothing said yet; a trailing comma, colon, dash or ellipsis; a last word
    that needs more after it (a conjunction, a preposition, an article, a possessive, a
    bare subject or auxiliary, a relative pronoun, "um"); a trailing phrase such as "as
    well as" or "in order to"; a list still going ("Python, Java, Go" with no "and" before its last
    item). Finished: a question or an exclamation, and anything else. Speech-to-text
    often adds a full stop at a pause, so a trailing full stop decides nothing."""
    stripped = text.strip()
    if not stripped:
        return False
    if _CLOSING_PUNCTUATION.search(stripped):
        return True
    if _OPEN_PUNCTUATION.search(stripped):
        return False
    said = words(stripped.rstrip("."))
    if not said:
        return False
    tail = " ".join(said[-5:])
    if _ELLIPTICAL.match(" ".join(words(_last_clause(stripped)))):
        return True  # "Yes, I am.", "No, we didn't."
    if said[-1] in _OPEN_ENDINGS or any(tail.endswith(p) for p in _OPEN_PHRASES):
        return False
    if said[-1].endswith(("'s", "’s")):  # "using Azure's", "the team's", "it's"
        return False
    return not _list_still_going(stripped)


_ELLIPTICAL = re.compile(
    r"^((yes|yeah|yep|no|nope|sure|of course|i think|i guess|i hope) )?"
    r"(i|we|you|they|he|she|it) (am|are|is|was|were|do|does|did|have|has|had|will|would|can|"
    r"could|should|might|must|shall)( not|n't)?$"
)
"""A clause that is a subject and its auxiliary alone answers a yes-or-no question."""


def _last_clause(text: str) -> str:
    return re.split(r"[,;:.!?]+\s*", text.rstrip(".!? "))[-1]


def _list_still_going(text: str) -> bool:
    last_sentence = re.split(r"(?<=[.!?])\s+", text.rstrip(". "))[-1]
    items = [words(i) for i in last_sentence.split(",")]
    if len(items) < 3 or any(len(i) > LIST_ITEM_WORDS for i in items[1:]):
        return False  # commas between clauses, not a list of things
    last = items[-1]
    # "A, B, and C" / "A, B or C" closes the list; "A, B, C" has not been closed yet
    return not last or last[0] not in ("and", "or", "nor", "etc", "plus")


@dataclass(slots=True)
class PauseProfile:
    """The pauses this candidate made inside their own turns (ones that did not end the
    turn), split by whether the words at the pause sounded finished."""

    mid_sentence: list[float] = field(default_factory=list)
    between_sentences: list[float] = field(default_factory=list)
    keep: int = 40

    def observe(self, pause_s: float, *, words_complete: bool) -> None:
        into = self.between_sentences if words_complete else self.mid_sentence
        into.append(pause_s)
        del into[: -self.keep]

    def longest_typical(self, which: list[float]) -> float | None:
        """About the 90th percentile (the longest pause but one in ten), once there are
        three to learn from."""
        if len(which) < 3:
            return None
        return statistics.quantiles(which, n=10, method="inclusive")[-1]


@dataclass(frozen=True, slots=True)
class Wait:
    seconds: float
    reason: str


class Ask(Enum):
    """What the question on the table asks of the candidate."""

    BRIEF = "brief"
    """A short reply: "are you ready?", an end confirmation, the candidate's own questions."""
    ANSWER = "answer"
    """A direct answer ("what is your current role?")."""
    STORY = "story"
    """A story or an explanation ("tell me about a time …", "how would you …")."""


_ASKS_FOR_MORE = re.compile(
    r"\b(tell me (about|more)|describe|walk me through|talk me through|give me an example|"
    r"an example of|a time (when|you|that)|explain|why|what (would|did) you do|"
    r"how (would|do|did|does|should|could|might) (you|it|a|an|the)|"
    r"what happens|what steps|what approach|in your experience|share)\b"
)


def asks_for(question: str | None, stage: StageDef | None, *, pending_end: bool = False) -> Ask:
    """What the interviewer's last question asks for, from the stage it belongs to and its
    words: a stage whose turns are not answers (the greeting, the candidate's questions,
    the closing) and an end confirmation want a brief reply; a behavioural or technical
    question, or one that asks to describe, explain or walk through something, wants a
    story or an explanation; any other question of an answering stage, a direct answer."""
    if pending_end or stage is None or not stage.answers:
        return Ask.BRIEF
    if stage.stories or stage.expected_points:
        return Ask.STORY
    asked = (question or "").lower()
    return Ask.STORY if _ASKS_FOR_MORE.search(asked) else Ask.ANSWER


BRIEF_S = 0.7
"""The pause after which a finished brief reply, a question or a request is answered."""
ANSWER_FINISHED_S = 0.9
"""... and a finished answer, unless this candidate's own pauses say to wait more."""
FINISHED_CAP_S = 1.2
"""The most a finished answer waits, however slowly this candidate speaks (its reply then
starts within about 1.5 s of the end of the voice)."""
AUDIO_UNSURE_S = 1.0
"""A finished answer whose voice sounds unfinished to the audio model."""
SHORT_STORY_S = 1.9
"""A short answer, in finished words, to a question that asked for a story or an
explanation: the candidate may be about to go on, so a little longer; then the
interviewer moves on or invites more in one sentence."""
SHORT_STORY_CAP_S = 2.1
"""... at most this, however slowly this candidate speaks (the reply then starts within
about 2.5 s of the end of the voice: never a long silence on finished words)."""
UNFINISHED_S = 4.0
"""How long a candidate may think mid-thought before the interviewer speaks (covers the
three-second pauses real candidates make inside an answer)."""
MAX_WAIT_S = 6.0
MARGIN_S = 0.3
SHORT_ANSWER_WORDS = 20
"""A story or an explanation in fewer words than this may be only its first sentence."""


def wait_after(
    text: str,
    *,
    ask: Ask,
    profile: PauseProfile,
    audio_unfinished: bool = False,
) -> Wait:
    """How long to wait in the current pause before replying.

    ``ask``: what the question on the table asked for. ``audio_unfinished``: the audio
    end-of-turn model thinks the voice has not finished. Unfinished words always wait
    long (never cut a candidate off mid-thought); finished words never do: at most
    ``SHORT_STORY_CAP_S``, for a short answer to a question that asked for more."""
    mid = profile.longest_typical(profile.mid_sentence)
    between = profile.longest_typical(profile.between_sentences)
    if not answer_complete(text):
        seconds = UNFINISHED_S if mid is None else max(UNFINISHED_S, mid + MARGIN_S)
        return Wait(min(seconds, MAX_WAIT_S), "unfinished words")
    if ask is Ask.BRIEF or text.strip().endswith("?") or classify(text) is not Intent.ANSWER:
        return Wait(BRIEF_S, "a brief reply or a request")
    rhythm = 0.0 if between is None else between + MARGIN_S
    if ask is Ask.STORY and len(words(text)) < SHORT_ANSWER_WORDS:
        seconds = max(SHORT_STORY_S, rhythm)
        return Wait(min(seconds, SHORT_STORY_CAP_S), "a short answer to a question asking for more")
    seconds = max(ANSWER_FINISHED_S, rhythm)
    if audio_unfinished:
        seconds = max(seconds, AUDIO_UNSURE_S)
    return Wait(min(seconds, FINISHED_CAP_S), "a finished answer")
