"""Logging: job context on every record, and secrets redacted before anything is written.

Decrypted keys are registered with :func:`register_secret` the moment they exist; every
log record created afterwards in this process has any occurrence of them replaced. This
is a second line of defence: the code never logs a key on purpose.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

REDACTED = "[redacted]"
MIN_SECRET_CHARS = 8

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def register_secret(value: str | None) -> None:
    if value and len(value) >= MIN_SECRET_CHARS:
        with _lock:
            _secrets.add(value)


def forget_secret(value: str | None) -> None:
    if value:
        with _lock:
            _secrets.discard(value)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for s in secrets:
        if s in text:
            text = text.replace(s, REDACTED)
    return text


def install_redaction() -> None:
    """Wrap the log-record factory so every record is redacted at creation."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _secrets:
            try:
                message = record.getMessage()
            except Exception:
                return record
            clean = redact(message)
            if clean != message:
                record.msg, record.args = clean, None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
