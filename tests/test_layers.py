"""The rooms of the house (docs/ARCHITECTURE.md), checked on the source itself.

Each package may import only what its job needs: ``stages/`` and ``interview/`` know
nothing of LiveKit, only ``persistence/`` speaks SQL or Supabase, and nothing outside
``interview/`` touches the state machine directly (it is reached through the interview
record, which applies every effect).
"""

from __future__ import annotations

import ast
import gc
import re
from pathlib import Path

import pytest

from agent.interviewer import Interviewer
from interview.record import REQUESTS

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("agent", "stages", "interview", "feedback", "prompts", "persistence", "bench",
            "contracts", "observability", "providers", "byok", "commands")  # fmt: skip


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _parse(source: str) -> ast.Module:
    """``ast.parse``, safe against threads left running by earlier tests.

    CPython 3.11 keeps one recursion counter for turning a parse into Python objects,
    shared by every thread; a parse in another thread (reached when a garbage collection
    in this one runs Python code) makes it raise ``SystemError: AST constructor
    recursion depth mismatch``. Collecting is paused while parsing, and a parse that
    still meets one is simply done again.
    """
    for attempt in range(3):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return ast.parse(source)
        except SystemError:
            if attempt == 2:
                raise
        finally:
            if enabled:
                gc.enable()
    raise AssertionError("unreachable")


def _imports(path: Path) -> set[str]:
    tree = _parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


FORBIDDEN: dict[str, set[str]] = {
    "stages": {"livekit", "agent", "interview", "persistence", "supabase", "sqlite3"},
    "interview": {"livekit", "agent", "supabase", "sqlite3", "postgrest"},
    "feedback": {"livekit", "agent", "interview", "supabase", "sqlite3"},
    "prompts": {"livekit", "agent", "interview", "persistence", "supabase", "sqlite3"},
    "persistence": {"livekit", "agent", "interview", "byok", "commands"},
    # the provider table is data: read by persistence (key columns) and interview (prices)
    # as well as by agent/, so it knows none of them, nor LiveKit (its builders are named)
    "providers": {
        "livekit",
        "agent",
        "interview",
        "persistence",
        "stages",
        "feedback",
        "prompts",
        "supabase",
        "sqlite3",
        "openai",
        "httpx",
        "aiohttp",
    },
    "agent": {"sqlite3", "postgrest", "commands"},
    # the key sealing and opening: cryptography, the stored rows and the provider table
    "byok": {
        "livekit",
        "agent",
        "commands",
        "interview",
        "stages",
        "feedback",
        "prompts",
        "supabase",
        "sqlite3",
        "postgrest",
    },
    # the command line: argv, printing, exit codes; LiveKit only through agent/
    "commands": {"livekit", "supabase", "sqlite3", "postgrest"},
    "contracts": {"livekit", "agent", "interview", "persistence", "stages", "supabase", "sqlite3"},
    # metrics and spans: no LiveKit (agent/telemetry.py adapts it), no storage, no content
    "observability": {
        "livekit",
        "agent",
        "interview",
        "persistence",
        "stages",
        "feedback",
        "supabase",
        "sqlite3",
    },
}


ENTRY = {(Path("agent/__main__.py"), "commands.main")}
"""``python -m agent`` (the command line's contract) hands over to the command line."""


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_each_package_imports_only_what_its_job_needs(package: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in _modules(package)
        for name in _imports(path)
        if _top(name) in FORBIDDEN[package] and (path.relative_to(ROOT), name) not in ENTRY
    }
    assert not wrong, sorted(wrong)


def test_the_machine_is_reached_only_through_the_interview_record() -> None:
    reach = re.compile(r"\.machine\b(?!\()")
    outside = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for package in ("agent", "bench", "feedback", "persistence", "prompts")
        for path in _modules(package)
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if reach.search(line) and "import" not in line and "platform.machine" not in line
    ]
    assert not outside, outside


def test_the_interviewer_offers_exactly_the_requests_the_interview_answers() -> None:
    tools = {t.info.name for t in Interviewer.__dict__.values() if hasattr(t, "info")}
    assert tools == set(REQUESTS)
