"""The durable local outbox: nothing finished is lost, nothing is written twice.

Two tables in a local SQLite file:

* ``checkpoints``: the interview in progress, rewritten at every turn, with the process
  that owns it. If that process dies (SIGKILL, OOM, power), the checkpoint is an orphan:
  :meth:`Outbox.recover_orphans` turns it into a pending item whose record already says
  ``ended_by = "worker_shutdown"``.
* ``pending``: finished interviews waiting to be pushed to the store. :meth:`flush`
  upserts each (interview first, then its feedback) and deletes it only after both
  succeeded; a failure is retried with exponential backoff. Upserts on natural keys make
  a replay harmless.

Every call runs in a worker thread; the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import time
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from .records import FeedbackRecord, InterviewRecord
from .store import InterviewStore, StoreError

logger = logging.getLogger("interview.outbox")

BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 300.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    room_name       TEXT PRIMARY KEY,
    interview       TEXT NOT NULL,
    feedback        TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    room_name     TEXT PRIMARY KEY,
    interview     TEXT NOT NULL,
    feedback      TEXT NOT NULL,
    owner_pid     INTEGER NOT NULL,
    owner_started REAL NOT NULL,
    updated_at    REAL NOT NULL
);
"""


def backoff_s(attempts: int) -> float:
    return min(BACKOFF_MAX_S, BACKOFF_BASE_S * (2 ** max(0, attempts - 1)))


def _process_started(pid: int) -> float:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return -1.0


@dataclass(frozen=True, slots=True)
class FlushResult:
    pushed: int
    failed: int
    remaining: int
    interview_ids: dict[str, str] = field(default_factory=dict)
    """room_name -> interview id, for the items pushed by this flush."""


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    pending: int
    checkpoints: int
    oldest_pending_age_s: float | None
    max_attempts: int
    last_errors: list[str]


