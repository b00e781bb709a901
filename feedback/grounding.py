"""Evidence must be the candidate's own words.

A quote counts as verbatim when it appears in one of the candidate's messages, comparing
with letter case and runs of white space ignored, and with the quote's surrounding
quotation marks or ellipses removed, and it has at least ``MIN_QUOTE_WORDS`` words or is
a whole message (a short answer quoted whole). Anything else is dropped: a fragment such
as "I think" or "ing" would match almost any answer and proves nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_WS = re.compile(r"\s+")
MIN_QUOTE_WORDS = 4
_EDGES = "\"'“”‘’«»….  "


def _norm(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return _WS.sub(" ", text).strip().lower()


def clean_quote(quote: str) -> str:
    return quote.strip().strip(_EDGES).strip()


def is_verbatim(quote: str, said: Sequence[str]) -> bool:
    q = _norm(clean_quote(quote))
    if not re.search(r"\w", q):
        return False
    if len(re.findall(r"\w+", q)) < MIN_QUOTE_WORDS:
        return any(q == _norm(clean_quote(text)) for text in said)
    return any(q in _norm(text) for text in said)


def grounded(points: Iterable[dict[str, str | None]], said: Sequence[str]) -> list[dict]:
    """Only the points whose ``evidence`` is verbatim; evidence trimmed of its quote marks."""
    kept: list[dict] = []
    for p in points:
        evidence = p.get("evidence") or ""
        if is_verbatim(evidence, said):
            kept.append({**p, "evidence": clean_quote(evidence)})
    return kept


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?;])\s+", text) if s.strip()]
