"""Which project files one candidate turn runs through (docs/ARCHITECTURE.md).

A whole offline interview runs through the real ``AgentSession`` (``simulate``'s own
code, embedded store, real outbox in a temporary folder) with a profiler on every
thread. Everything that runs from the moment a candidate line is handed to the session
until the next one belongs to that turn: the turn itself on the event loop, and the
checkpoint it causes (rows built and written in a worker thread). Printed per turn and
in total; the offline interviewer (standing in for the model plugin) is named apart.

    python -m bench.turn_path [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from types import FrameType
from typing import Any

from agent.config import Settings
from agent.simulate import run_simulation
from persistence import open_store
from persistence.outbox import Outbox

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("agent", "stages", "interview", "feedback", "prompts", "persistence")
MODEL_STAND_IN = {"agent/offline_llm.py", "agent/local_llm.py"}
SAVING = "interview/saving.py"
HARNESS = {"agent/simulate.py", "bench/turn_path.py"}
LINES = [
    "Hi, yes, I'm ready.",
    "I'm a backend developer with six years of experience building payment APIs in Go.",
    "At my last job I led the migration of our ledger service to PostgreSQL, which cut "
    "reconciliation time from hours to minutes.",
    "I would use idempotency keys and a transactional outbox so that a retried request "
    "never charges a customer twice.",
]


def _rel(filename: str) -> str | None:
    if not filename.startswith(str(ROOT)):
        return None
    rel = Path(filename).relative_to(ROOT).as_posix()
    return rel if rel.split("/")[0] in PACKAGES else None


def _part(frame: FrameType) -> str:
    """Which part of the turn a call serves, from who called it: the model (the stand-in
    and what it calls), the checkpoint (saving, the stores, and what they call; an awaited
    store call has lost its caller), or the turn itself."""
    f: FrameType | None = frame
    while f is not None:
        rel = _rel(f.f_code.co_filename)
        if rel in MODEL_STAND_IN:
            return "model"
        if rel == SAVING or (rel or "").startswith("persistence/"):
            return "checkpoint"
        f = f.f_back
    return "turn"


class Tracer:
    def __init__(self) -> None:
        self.turn = -1
        self.files: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._loop_thread = threading.get_ident()

    def __call__(self, frame: FrameType, event: str, _arg: Any) -> None:
        if event != "call" or self.turn < 0:
            return
        rel = _rel(frame.f_code.co_filename)
        if rel is None or rel in HARNESS:
            return
        on_loop = threading.get_ident() == self._loop_thread
        self.files[self.turn][_part(frame) if on_loop else "checkpoint"].add(rel)


async def _lines(tracer: Tracer) -> AsyncIterator[str]:
    for i, line in enumerate(LINES):
        tracer.turn = i
        yield line
        await asyncio.sleep(1.5)  # the checkpoint after the reply (at most 1 s later)
    tracer.turn = -1


async def run() -> dict[str, Any]:
    tracer = Tracer()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(supabase_url=None, service_role_key=None, db_path=f"{tmp}/i.db")
        outbox = Outbox(f"{tmp}/o.db")
        settings = Settings(_env_file=None, openai_api_key=None)  # type: ignore[call-arg]
        threading.setprofile(tracer)
        sys.setprofile(tracer)
        try:
            await run_simulation(
                _lines(tracer), None, settings=settings, store=store, outbox=outbox, offline=True
            )
        finally:
            sys.setprofile(None)
            threading.setprofile(None)  # type: ignore[arg-type]
            await store.aclose()
    turns = [
        {"n": i + 1, **{part: sorted(files) for part, files in tracer.files[i].items()}}
        for i in sorted(tracer.files)
    ]
    return {"turns": turns}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run())
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for t in result["turns"]:
        save = t.get("checkpoint", [])
        print(f"candidate turn {t['n']}:")
        print(f"  the turn itself: {len(t.get('turn', []))} files: {', '.join(t.get('turn', []))}")
        print(f"  its checkpoint: {len(save)} files: {', '.join(save)}")
        print(f"  the model (offline stand-in): {', '.join(t.get('model', [])) or '-'}")


if __name__ == "__main__":
    main()
