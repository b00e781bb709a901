"""Progress across interviews: this interview's figures next to the same user's earlier
ones (the same role first), for ``feedback_data.progress`` and the report.

Every figure comes from the saved feedback documents (nothing is recomputed from old
transcripts, nothing is invented): a figure an interview does not have (no timing in a
text session, no scores offline) is ``null`` and left out of the comparison.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from persistence import PastInterview

HISTORY = 10
"""How many interviews (this one included) the chart shows."""


@dataclass(frozen=True, slots=True)
class Figure:
    key: str
    label: str
    better: str | None
    """``lower`` / ``higher`` when a change is better one way; ``None`` when it is only a
    change (pace and length have a good range, not a direction)."""
    read: Callable[[Mapping[str, Any]], float | None]


def _number(value: Any) -> float | None:
    """A finite number (an infinite or NaN one, which JSON cannot carry, is none)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok and math.isfinite(value) else None


def _answers(fb: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    answers = fb.get("answers")
    return [a for a in answers if isinstance(a, Mapping)] if isinstance(answers, list) else []


def _words_per_answer(fb: Mapping[str, Any]) -> float | None:
    counts = [w for a in _answers(fb) if (w := _number(a.get("words"))) is not None]
    return round(statistics.fmean(counts), 1) if counts else None


def _coverage(fb: Mapping[str, Any]) -> float | None:
    hit = missed = 0
    for a in _answers(fb):
        said, left = a.get("keywords_mentioned"), a.get("missing_keywords")
        hit += len(said) if isinstance(said, list) else 0
        missed += len(left) if isinstance(left, list) else 0
    return round(100.0 * hit / (hit + missed), 1) if hit + missed else None


def _complete_stories(fb: Mapping[str, Any]) -> float | None:
    stories = [a["star"] for a in _answers(fb) if isinstance(a.get("star"), Mapping)]
    return float(sum(1 for s in stories if s and all(s.values())))


def _speech(key: str) -> Callable[[Mapping[str, Any]], float | None]:
    def read(fb: Mapping[str, Any]) -> float | None:
        speech = fb.get("speech")
        return _number(speech.get(key)) if isinstance(speech, Mapping) else None

    return read


FIGURES: tuple[Figure, ...] = (
    Figure("fillers_per_100_words", "filler words per 100 words", "lower",
           _speech("fillers_per_100_words")),
    Figure("words_per_minute", "pace (words per minute)", None, _speech("words_per_minute")),
    Figure("words_per_answer", "words per answer", None, _words_per_answer),
    Figure("point_coverage", "expected points covered (%)", "higher", _coverage),
    Figure("complete_stories", "complete STAR stories", "higher", _complete_stories),
    Figure("overall_score", "overall score", "higher",
           lambda fb: _number(fb.get("overall_score"))),
)  # fmt: skip


def figures_of(fb: Mapping[str, Any]) -> dict[str, float | None]:
    """One interview's figures, from its feedback document."""
    out: dict[str, float | None] = {}
    for f in FIGURES:
        try:
            out[f.key] = f.read(fb)
        except Exception:  # an old or odd document: that figure is unknown
            out[f.key] = None
    return out


def _same_role(a: str | None, b: str | None) -> bool:
    return bool(a and b and a.strip().casefold() == b.strip().casefold())


def _change(now: float | None, before: float | None, better: str | None) -> dict[str, Any]:
    if now is None or before is None:
        return {"now": now, "before": before, "change": None, "better": None}
    change = round(now - before, 2)
    if better is None or change == 0:
        verdict = None
    else:
        verdict = (change < 0) if better == "lower" else (change > 0)
    return {"now": now, "before": before, "change": change, "better": verdict}


def progress(
    fb: Mapping[str, Any],
    *,
    interview_id: str,
    date: str,
    job_role: str | None,
    earlier: Sequence[PastInterview],
) -> dict[str, Any]:
    """``feedback_data.progress`` for this interview (``fb``, its feedback so far) given
    the user's ``earlier`` finished interviews, newest first."""
    now = figures_of(fb)
    usable = [p for p in earlier if isinstance(p.feedback_data, Mapping)]
    same = [p for p in usable if _same_role(p.job_role, job_role)]
    compared = same or usable
    past = [figures_of(p.feedback_data or {}) for p in compared]
    figures = {}
    for f in FIGURES:
        values = [v for p in past if (v := p[f.key]) is not None]
        before = round(statistics.fmean(values), 2) if values else None
        figures[f.key] = {"label": f.label, **_change(now[f.key], before, f.better)}
    history = [
        {"interview_id": p.interview_id, "date": p.interview_date, "job_role": p.job_role,
         **figures_of(p.feedback_data or {})}
        for p in reversed(compared[: HISTORY - 1])
    ]  # fmt: skip
    history.append(
        {"interview_id": interview_id, "date": date, "job_role": job_role, **now, "this": True}
    )
    return {
        "first": not usable,
        "compared_with": {
            "interviews": len(compared),
            "same_role": bool(same),
            "job_role": job_role if same else None,
        },
        "now": now,
        "figures": figures,
        "history": history,
    }
