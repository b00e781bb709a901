"""The candidate's spending cap: a live meter of what the interview has cost so far.

The candidate pays the providers with their own keys. ``max_cost_usd`` (the dispatch
metadata's, or the user's own setting, the lower of the two) caps one interview: the
meter prices the session's usage as it grows, from the same dated table as the estimate
saved with the interview (``interview/cost.py``). At 80 % the interviewer says so once;
when the next reply could take it past the cap, the interview closes gracefully (the
closing stage, then saved; ``ended_by: cost_limit``). The meter looks one reply ahead:
it counts the largest step the cost has taken in one update (a reply's tokens and
voice), so what is spent in the end stays within about one reply of the cap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .cost import PriceTable, estimate, usage_items

WARN_SHARE = 0.8
"""The share of the cap at which the interviewer mentions it (once)."""

Crossing = Literal["warned", "reached"]


@dataclass(slots=True)
class SpendingMeter:
    """What one interview has cost so far against its cap (``None``: no cap)."""

    cap_usd: float | None
    source: str | None = None
    """Where the cap came from: ``metadata`` or ``user_setting``."""
    prices: PriceTable | None = None
    carried: list[dict[str, Any]] = field(default_factory=list)
    """Cost items of the jobs before this one (a continued interview)."""
    spent_usd: float = 0.0
    step_usd: float = 0.0
    """The largest rise of the cost in one update (about one reply)."""
    warned_at: float | None = None
    reached_at: float | None = None

    def update(self, usage: Iterable[Mapping[str, Any]], now: float) -> list[Crossing]:
        """The session's cumulative usage now: the thresholds it crossed (each once)."""
        if self.prices is None:
            return []
        items = [*self.carried, *usage_items(usage, "interview")]
        spent = float(estimate(items, self.prices)["total"])
        self.step_usd = max(self.step_usd, spent - self.spent_usd)
        self.spent_usd = max(self.spent_usd, spent)
        if self.cap_usd is None:
            return []
        crossed: list[Crossing] = []
        if self.reached_at is None and self.spent_usd + self.step_usd >= self.cap_usd:
            self.reached_at = now
            crossed.append("reached")
        elif self.warned_at is None and self.spent_usd >= WARN_SHARE * self.cap_usd:
            self.warned_at = now
            crossed.append("warned")
        return crossed

    @property
    def reached(self) -> bool:
        return self.reached_at is not None

    def summary(self) -> dict[str, Any] | None:
        """``interviews.metadata.spending`` (``None`` without a cap)."""
        if self.cap_usd is None:
            return None
        return {
            "cap_usd": self.cap_usd,
            "source": self.source,
            "spent_usd": round(self.spent_usd, 6),
            "warned_at": self.warned_at,
            "reached_at": self.reached_at,
        }


def usd(amount: float) -> str:
    """An amount as a person reads it: ``$0.50``, ``$12.00``; below a cent, its first
    significant digits (``$0.00045``), never a misleading ``$0.00``."""
    if amount >= 0.01:
        return f"${amount:.2f}"
    return f"${amount:.2g}" if amount > 0 else "$0"
