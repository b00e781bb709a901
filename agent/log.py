"""Logging: job context on every record, and secrets redacted before anything is written.

Decrypted keys are registered with :func:`register_secret` the moment they exist; every
log record created afterwards in this process is redacted as it is made: its message,
its ``extra`` fields (nested values included), and its exception (text and traceback,
formatted once and redacted; the exception object is then dropped from the record so no
formatter can print it again in clear) and stack. This is a second line of defence: the
code never logs a key on purpose.

``extra`` fields are attached to a record after the log-record factory has run, so the
redaction wraps :meth:`logging.Logger.makeRecord`, which every logger uses to build its
records.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Any

REDACTED = "[redacted]"
MIN_SECRET_CHARS = 8

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def register_secret(value: str | None) -> None:
    if value and len(value) >= MIN_SECRET_CHARS:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for s in secrets:
        if s in text:
            text = text.replace(s, REDACTED)
    return text


def _redact_value(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return redact(value)
    if depth > 8 or value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {_redact_value(k, depth + 1): _redact_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return type(value)(_redact_value(v, depth + 1) for v in value)
    try:
        text = str(value)
    except Exception:
        return value
    clean = redact(text)
    return clean if clean != text else value


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact every part of ``record`` that can carry text."""
    if not _secrets:
        return record
    try:
        message = record.getMessage()
    except Exception:
        message = None
    if message is not None:
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[0] is not None:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        clean = redact(text)
        if clean != text:
            record.exc_text, record.exc_info = clean, None
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    for key in list(record.__dict__):
        if key not in _STANDARD:
            record.__dict__[key] = _redact_value(record.__dict__[key])
    return record


def install_redaction() -> None:
    """Redact every record built by any logger of this process from now on."""
    global _installed
    if _installed:
        return
    make_record = logging.Logger.makeRecord

    def redacting_make_record(self: logging.Logger, *args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(make_record(self, *args, **kwargs))

    logging.Logger.makeRecord = redacting_make_record  # type: ignore[method-assign]
    _installed = True
