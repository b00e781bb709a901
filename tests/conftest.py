from __future__ import annotations

import logging

# hypothesis is imported before any test runs: a run whose tests never import it would
# import it at the end, for its summary, where CPython 3.11's parser can fail with
# "SystemError: AST constructor recursion depth mismatch" after the voice-session tests
# and turn a run whose tests all passed into a failed one.
import hypothesis  # noqa: F401
import pytest

from .services import start_or_skip


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def supabase_stack():
    """PostgreSQL + PostgREST + /rest/v1 proxy, migrations applied (once per test run)."""
    from .stack.local_supabase import LocalSupabase

    stack = start_or_skip(lambda: LocalSupabase().start(), "the local Supabase stack tests")
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def livekit_server():
    """A real LiveKit server (dev mode, loopback, free ports) for the real-room tests."""
    from .rooms.servers import LiveKitServer

    server = start_or_skip(LiveKitServer, "real-room tests")
    yield server
    server.stop()


# ---------------------------------------------------------------- no secret in any log

SECRET_MARKERS = (
    "sk-test-",
    "sk-proj-user-owned",
    "sk-proj-SECRETSECRET",
    "dg-user-owned",
    "dg-test-",
    "sk-test-provider-faults",
)
"""Every provider key the tests hand to the product starts with one of these."""


class _AllRecords(logging.Handler):
    """Every record of the run, as a formatter would print it: message, exception text
    and traceback, stack, and every ``extra`` field."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []
        self._format = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            parts = [record.getMessage()]
            if record.exc_info:
                parts.append(self._format.formatException(record.exc_info))
            parts += [record.exc_text or "", record.stack_info or ""]
            parts += [repr(v) for k, v in record.__dict__.items() if k not in _STANDARD]
        except Exception:
            return
        text = "\n".join(parts)
        for marker in SECRET_MARKERS:
            if marker in text:
                self.leaks.append(f"{record.name}: {record.getMessage()[:120]}")


_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_records = _AllRecords()


def pytest_configure(config: pytest.Config) -> None:
    logging.getLogger().addHandler(_records)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _records.leaks:
        session.exitstatus = 1
        print("\nSECRET LEAKED INTO LOGS:\n" + "\n".join(_records.leaks[:10]))
