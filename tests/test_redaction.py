"""A registered key never leaves the process through a log record, whatever part of the
record carries it: message, exception text, traceback, stack, or ``extra`` fields."""

from __future__ import annotations

import io
import logging

from livekit.agents.cli.log import JsonFormatter

from agent.log import REDACTED, install_redaction, register_secret

KEY = "sk-test-redaction-0123456789abcdef"


def _fail_with_key() -> None:
    secret = KEY  # a local in the failing frame
    raise RuntimeError(f"provider refused {secret}")


def test_every_part_of_a_record_is_redacted():
    install_redaction()
    register_secret(KEY)
    out = io.StringIO()
    handlers = []
    for formatter in (JsonFormatter(), logging.Formatter("%(message)s %(auth)s")):
        h = logging.StreamHandler(out)
        h.setFormatter(formatter)
        handlers.append(h)
    log = logging.getLogger("redaction-probe")
    log.propagate = False
    for h in handlers:
        log.addHandler(h)
    try:
        try:
            _fail_with_key()
        except RuntimeError:
            log.exception("call failed", extra={"auth": f"Bearer {KEY}"})
        log.warning(
            "state %s",
            {"key": KEY},
            extra={"auth": KEY, "nested": {"headers": [f"Authorization: {KEY}"]}},
            stack_info=True,
        )
    finally:
        for h in handlers:
            log.removeHandler(h)
    text = out.getvalue()
    assert "call failed" in text and "provider refused" in text and "Traceback" in text
    assert REDACTED in text
    assert KEY not in text
