"""The durable local outbox: nothing finished is lost, nothing is written twice.

Two tables in a local SQLite file, both keyed by interview id:

* ``checkpoints``: each interview in progress, rewritten at every turn, with the process
  that owns it. If that process dies (SIGKILL, OOM, power), the checkpoint is an orphan:
  :meth:`Outbox.recover_orphans` turns it into a pending item whose record already says
  ``ended_by = "worker_shutdown"``, unless a job that continues the interview claims it
  first (:meth:`Outbox.claim`).
* ``pending``: finished interviews waiting to be pushed to the store. :meth:`flush`
  saves each (interview and feedback in one call) and deletes it only after the store
  answered; a failure is retried with exponential backoff.

Every write carries the record's revision and never replaces a higher one, here or in
the store. Every call runs in a worker thread; the event loop never waits on the disk.

The outbox is a buffer, not the only road to the store: when its file cannot be used
(disk full, locked by another program, unreadable) its methods raise
:class:`OutboxUnavailable` quickly and the caller saves straight to the store. A file
that is not a database any more is moved aside (``*.corrupt-<time>``) and replaced.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psutil

from .files import private_file
from .records import FeedbackRecord, InterviewRecord, SaveResult
from .store import InterviewStore, StoreError

logger = logging.getLogger("interview.outbox")

BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 300.0
BUSY_TIMEOUT_S = 2.0
"""How long a write waits for another process's lock before the outbox counts as
unavailable (the caller then saves straight to the store)."""
SCHEMA_VERSION = 2
T = TypeVar("T")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS pending (
        interview_id    TEXT PRIMARY KEY,
        revision        INTEGER NOT NULL,
        room_name       TEXT NOT NULL,
        interview       TEXT NOT NULL,
        feedback        TEXT,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        last_error      TEXT,
        created_at      REAL NOT NULL,
        updated_at      REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS checkpoints (
        interview_id  TEXT PRIMARY KEY,
        revision      INTEGER NOT NULL,
        room_name     TEXT NOT NULL,
        room_sid      TEXT,
        user_id       TEXT,
        interview     TEXT NOT NULL,
        feedback      TEXT,
        owner_pid     INTEGER NOT NULL,
        owner_started REAL NOT NULL,
        updated_at    REAL NOT NULL
    )""",
)
_CORRUPT = ("file is not a database", "malformed", "file is encrypted", "unsupported file format")


class OutboxUnavailable(Exception):
    """The outbox file cannot be used now (disk full, locked, unreadable)."""


def backoff_s(attempts: int) -> float:
    return min(BACKOFF_MAX_S, BACKOFF_BASE_S * (2 ** max(0, attempts - 1)))


def _process_started(pid: int) -> float:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return -1.0


def _alive(pid: int, started: float) -> bool:
    seen = _process_started(pid)
    return seen > 0 and abs(seen - started) < 1.0


_started_of: dict[int, float] = {}


def _me() -> tuple[int, float]:
    """This process and its start time (looked up per pid: job processes are forked)."""
    pid = os.getpid()
    if pid not in _started_of:
        _started_of[pid] = _process_started(pid)
    return pid, _started_of[pid]