class Outbox:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._ready = False

    # ------------------------------------------------------------ plumbing

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=15, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        if not self._ready:
            conn.executescript(_SCHEMA)
            self._ready = True
        return conn

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    @staticmethod
    def _dump(interview: InterviewRecord, feedback: FeedbackRecord) -> tuple[str, str]:
        return (
            json.dumps(asdict(interview), ensure_ascii=False),
            json.dumps(asdict(feedback), ensure_ascii=False),
        )

    # ------------------------------------------------------------ checkpoints

    async def checkpoint(self, interview: InterviewRecord, feedback: FeedbackRecord) -> None:
        await self._run(self._checkpoint, interview, feedback)

    def _checkpoint(self, interview: InterviewRecord, feedback: FeedbackRecord) -> None:
        i, f = self._dump(interview, feedback)
        pid = os.getpid()
        with closing(self._connect()) as conn:
            conn.execute(
                "INSERT INTO checkpoints VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(room_name) DO "
                "UPDATE SET interview=excluded.interview, feedback=excluded.feedback, "
                "owner_pid=excluded.owner_pid, owner_started=excluded.owner_started, "
                "updated_at=excluded.updated_at",
                (interview.room_name, i, f, pid, _process_started(pid), time.time()),
            )

    async def recover_orphans(self) -> list[str]:
        """Pending items from checkpoints whose owning process is gone; their room names."""
        return await self._run(self._recover_orphans)

    def _recover_orphans(self) -> list[str]:
        recovered: list[str] = []
        with closing(self._connect()) as conn:
            rows = conn.execute(
                "SELECT room_name, interview, feedback, owner_pid, owner_started FROM checkpoints"
            ).fetchall()
            for room, interview, feedback, pid, started in rows:
                alive = _process_started(pid)
                if alive > 0 and abs(alive - started) < 1.0:
                    continue  # its process still runs this interview
                now = time.time()
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(
                    "INSERT INTO pending (room_name, interview, feedback, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT(room_name) DO NOTHING",
                    (room, interview, feedback, now, now),
                )
                conn.execute("DELETE FROM checkpoints WHERE room_name = ?", (room,))
                conn.execute("COMMIT")
                recovered.append(room)
        return recovered

    # ------------------------------------------------------------ pending

    async def put(self, interview: InterviewRecord, feedback: FeedbackRecord) -> None:
        """Commit a finished interview locally (and drop its checkpoint) in one transaction."""
        await self._run(self._put, interview, feedback)

    def _put(self, interview: InterviewRecord, feedback: FeedbackRecord) -> None:
        i, f = self._dump(interview, feedback)
        now = time.time()
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO pending (room_name, interview, feedback, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(room_name) DO UPDATE SET "
                "interview=excluded.interview, feedback=excluded.feedback, "
                "next_attempt_at=0, updated_at=excluded.updated_at",
                (interview.room_name, i, f, now, now),
            )
            conn.execute("DELETE FROM checkpoints WHERE room_name = ?", (interview.room_name,))
            conn.execute("COMMIT")

    def _due(self, now: float, room: str | None) -> list[tuple[str, str, str, int]]:
        with closing(self._connect()) as conn:
            if room is not None:
                q = "SELECT room_name, interview, feedback, attempts FROM pending WHERE room_name=?"
                return conn.execute(q, (room,)).fetchall()
            return conn.execute(
                "SELECT room_name, interview, feedback, attempts FROM pending "
                "WHERE next_attempt_at <= ? ORDER BY created_at",
                (now,),
            ).fetchall()

    def _done(self, room: str, interview_json: str) -> None:
        with closing(self._connect()) as conn:
            # only if nobody replaced the item meanwhile
            conn.execute(
                "DELETE FROM pending WHERE room_name = ? AND interview = ?", (room, interview_json)
            )

    def _failed(self, room: str, attempts: int, error: str) -> None:
        now = time.time()
        with closing(self._connect()) as conn:
            conn.execute(
                "UPDATE pending SET attempts=?, next_attempt_at=?, last_error=?, updated_at=? "
                "WHERE room_name=?",
                (attempts, now + backoff_s(attempts), error[:300], now, room),
            )

    def _count(self) -> int:
        with closing(self._connect()) as conn:
            return int(conn.execute("SELECT count(*) FROM pending").fetchone()[0])

    async def flush(
        self, store: InterviewStore, *, room: str | None = None, force: bool = False
    ) -> FlushResult:
        """Push due items (all items with ``force``; one with ``room``) to ``store``."""
        now = float("inf") if force else time.time()
        items = await self._run(self._due, now, room)
        pushed = failed = 0
        ids: dict[str, str] = {}
        for room_name, interview_json, feedback_json, attempts in items:
            try:
                interview = InterviewRecord(**json.loads(interview_json))
                feedback = FeedbackRecord(**json.loads(feedback_json))
                interview_id = await store.upsert_interview(interview)
                await store.upsert_feedback(interview_id, feedback)
            except (StoreError, OSError, TimeoutError) as e:
                failed += 1
                await self._run(self._failed, room_name, attempts + 1, str(e))
                continue
            pushed += 1
            ids[room_name] = interview_id
            await self._run(self._done, room_name, interview_json)
        remaining = await self._run(self._count)
        return FlushResult(pushed=pushed, failed=failed, remaining=remaining, interview_ids=ids)

    async def recover_and_flush(
        self, store: InterviewStore, *, force: bool = False
    ) -> tuple[list[str], FlushResult]:
        """What a (re)start does: orphaned checkpoints become pending items, then push."""
        recovered = await self.recover_orphans()
        if recovered:
            logger.warning(
                "recovered %d interrupted interview(s) as worker_shutdown", len(recovered)
            )
        return recovered, await self.flush(store, force=force)

    async def status(self) -> OutboxStatus:
        return await self._run(self._status)

    def _status(self) -> OutboxStatus:
        with closing(self._connect()) as conn:
            pending, oldest, max_attempts = conn.execute(
                "SELECT count(*), min(created_at), coalesce(max(attempts), 0) FROM pending"
            ).fetchone()
            checkpoints = conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
            errors = [
                f"{room}: {err}"
                for room, err in conn.execute(
                    "SELECT room_name, last_error FROM pending WHERE last_error IS NOT NULL "
                    "ORDER BY updated_at DESC LIMIT 5"
                )
            ]
        return OutboxStatus(
            pending=int(pending),
            checkpoints=int(checkpoints),
            oldest_pending_age_s=round(time.time() - oldest, 1) if oldest else None,
            max_attempts=int(max_attempts),
            last_errors=errors,
        )
