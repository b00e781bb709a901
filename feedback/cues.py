"""Live delivery cues: how an answer was said, measured the moment it is given.

After each answer the worker publishes these numbers on the ``interview.cues`` data topic
(docs/CONTRACTS.md), so that the candidate sees their pace and filler words while they
practise, not only in the report afterwards. Delivery only: nothing here judges what the
answer said (that waits for the report).
"""

from __future__ import annotations

from typing import Any

from stages.transcript import Message

from .metrics import filler_counts, fillers_per_100_words, words, words_per_minute


def answer_cues(msg: Message, *, number: int, limit_s: float | None, timed: bool) -> dict[str, Any]:
    """The cues of one answer (the ``number``-th of the interview). ``timed``: a voice
    interview (a typed answer has no pace and no length in time)."""
    n_words = len(words(msg.text))
    duration = max(0.0, msg.ended_at - msg.started_at) if timed else None
    fillers = filler_counts(msg.text)
    gap = msg.transcription_gap or msg.partial  # words lost would make the pace look slow
    share = round(duration / limit_s, 2) if duration is not None and limit_s else None
    return {
        "type": "answer_cues",
        "answer": number,
        "stage": msg.stage,
        "words": n_words,
        "duration_s": round(duration, 1) if duration is not None else None,
        "words_per_minute": None if gap else words_per_minute(n_words, duration),
        "filler_words": fillers,
        "fillers_per_100_words": fillers_per_100_words(sum(fillers.values()), n_words),
        "time_limit_s": round(limit_s) if limit_s else None,
        "share_of_limit": share,
        "time_boxed": msg.time_boxed,
    }
