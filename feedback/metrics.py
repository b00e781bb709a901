"""Metrics computed from the transcript alone: no model, no guesswork.

Timing-based numbers (words per minute, answer length in seconds, pauses) exist only when
the messages carry real speech timing (a voice session); in a text session they are
``None``, never a made-up number.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from lemminflect import getInflection, getLemma

FILLERS: tuple[str, ...] = (
    "um", "uh", "uhm", "erm", "er", "ah", "hmm", "you know", "i mean", "sort of",
    "kind of", "basically", "literally",
)  # fmt: skip
"""Filler words and phrases counted by kind. "like" is left out on purpose: in speech it
is far more often a verb or preposition than a filler, and counting it would mislead."""
HEDGES: tuple[str, ...] = (
    "i guess", "maybe", "perhaps", "i suppose", "probably", "not sure", "i think maybe",
    "hopefully", "i'd say maybe",
)  # fmt: skip
"""Words that soften a claim until it says little ("I guess we maybe improved it")."""

STAR_CUES: dict[str, tuple[str, ...]] = {
    "situation": (
        "when i was", "at my previous", "at my last", "in my last", "in my previous",
        "at my current", "in my current", "at a previous", "while i was", "there was a time",
        "the situation", "we had a", "we were", "one time", "once", "last year", "last month",
        "a few years ago", "our team", "the project was", "context", "during",
    ),
    "task": (
        "my task", "i was responsible", "my role was", "my job was", "i needed to",
        "i had to", "the goal was", "our goal", "i was asked", "the challenge was",
        "we needed to", "objective",
    ),
    "action": (
        "i decided", "i implemented", "i organized", "i organised", "i set up", "i talked",
        "i reached out", "so i", "i worked",
    ),
    "result": (
        "as a result", "the result", "the outcome", "in the end", "we reduced", "we increased",
        "we improved", "it reduced", "it increased", "it improved", "led to", "which meant",
        "we delivered", "we launched", "we shipped", "percent", "%", "saved", "finally",
        "it worked", "never happened again", "we stopped", "we agreed", "we won", "on time",
        "ended up", "turned out", "went down", "went up", "afterwards", "since then",
        "was promoted", "thanks to that", "fewer", "faster",
    ),
}  # fmt: skip
_NOT_ACTIONS = frozenset(
    {"be", "have", "want", "like", "love", "need", "hope", "feel", "think", "know", "wish",
     "seem", "believe", "guess", "suppose", "use", "enjoy", "prefer", "mean", "remember",
     "realize", "realise", "forget", "hate", "do"}
)  # fmt: skip
"""Verbs that say what the candidate was, had, wished or felt, not what they did."""
_FIRST_PERSON = re.compile(
    r"(?<![\w'])i (?:(?:\w+ly|then|also|first|finally|just|soon|later|again|once) )?"
    r"([a-z]+)(?![\w'])"
)
STORY_WORDS = 25
"""An answer shorter than this with fewer than two story parts is not a story."""

_WORD = re.compile(r"[\w'’-]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w'])" + re.escape(phrase.lower()) + r"(?![\w'])")


_FILLER_PATTERNS = {f: _phrase_pattern(f) for f in FILLERS}
_HEDGE_PATTERNS = {h: _phrase_pattern(h) for h in HEDGES}
_CUE_PATTERNS = {c: _phrase_pattern(c) for cues in STAR_CUES.values() for c in cues}


def filler_counts(text: str) -> dict[str, int]:
    """Fillers by kind; only kinds that occur."""
    return dict(_filler_counts(text))


@lru_cache(maxsize=4096)
def _filler_counts(text: str) -> tuple[tuple[str, int], ...]:
    low = " ".join(words(text))
    counts = ((f, len(p.findall(low))) for f, p in _FILLER_PATTERNS.items())
    return tuple((f, n) for f, n in counts if n)


def hedge_counts(text: str) -> dict[str, int]:
    """Hedges by kind; only kinds that occur."""
    low = " ".join(words(text))
    counts = ((h, len(p.findall(low))) for h, p in _HEDGE_PATTERNS.items())
    return {h: n for h, n in counts if n}


def fillers_per_100_words(fillers: int, word_count: int) -> float | None:
    if word_count == 0:
        return None
    return round(100.0 * fillers / word_count, 2)


def words_per_minute(word_count: int, seconds: float | None) -> float | None:
    if seconds is None or seconds <= 0 or word_count == 0:
        return None
    return round(word_count * 60.0 / seconds, 1)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def keyword_coverage(text: str, keywords: Iterable[str]) -> tuple[list[str], list[str]]:
    """(mentioned, missing): a keyword counts when all its words appear (loosely stemmed)."""
    mentioned, missing = _keyword_coverage(text, tuple(keywords))
    return list(mentioned), list(missing)


@lru_cache(maxsize=4096)
def _said_stems(text: str) -> frozenset[str]:
    return frozenset(_stem(w) for w in words(text.replace("-", " ")))


@lru_cache(maxsize=4096)
def _keyword_coverage(
    text: str, keywords: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    said = _said_stems(text)
    mentioned: list[str] = []
    missing: list[str] = []
    for kw in keywords:
        parts = [_stem(w) for w in words(kw.replace("-", " "))]
        (mentioned if parts and all(p in said for p in parts) else missing).append(kw)
    return tuple(mentioned), tuple(missing)


def star_components(text: str) -> dict[str, bool]:
    """Which STAR parts an answer shows, by cue phrases (a heuristic, stated as such)."""
    return dict(_star_components(text))


@lru_cache(maxsize=8192)
def _past_action(word: str) -> bool:
    """Whether ``word`` is the past tense of a verb of doing ("cut", "rolled", "led",
    "dockerized"), by English inflection tables (lemminflect) and their rules for words
    they do not list."""
    lemmas = getLemma(word, upos="VERB")
    return any(
        lemma not in _NOT_ACTIONS and word in getInflection(lemma, tag="VBD") for lemma in lemmas
    )


def without_fillers(text: str) -> str:
    """The words of ``text``, lower-cased, with the filler words taken out ("I, uh, cut
    scope" → "i cut scope")."""
    low = " ".join(words(text))
    for pattern in _FILLER_PATTERNS.values():
        low = pattern.sub(" ", low)
    return " ".join(low.split())


@lru_cache(maxsize=4096)
def _star_components(text: str) -> tuple[tuple[str, bool], ...]:
    low = without_fillers(text)
    parts = {
        part: any(
            (cue in text) if cue == "%" else bool(_CUE_PATTERNS[cue].search(low)) for cue in cues
        )
        for part, cues in STAR_CUES.items()
    }
    # what the candidate did: any first-person verb in the past ("I rolled back", "I
    # dockerized"), other than being, having, wishes and feelings ("I wanted", "I felt")
    acted = any(_past_action(m.group(1)) for m in _FIRST_PERSON.finditer(low))
    parts["action"] = parts["action"] or acted
    return tuple(parts.items())


def is_story(text: str) -> bool:
    """Whether an answer tells a story at all (so its STAR parts mean something): two or
    more parts, or one part in an answer of some length."""
    found = sum(star_components(text).values())
    return found >= 2 or (found == 1 and len(words(text)) >= STORY_WORDS)


@dataclass(frozen=True, slots=True)
class SpeechSummary:
    words_per_minute: float | None
    filler_words: dict[str, int]
    fillers_per_100_words: float | None
    avg_answer_seconds: float | None
    longest_pause_s: float | None
    total_words: int


def speech_summary(
    answers: Sequence[tuple[str, float | None]],
    pauses: Sequence[float],
    fillers_per_answer: Sequence[dict[str, int]] | None = None,
) -> SpeechSummary:
    """``answers``: (text, spoken seconds or None); ``pauses``: seconds before answers;
    ``fillers_per_answer``: :func:`filler_counts` of each answer, if already computed."""
    total_words = sum(len(words(t)) for t, _ in answers)
    fillers: Counter[str] = Counter()
    for counts in fillers_per_answer or [filler_counts(t) for t, _ in answers]:
        fillers.update(counts)
    timed = [(len(words(t)), s) for t, s in answers if s is not None and s > 0]
    timed_words = sum(w for w, _ in timed)
    timed_seconds = sum(s for _, s in timed)
    return SpeechSummary(
        words_per_minute=words_per_minute(timed_words, timed_seconds) if timed else None,
        filler_words=dict(fillers),
        fillers_per_100_words=fillers_per_100_words(sum(fillers.values()), total_words),
        avg_answer_seconds=round(timed_seconds / len(timed), 1) if timed else None,
        longest_pause_s=round(max(pauses), 1) if pauses else None,
        total_words=total_words,
    )
