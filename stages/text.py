"""Text from outside, made safe to keep: the one place that cleans strings at the border.

Anything a candidate, a web app or a speech-to-text service hands us may carry what no
store accepts: lone UTF-16 surrogates (``JSON.stringify`` of a cut emoji gives
``"\\ud83d"``, which Python decodes into a lone surrogate), NUL and other control
characters (PostgreSQL's ``jsonb`` refuses ``\\u0000``), or bytes that are not UTF-8.
:func:`clean_text` turns each of them into something every store accepts, keeping all
the rest verbatim; it never raises.
"""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _fix_surrogates(text: str) -> str:
    if not _SURROGATE.search(text):
        return text
    # a valid high+low pair becomes its character; a lone half becomes U+FFFD
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def clean_text(value: object, *, control: str = " ") -> str:
    """``value`` as a string any store accepts: surrogate pairs joined, lone surrogates
    replaced by U+FFFD, control characters (tab, newline and carriage return excepted)
    replaced by ``control``."""
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    elif isinstance(value, str):
        text = value
    else:
        text = str(value)
    return _CONTROL.sub(control, _fix_surrogates(text))


def needs_cleaning(text: str) -> bool:
    return bool(_SURROGATE.search(text) or _CONTROL.search(text))


def clean_json(value: Any) -> Any:
    """A JSON-like value with every string (keys included) cleaned; other scalars kept."""
    if isinstance(value, str):
        return clean_text(value) if needs_cleaning(value) else value
    if isinstance(value, dict):
        return {clean_json(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    return clean_text(value)


def seconds(value: Any, *, zero: bool = False) -> float | None:
    """A number of seconds from outside (JSON, a row): a positive number (or zero, with
    ``zero``) as a float; anything else (a string, a boolean, a negative) ``None``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value > 0 or (zero and value == 0):
            return float(value)
    return None
