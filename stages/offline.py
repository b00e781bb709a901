"""The offline interviewer's judgement: what the candidate asked for, and what to say next.

No network, no model: spoken requests are recognised by phrase patterns (only in short
utterances, so "we skipped the tests" inside an answer is not a request to skip), and
questions come from the interview's planned question bank. The LiveKit layer wraps this
as a language model so the offline interviewer runs in the very same session as the
online one, with the same tools and the same state machine.
"""

from __future__ import annotations

import re
from enum import Enum

CONTROL_MAX_WORDS = 14
"""Utterances longer than this are answers, never control requests."""
SHORT_ANSWER_WORDS = 6
"""An answer this short gets a follow-up (while the stage has questions left)."""


class Intent(Enum):
    ANSWER = "answer"
    SKIP = "skip"
    END = "end"
    CONFIRM = "confirm"
    DENY = "deny"
    REPEAT = "repeat"
    MOMENT = "moment"
    NO_QUESTIONS = "no_questions"


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


_SKIP = _rx(
    r"\bskip (this|that|it|the (question|part|section|stage|topic))\b",
    r"\b(let'?s|can we|could we|i'?d like to|i want to|please) skip\b",
    r"^skip\b",
    r"\b(move|go) on to the next (part|section|stage|topic)\b",
    r"\bnext (section|stage|part) please\b",
)
_END = _rx(
    r"\b(end|stop|finish|quit|terminate) (the|this) (interview|session|call)\b",
    r"\b(i want|i'?d like|i need|let'?s|can we|could we) (to )?(end|stop|finish|quit)\b",
    r"\bi (have|need) to (go|leave)\b",
    r"\bthat'?s enough for (today|now)\b",
)
_REPEAT = _rx(
    r"\brepeat\b",
    r"\bsay (that|it) again\b",
    r"\b(didn'?t|did not) (catch|hear|get) (that|it|the question)\b",
    r"\bcome again\b",
    r"^pardon\b",
    r"\bone more time\b",
    r"\brephrase\b",
    r"\bwhat was the question\b",
)
_MOMENT = _rx(
    r"\bgive me (a|one) (moment|second|sec|minute|bit)\b",
    r"\b(let me|i need to|i need a moment to) think\b",
    r"\bhold on\b",
    r"\bone (moment|second|sec)\b",
    r"\bjust a (moment|second|sec|minute)\b",
    r"\bneed a (moment|minute|second)\b",
)
_CONFIRM = _rx(
    r"^(yes|yeah|yep|yup|sure|correct|confirm|confirmed|right|ok|okay)\b",
    r"\b(i'?m sure|please do|end it|go ahead|that'?s right)\b",
)
_DENY = _rx(
    r"^(no|nope|nah|not yet|wait)\b",
    r"\b(keep going|let'?s continue|continue|carry on|changed my mind)\b",
)
_NO_QUESTIONS = _rx(
    r"^(no|nope|nah)\b",
    r"\b(no|don'?t have any|not really any|none) (more |other |further )?questions\b",
    r"\b(that'?s all|nothing (else|more|from me)|i'?m good|all good)\b",
)


def words(text: str) -> list[str]:
    return re.findall(r"[\w'’-]+", text.lower())


def classify(text: str, *, pending_end: bool = False, invites_questions: bool = False) -> Intent:
    """What a candidate utterance asks for. Long utterances are always answers."""
    low = " ".join(words(text))
    if not low or len(low.split()) > CONTROL_MAX_WORDS:
        return Intent.ANSWER
    if pending_end:
        if _DENY.search(low):
            return Intent.DENY
        if _CONFIRM.search(low) or _END.search(low):
            return Intent.CONFIRM
        return Intent.DENY
    if _END.search(low):
        return Intent.END
    if _SKIP.search(low):
        return Intent.SKIP
    if _REPEAT.search(low):
        return Intent.REPEAT
    if _MOMENT.search(low):
        return Intent.MOMENT
    if invites_questions and _NO_QUESTIONS.search(low):
        return Intent.NO_QUESTIONS
    return Intent.ANSWER


def is_short_answer(text: str) -> bool:
    return len(words(text)) < SHORT_ANSWER_WORDS


OFFLINE_LINES: dict[str, str] = {
    "skip": "Sure, let's move on.",
    "skip_refused": "We can't skip this part, but it will be quick.",
    "repeat": "Of course.",
    "moment": "Of course, take your time. Just start whenever you're ready.",
    "confirm_end": "Just to confirm: would you like to end the interview now?",
    "continue": "Great, let's continue.",
    "anything_else": "Is there anything else you'd like to ask?",
    "goodbye": "Thank you for your time today. Goodbye!",
    "candidate_question": (
        "That's a good question to ask. In a real interview, the interviewer would answer "
        "it here, so keep it on your list."
    ),
}
