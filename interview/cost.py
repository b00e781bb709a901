"""What an interview cost the candidate, estimated from a dated price table.

The candidate pays with their own keys, so each interview says what it used (language
model tokens for the interview and for the assessment, minutes of speech-to-text, voice)
and what that comes to at the prices of the table in use: ``interview/prices.toml`` or
the file ``PRICE_TABLE`` names. It is an estimate and says so, with the table's date; a
model the table does not know is listed as unpriced, never guessed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

BUNDLED = Path(__file__).with_name("prices.toml")
MILLION = 1_000_000


class PriceTableError(ValueError):
    """The price table cannot be read or is malformed (the message names the file)."""


@dataclass(frozen=True, slots=True)
class PriceTable:
    name: str
    as_of: str
    currency: str
    source: str
    llm: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    stt: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    tts: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def price(self, kind: str, model: str) -> Mapping[str, float] | None:
        """The prices of ``model`` (exactly, else the longest name it starts with: a
        dated release such as ``gpt-4.1-mini-2025-04-14`` has its family's price)."""
        table: Mapping[str, Mapping[str, float]] = getattr(self, kind)
        if model in table:
            return table[model]
        prefixes = [name for name in table if model.startswith(name + "-")]
        return table[max(prefixes, key=len)] if prefixes else None


def _section(data: dict[str, Any], kind: str, where: str) -> dict[str, dict[str, float]]:
    section = data.get(kind, {})
    if not isinstance(section, dict):
        raise PriceTableError(f"{where}: [{kind}] must be a table of models")
    out: dict[str, dict[str, float]] = {}
    for model, prices in section.items():
        if not isinstance(prices, dict) or not prices:
            raise PriceTableError(f"{where}: {kind}.{model} must be a table of prices")
        for key, value in prices.items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise PriceTableError(f"{where}: {kind}.{model}.{key} must be a number ≥ 0")
        out[model] = {k: float(v) for k, v in prices.items()}
    return out


@cache
def load_prices(path: Path | None = None) -> PriceTable:
    """The table at ``path`` (``PRICE_TABLE``), else the bundled one; read once."""
    where = str(path) if path is not None else "bundled"
    try:
        data = tomllib.loads((path or BUNDLED).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise PriceTableError(f"price table {where}: {type(e).__name__}: {e}") from None
    for key in ("as_of", "currency"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise PriceTableError(f"price table {where}: '{key}' must be set")
    return PriceTable(
        name="bundled" if path is None else path.name,
        as_of=str(data["as_of"]),
        currency=str(data["currency"]),
        source=str(data.get("source", "")),
        llm=_section(data, "llm", where),
        stt=_section(data, "stt", where),
        tts=_section(data, "tts", where),
    )


KINDS = {"llm_usage": "llm", "stt_usage": "stt", "tts_usage": "tts"}


def _count(u: Mapping[str, Any], name: str) -> float:
    value = u.get(name, 0)
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    return float(value) if ok and value != float("inf") else 0.0


def _quantities(u: Mapping[str, Any]) -> dict[str, float]:
    """What a usage record used (negative or odd counts read as nothing; cached tokens
    are a part of the input tokens, never more)."""
    kind = KINDS[str(u.get("type"))]
    if kind == "llm":
        tokens = int(_count(u, "input_tokens"))
        cached = min(int(_count(u, "input_cached_tokens")), tokens)
        return {
            "input_tokens": tokens - cached,
            "cached_input_tokens": cached,
            "output_tokens": int(_count(u, "output_tokens")),
        }
    if kind == "stt":
        return {"seconds": _count(u, "audio_duration")}
    return {
        "characters": int(_count(u, "characters_count")),
        "seconds": _count(u, "audio_duration"),
    }


def _cost(kind: str, q: Mapping[str, float], p: Mapping[str, float]) -> float | None:
    def n(name: str) -> float:
        return float(q.get(name, 0) or 0)

    if kind == "llm":
        full = p.get("input_per_million_tokens", 0.0)
        return (
            n("input_tokens") * full
            + n("cached_input_tokens") * p.get("cached_input_per_million_tokens", full)
            + n("output_tokens") * p.get("output_per_million_tokens", 0.0)
        ) / MILLION
    if kind == "stt":
        return n("seconds") / 60 * p["per_minute"] if "per_minute" in p else None
    if "per_minute" in p and n("seconds") > 0:
        return n("seconds") / 60 * p["per_minute"]
    if "per_million_characters" in p:
        return n("characters") * p["per_million_characters"] / MILLION
    return None


def _merged(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One item per (kind, model, purpose), quantities added up."""
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    for item in items:
        key = (item["kind"], item["model"], item["purpose"])
        into = merged.setdefault(key, {"kind": key[0], "model": key[1], "purpose": key[2]})
        for name, value in item.items():
            if name not in ("kind", "model", "purpose", "cost") and isinstance(value, int | float):
                into[name] = into.get(name, 0) + value
    return list(merged.values())


def usage_items(usage: Iterable[Mapping[str, Any]], purpose: str) -> list[dict[str, Any]]:
    """Usage records (LiveKit's model usage, or the assessment's in the same shape) as
    cost items: kind, model, purpose and quantities."""
    items = []
    for u in usage:
        if u.get("type") not in KINDS or not any(_quantities(u).values()):
            continue  # nothing used (the offline interviewer's turns): nothing to price
        items.append(
            {
                "kind": KINDS[str(u["type"])],
                "model": str(u.get("model") or "unknown"),
                "purpose": purpose,
                **_quantities(u),
            }
        )
    return items


def estimate(items: Iterable[Mapping[str, Any]], prices: PriceTable) -> dict[str, Any]:
    """``metadata.cost``: each item priced, the total of what could be priced, and the
    table it came from."""
    out: list[dict[str, Any]] = []
    unpriced: list[str] = []
    total = 0.0
    for item in _merged(items):
        p = prices.price(item["kind"], item["model"])
        cost = _cost(item["kind"], item, p) if p is not None else None
        if cost is None:
            unpriced.append(f"{item['kind']}:{item['model']}")
        else:
            total += cost
        rounded = {k: round(v, 3) if isinstance(v, float) else v for k, v in item.items()}
        out.append({**rounded, "cost": None if cost is None else round(cost, 6)})
    return {
        "estimate": True,
        "currency": prices.currency,
        "total": round(total, 6),
        "complete": not unpriced,
        "unpriced": unpriced,
        "items": out,
        "prices": {"table": prices.name, "as_of": prices.as_of, "source": prices.source},
    }


def carried_items(cost: Any) -> list[dict[str, Any]]:
    """The items of an earlier job's estimate (an interview continued after a lost job)."""
    if not isinstance(cost, dict) or not isinstance(cost.get("items"), list):
        return []
    return [
        i
        for i in cost["items"]
        if isinstance(i, dict)
        and isinstance(i.get("kind"), str)
        and isinstance(i.get("model"), str)
        and isinstance(i.get("purpose"), str)
    ]
