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
DONT_KNOW_MAX_WORDS = 10
"""A longer turn that says "I'm not sure" is an answer with a hedge, not a non-answer."""


class Intent(Enum):
    ANSWER = "answer"
    SKIP = "skip"
    END = "end"
    PAUSE = "pause"
    CONFIRM = "confirm"
    DENY = "deny"
    REPEAT = "repeat"
    CLARIFY = "clarify"
    HINT = "hint"
    DONT_KNOW = "dont_know"
    PROGRESS = "progress"
    ASIDE = "aside"
    MOMENT = "moment"
    NO_QUESTIONS = "no_questions"


NON_ANSWER_INTENTS: dict[Intent, str] = {
    Intent.REPEAT: "repeat",
    Intent.CLARIFY: "clarify",
    Intent.HINT: "hint",
    Intent.DONT_KNOW: "dont_know",
    Intent.PROGRESS: "progress",
    Intent.ASIDE: "aside",
    Intent.MOMENT: "moment",
}
"""Intents that are not an answer, by the machine's name for them."""


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
_PAUSE = _rx(
    r"\b(can|could|may|shall) we (take a )?(pause|break)\b",
    r"\b(let'?s|i'?d like to|i want to|i need to|please) (take a )?pause\b",
    r"\bpause (the|this|our) (interview|session|call)\b",
    r"\b(continue|carry on|finish|pick (this|it) up|resume|do the rest)( this| it)? "
    r"(later|tomorrow|another (time|day)|next time|some other time)\b",
)
_REPEAT = _rx(
    r"\brepeat\b",
    r"\bsay (that|it) again\b",
    r"\b(didn'?t|did not) (catch|hear|get) (that|it|the question)\b",
    r"\bcome again\b",
    r"^pardon\b",
    r"\bone more time\b",
    r"\bwhat was the question\b",
)
_CLARIFY = _rx(
    r"\bwhat do you mean\b",
    r"\bwhat does that mean\b",
    r"\b(could|can) you (clarify|explain (the|that|what you mean)|be more specific)\b",
    r"\brephrase\b",
    r"\b(in )?other words\b",
    r"\bi'?m not sure (what|i understand) (you'?re asking|the question|you mean)\b",
    r"\bi don'?t (understand|get) (the|your|what you'?re asking|that question)\b",
    r"\bwhat (exactly )?are you asking\b",
    r"^sorry\W*$",
    r"^sorry,? what\b",
)
_HINT = _rx(
    r"\b(a|any|some) (hint|clue|pointer|tip)s?\b",
    r"\bpoint me in the right direction\b",
    r"\bhelp me (out )?(with|on) (this|that)( one)?\b",
    r"\bwhere (should|would|do) i (start|begin)\b",
)
_DONT_KNOW = _rx(
    r"\bi (really )?(don'?t|do not) know\b",
    r"\bno idea\b",
    r"\bi'?m not sure\b",
    r"\bi (have|had) never (done|used|heard of|worked with) (that|this|it)\b",
    r"\bi can'?t (think of|remember|answer) (anything|one|that|any)\b",
    r"\bnot sure what to say\b",
    r"\bi'?ve got nothing\b",
    r"\bpass\b$",
)
_PROGRESS = _rx(
    r"\bhow (am|was|did) i (doing|do)\b",
    r"\bhow'?s it going so far\b",
    r"\b(was|is) (that|my answer) (ok|okay|good|right|alright|correct)\b",
    r"\bdid i (pass|do well|do ok|do okay|get (it|that) right)\b",
    r"\bwhat'?s my score\b",
    r"\bhow (well )?am i (scoring|performing)\b",
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


_INSTRUCTION = _rx(
    r"\bignore (all |any |your |the )*(previous |prior |above )?(instructions|rules|prompt)\b",
    r"\b(give|rate|score) me (a |an )?(perfect|full|top|maximum|10|ten)( out of (10|ten))?\b",
    r"\byou are now\b",
    r"\b(system|developer) (prompt|message)\b",
)
"""Words addressed to the model rather than answers (at any length)."""


def words(text: str) -> list[str]:
    return re.findall(r"[\w'’-]+", text.lower())


def classify(text: str, *, pending_end: bool = False, invites_questions: bool = False) -> Intent:
    """What a candidate utterance asks for. Long utterances are always answers (and,
    when an end is waiting to be confirmed, a sign to carry on).

    ``invites_questions``: the utterance answers a stage where the candidate asks the
    questions (a question there is expected, "no" means "no more questions")."""
    low = " ".join(words(text))
    if low and _INSTRUCTION.search(low):
        return Intent.ASIDE
    if pending_end:  # only a clear yes ends it; answering on means the interview goes on
        if not low or len(low.split()) > CONTROL_MAX_WORDS or _DENY.search(low):
            return Intent.DENY
        if _CONFIRM.search(low) or _END.search(low):
            return Intent.CONFIRM
        return Intent.DENY
    if not low or len(low.split()) > CONTROL_MAX_WORDS:
        return Intent.ANSWER
    if _PAUSE.search(low):  # before the end: "can we stop and continue later?" is a pause
        return Intent.PAUSE
    if _END.search(low):
        return Intent.END
    if _SKIP.search(low):
        return Intent.SKIP
    if _PROGRESS.search(low):
        return Intent.PROGRESS
    if _HINT.search(low):
        return Intent.HINT
    if _CLARIFY.search(low):
        return Intent.CLARIFY
    if _REPEAT.search(low):
        return Intent.REPEAT
    if _MOMENT.search(low):
        return Intent.MOMENT
    if invites_questions:
        return Intent.NO_QUESTIONS if _NO_QUESTIONS.search(low) else Intent.ANSWER
    if _DONT_KNOW.search(low) and len(low.split()) <= DONT_KNOW_MAX_WORDS:
        return Intent.DONT_KNOW
    if text.rstrip().endswith("?"):
        return Intent.ASIDE  # a short question back instead of an answer
    return Intent.ANSWER


def is_short_answer(text: str) -> bool:
    return len(words(text)) < SHORT_ANSWER_WORDS


OFFLINE_LINES: dict[str, str] = {
    "skip": "Sure, let's move on.",
    "skip_refused": "We can't skip this part, but it will be quick.",
    "repeat": "Of course.",
    "clarify": "Sure, let me put it another way.",
    "hint": "Here's a nudge:",
    "hint_given": (
        "I've given you the one hint I can for this one. Have a go with whatever comes to "
        "mind; there's no wrong place to start."
    ),
    "dont_know": "That's okay, it happens in real interviews too.",
    "move_on": "No problem at all, let's move on.",
    "progress": "Your detailed feedback comes at the end, so let's carry on with my question.",
    "aside": (
        "Let's keep to the interview; your questions come at the end. So, back to my question."
    ),
    "moment": "Of course, take your time. Just start whenever you're ready.",
    "confirm_end": "Just say yes to end the interview now, or no to carry on.",
    "continue": "Great, let's continue where we left off.",
    "anything_else": "Ask another if you like, or tell me that's all.",
    "tell_more": "Tell me anything you would add to that.",
    "goodbye": "Thank you for your time today. Goodbye!",
    "candidate_question": (
        "That's a good question to ask. In a real interview, the interviewer would answer "
        "it here, so keep it on your list."
    ),
}
"""What the offline interviewer says. None of these asks a question: a line that asks
one is in :data:`OFFLINE_QUESTIONS`, so that it can be worded anew each time."""

OFFLINE_QUESTIONS: dict[str, tuple[str, ...]] = {
    "confirm_end": (
        "Just to confirm: would you like to end the interview now?",
        "Do you want to stop the interview here?",
        "Shall we end the interview at this point?",
    ),
    "anything_else": (
        "Is there anything else you'd like to ask?",
        "Do you have any other questions for me?",
        "What else would you like to know about the role?",
    ),
}
"""Questions the offline interviewer may ask more than once in an interview, in the
wordings it takes in turn; once all were asked, it says the line of the same name in
:data:`OFFLINE_LINES` (never the same question twice)."""