def _utf8(text: str) -> str:
    """Text SQLite can store whatever it holds (a lone surrogate becomes ``?``)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def _dump(record: Any) -> str:
    return _utf8(json.dumps(asdict(record), ensure_ascii=False))


def _interview(text: str) -> InterviewRecord:
    return InterviewRecord(**json.loads(text))


def _feedback(text: str | None) -> FeedbackRecord | None:
    return None if text is None else FeedbackRecord(**json.loads(text))


@dataclass(frozen=True, slots=True)
class FlushResult:
    pushed: int
    failed: int
    remaining: int
    saved: dict[str, SaveResult] = field(default_factory=dict)
    """interview id -> what the store did, for the items pushed by this flush."""


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    pending: int
    checkpoints: int
    oldest_pending_age_s: float | None
    max_attempts: int
    last_errors: list[str]


@dataclass(frozen=True, slots=True)
class Claimed:
    """An unfinished interview a new job takes over: its last rows, and where they were."""

    interview: InterviewRecord
    feedback: FeedbackRecord | None
    source: str
    """``checkpoint`` (its process died mid-interview) or ``pending`` (already recovered)."""


class Outbox:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._ready = False

    # ------------------------------------------------------------ plumbing

    def _open(self) -> sqlite3.Connection:
        if not self._ready:
            private_file(self.path)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            if not self._ready:
                self._prepare(conn)
                self._ready = True
        except BaseException:
            conn.close()
            raise
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        check = conn.execute("PRAGMA quick_check(1)").fetchone()
        if not check or check[0] != "ok":
            raise sqlite3.DatabaseError("database disk image is malformed")
        if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            _migrate(conn)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _quarantine(self, reason: str) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        moved = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{self.path}{suffix}")
            if src.exists():
                src.replace(Path(f"{moved}{suffix}"))
        self._ready = False
        logger.error(
            "outbox file was unreadable (%s): moved to %s and replaced by an empty one",
            reason,
            moved.name,
        )

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        for attempt in (1, 2):
            try:
                conn = self._open()
                try:
                    return fn(conn)
                finally:
                    conn.close()
            except sqlite3.DatabaseError as e:
                text = str(e).lower()
                if attempt == 1 and any(c in text for c in _CORRUPT):
                    try:
                        self._quarantine(str(e))
                    except OSError as moved:
                        raise OutboxUnavailable(f"corrupt and not movable: {moved}") from None
                    continue
                raise OutboxUnavailable(f"{type(e).__name__}: {e}") from None
            except OSError as e:
                raise OutboxUnavailable(f"{type(e).__name__}: {e.strerror or e}") from None
        raise AssertionError("unreachable")

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._call, fn)

    # ------------------------------------------------------------ checkpoints

    async def checkpoint(self, interview: InterviewRecord, feedback: FeedbackRecord | None) -> None:
        """Keep this version of a live interview (unless a newer one is already kept).
        The rows are serialised in the outbox's thread, not on the caller's loop."""
        sid = interview.metadata.get("room_sid")
        pid, started = _me()

        def write(conn: sqlite3.Connection) -> None:
            i, f = _dump(interview), (None if feedback is None else _dump(feedback))
            conn.execute(
                "INSERT INTO checkpoints VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(interview_id) DO UPDATE SET revision=excluded.revision, "
                "interview=excluded.interview, feedback=excluded.feedback, "
                "owner_pid=excluded.owner_pid, owner_started=excluded.owner_started, "
                "updated_at=excluded.updated_at WHERE excluded.revision > checkpoints.revision",
                (interview.id, interview.revision, interview.room_name, sid, interview.user_id,
                 i, f, pid, started, time.time()),
            )  # fmt: skip

        await self._run(write)

    async def recover_orphans(self) -> list[str]:
        """Pending items from checkpoints whose owning process is gone; their ids."""

        def recover(conn: sqlite3.Connection) -> list[str]:
            recovered: list[str] = []
            rows = conn.execute(
                "SELECT interview_id, owner_pid, owner_started FROM checkpoints"
            ).fetchall()
            for interview_id, pid, started in rows:
                if _alive(pid, started):
                    continue  # its process still runs this interview
                conn.execute("BEGIN IMMEDIATE")
                row = conn.execute(
                    "SELECT revision, room_name, interview, feedback, owner_pid, owner_started "
                    "FROM checkpoints WHERE interview_id = ?",
                    (interview_id,),
                ).fetchone()
                if row is None or _alive(row[4], row[5]):  # claimed meanwhile
                    conn.execute("COMMIT")
                    continue
                _put_row(conn, interview_id, *row[:4])
                conn.execute("DELETE FROM checkpoints WHERE interview_id = ?", (interview_id,))
                conn.execute("COMMIT")
                recovered.append(interview_id)
            return recovered

        return await self._run(recover)

    async def claim(self, *, room_name: str, room_sid: str, user_id: str | None) -> Claimed | None:
        """Take over the newest unfinished interview of this user in this room instance:
        a checkpoint whose process is gone (now owned by this process), or a recovered
        item still waiting to be pushed. ``None`` when there is none here."""
        pid, own_started = _me()

        def claim(conn: sqlite3.Connection) -> Claimed | None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for interview_id, pid_, started, i, f in conn.execute(
                    "SELECT interview_id, owner_pid, owner_started, interview, feedback "
                    "FROM checkpoints WHERE room_name = ? AND room_sid = ? AND user_id IS ? "
                    "ORDER BY revision DESC",
                    (room_name, room_sid, user_id),
                ).fetchall():
                    if _alive(pid_, started):
                        continue
                    conn.execute(
                        "UPDATE checkpoints SET owner_pid = ?, owner_started = ?, updated_at = ? "
                        "WHERE interview_id = ?",
                        (pid, own_started, time.time(), interview_id),
                    )
                    return Claimed(_interview(i), _feedback(f), "checkpoint")
                row = conn.execute(
                    "SELECT interview, feedback FROM pending WHERE room_name = ? "
                    "AND json_extract(interview, '$.metadata.room_sid') = ? "
                    "AND json_extract(interview, '$.user_id') IS ? "
                    "AND json_extract(interview, '$.ended_by') = 'worker_shutdown' "
                    "ORDER BY revision DESC LIMIT 1",
                    (room_name, room_sid, user_id),
                ).fetchone()
                return (
                    None
                    if row is None
                    else Claimed(_interview(row[0]), _feedback(row[1]), "pending")
                )
            finally:
                conn.execute("COMMIT")

        return await self._run(claim)

    # ------------------------------------------------------------ pending

    async def put(self, interview: InterviewRecord, feedback: FeedbackRecord | None) -> None:
        """Commit a finished interview locally (and drop its older checkpoint) in one
        transaction. A version older than the one already waiting changes nothing."""
        i, f = _dump(interview), (None if feedback is None else _dump(feedback))

        def put(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            _put_row(conn, interview.id, interview.revision, interview.room_name, i, f)
            conn.execute(
                "DELETE FROM checkpoints WHERE interview_id = ? AND revision <= ?",
                (interview.id, interview.revision),
            )
            conn.execute("COMMIT")

        await self._run(put)

    async def flush(
        self, store: InterviewStore, *, interview_id: str | None = None, force: bool = False
    ) -> FlushResult:
        """Push due items (all items with ``force``; only that one with ``interview_id``)."""
        now = float("inf") if force else time.time()

        def due(conn: sqlite3.Connection) -> list[tuple[str, int, str, str | None, int]]:
            q = "SELECT interview_id, revision, interview, feedback, attempts FROM pending "
            if interview_id is not None:
                return conn.execute(q + "WHERE interview_id = ?", (interview_id,)).fetchall()
            return conn.execute(
                q + "WHERE next_attempt_at <= ? ORDER BY created_at", (now,)
            ).fetchall()

        items = await self._run(due)
        pushed = failed = 0
        saved: dict[str, SaveResult] = {}
        for iid, revision, interview_json, feedback_json, attempts in items:
            try:
                result = await store.save(_interview(interview_json), _feedback(feedback_json))
            except (StoreError, OSError, TimeoutError) as e:
                failed += 1
                await self._run(_failed(iid, revision, attempts + 1, str(e)))
                continue
            pushed += 1
            saved[iid] = result
            await self._run(_done(iid, revision))
        remaining = await self._run(
            lambda conn: int(conn.execute("SELECT count(*) FROM pending").fetchone()[0])
        )
        return FlushResult(pushed=pushed, failed=failed, remaining=remaining, saved=saved)

    async def recover_and_flush(
        self, store: InterviewStore, *, force: bool = False
    ) -> tuple[list[str], FlushResult]:
        """What a worker does at start and then every so often: orphaned checkpoints
        become pending items, then everything due is pushed."""
        recovered = await self.recover_orphans()
        if recovered:
            logger.warning(
                "recovered %d interrupted interview(s) as worker_shutdown", len(recovered)
            )
        return recovered, await self.flush(store, force=force)

    async def status(self) -> OutboxStatus:
        def status(conn: sqlite3.Connection) -> OutboxStatus:
            pending, oldest, max_attempts = conn.execute(
                "SELECT count(*), min(created_at), coalesce(max(attempts), 0) FROM pending"
            ).fetchone()
            checkpoints = conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
            errors = [
                f"{room} ({iid[:8]}): {err}"
                for iid, room, err in conn.execute(
                    "SELECT interview_id, room_name, last_error FROM pending "
                    "WHERE last_error IS NOT NULL ORDER BY updated_at DESC LIMIT 5"
                )
            ]
            return OutboxStatus(
                pending=int(pending),
                checkpoints=int(checkpoints),
                oldest_pending_age_s=round(time.time() - oldest, 1) if oldest else None,
                max_attempts=int(max_attempts),
                last_errors=errors,
            )

        return await self._run(status)


# ---------------------------------------------------------------- SQL bodies


def _put_row(
    conn: sqlite3.Connection,
    interview_id: str,
    revision: int,
    room_name: str,
    interview_json: str,
    feedback_json: str | None,
) -> None:
    now = time.time()
    conn.execute(
        "INSERT INTO pending (interview_id, revision, room_name, interview, feedback, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(interview_id) DO "
        "UPDATE SET revision=excluded.revision, interview=excluded.interview, "
        "feedback=excluded.feedback, next_attempt_at=0, updated_at=excluded.updated_at "
        "WHERE excluded.revision > pending.revision OR (excluded.revision = pending.revision "
        "AND excluded.feedback IS NOT NULL)",
        (interview_id, revision, room_name, interview_json, feedback_json, now, now),
    )


def _done(interview_id: str, revision: int) -> Callable[[sqlite3.Connection], None]:
    def done(conn: sqlite3.Connection) -> None:
        # only if nobody put a newer version meanwhile
        conn.execute(
            "DELETE FROM pending WHERE interview_id = ? AND revision = ?", (interview_id, revision)
        )

    return done


def _failed(
    interview_id: str, revision: int, attempts: int, error: str
) -> Callable[[sqlite3.Connection], None]:
    def failed(conn: sqlite3.Connection) -> None:
        now = time.time()
        conn.execute(
            "UPDATE pending SET attempts=?, next_attempt_at=?, last_error=?, updated_at=? "
            "WHERE interview_id=? AND revision=?",
            (attempts, now + backoff_s(attempts), error[:300], now, interview_id, revision),
        )

    return failed


def _migrate(conn: sqlite3.Connection) -> None:
    """Create the tables, or convert an outbox written before interviews had an identity
    (items keyed by room name): each item gets an id and revision 0."""
    cols = {r[1] for r in conn.execute("PRAGMA table_info(pending)")}
    old = bool(cols) and "interview_id" not in cols
    if old:
        conn.execute("ALTER TABLE pending RENAME TO pending_v1")
        conn.execute("ALTER TABLE checkpoints RENAME TO checkpoints_v1")
    for statement in _SCHEMA:
        conn.execute(statement)
    if not old:
        return

    def upgrade(text: str) -> tuple[str, dict[str, Any]]:
        data = json.loads(text)
        data.setdefault("id", str(uuid.uuid4()))
        data.setdefault("revision", 0)
        data.setdefault("metadata", {}).setdefault("room_name", data.get("room_name"))
        return data["id"], data

    for room, i, f, attempts, next_at, err, created, updated in conn.execute(
        "SELECT room_name, interview, feedback, attempts, next_attempt_at, last_error, "
        "created_at, updated_at FROM pending_v1"
    ).fetchall():
        iid, data = upgrade(i)
        conn.execute(
            "INSERT INTO pending VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?, ?)",
            (iid, room, json.dumps(data, ensure_ascii=False), f, attempts, next_at, err,
             created, updated),
        )  # fmt: skip
    for room, i, f, pid, started, updated in conn.execute(
        "SELECT room_name, interview, feedback, owner_pid, owner_started, updated_at "
        "FROM checkpoints_v1"
    ).fetchall():
        iid, data = upgrade(i)
        conn.execute(
            "INSERT INTO checkpoints VALUES (?, 0, ?, NULL, ?, ?, ?, ?, ?, ?)",
            (iid, room, data.get("user_id"), json.dumps(data, ensure_ascii=False), f, pid,
             started, updated),
        )  # fmt: skip
    conn.execute("DROP TABLE pending_v1")
    conn.execute("DROP TABLE checkpoints_v1")
