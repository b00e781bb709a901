from __future__ import annotations

import pytest


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
    import os

    from .stack.local_supabase import LocalSupabase, StackUnavailable

    try:
        stack = LocalSupabase().start()
    except StackUnavailable as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"local Supabase stack unavailable: {e}")
    yield stack
    stack.stop()
