"""The embedded store: SQLite with the same two tables as Supabase.

Used when no ``SUPABASE_URL`` is configured. Every call runs in a worker thread, so the
session's event loop never blocks on the disk.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from .records import FeedbackRecord, InterviewRecord, KeyRow, SavedInterview, StoredQuestion
from .store import StoreError

_JSON_COLUMNS = ("skipped_stages", "conversation", "total_messages", "metadata")
_COLUMNS = (
    "user_id", "candidate_name", "interview_date", "room_name", "job_role",
    "experience_level", "final_stage", "ended_by", "skipped_stages", "has_resume",
    "has_jd", "conversation", "total_messages", "metadata",
)  # fmt: skip


def _now() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="milliseconds")


class SqliteStore:
    name = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = asyncio.Lock()
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        return conn

    def _init(self) -> None:
        if self._ready:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        schema = resources.files("persistence").joinpath("sql/sqlite_schema.sql").read_text()
        with self._connect() as conn:
            conn.executescript(schema)
        self._ready = True

    async def _run(self, fn: Any, *args: Any) -> Any:
        async with self._lock:
            try:
                return await asyncio.to_thread(self._call, fn, *args)
            except sqlite3.Error as e:
                raise StoreError(f"sqlite store at {self.path}: {type(e).__name__}: {e}") from None

    def _call(self, fn: Any, *args: Any) -> Any:
        self._init()
        return fn(*args)

    # ------------------------------------------------------------ interface

    async def upsert_interview(self, record: InterviewRecord) -> str:
        return await self._run(self._upsert_interview, record)

    async def upsert_feedback(self, interview_id: str, record: FeedbackRecord) -> None:
        await self._run(self._upsert_feedback, interview_id, record)

    async def get_by_room(self, room_name: str) -> SavedInterview | None:
        return await self._run(self._get_by_room, room_name)

    async def questions_for_role(self, role_title: str) -> list[StoredQuestion]:
        """The embedded store keeps no question table: the bundled bank is used."""
        return []

    async def load_key_row(self, user_id: str) -> KeyRow | None:
        """The embedded store holds no user keys (local mode reads them from the env)."""
        return None

    async def aclose(self) -> None:
        return None

    # ------------------------------------------------------------ sync bodies

    def _upsert_interview(self, r: InterviewRecord) -> str:
        values: dict[str, Any] = {c: getattr(r, c) for c in _COLUMNS}
        for c in _JSON_COLUMNS:
            values[c] = json.dumps(values[c], ensure_ascii=False)
        values["has_resume"] = int(bool(values["has_resume"]))
        values["has_jd"] = int(bool(values["has_jd"]))
        with self._connect() as conn:
            row = conn.execute(
                "SELECT id FROM interviews WHERE room_name = ?", (r.room_name,)
            ).fetchone()
            interview_id = row[0] if row else str(uuid.uuid4())
            cols = ", ".join(("id", "created_at", *_COLUMNS))
            marks = ", ".join("?" for _ in range(len(_COLUMNS) + 2))
            updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "room_name")
            conn.execute(
                f"INSERT INTO interviews ({cols}) VALUES ({marks}) "
                f"ON CONFLICT(room_name) DO UPDATE SET {updates}",
                (interview_id, _now(), *values.values()),
            )
        return interview_id

    def _upsert_feedback(self, interview_id: str, r: FeedbackRecord) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO feedback (id, user_id, interview_id, feedback_data, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(interview_id) DO UPDATE SET "
                "feedback_data = excluded.feedback_data, user_id = excluded.user_id",
                (str(uuid.uuid4()), r.user_id, interview_id,
                 json.dumps(r.feedback_data, ensure_ascii=False), _now()),
            )  # fmt: skip

    def _get_by_room(self, room_name: str) -> SavedInterview | None:
        with self._connect() as conn:
            conn.row_factory = sqlite3.Row
            row = conn.execute(
                "SELECT * FROM interviews WHERE room_name = ?", (room_name,)
            ).fetchone()
            if row is None:
                return None
            fb = conn.execute(
                "SELECT user_id, feedback_data FROM feedback WHERE interview_id = ?", (row["id"],)
            ).fetchone()
        data = {c: row[c] for c in _COLUMNS}
        for c in _JSON_COLUMNS:
            data[c] = json.loads(data[c])
        data["has_resume"] = bool(data["has_resume"])
        data["has_jd"] = bool(data["has_jd"])
        feedback = (
            FeedbackRecord(user_id=fb["user_id"], feedback_data=json.loads(fb["feedback_data"]))
            if fb
            else None
        )
        return SavedInterview(
            interview_id=row["id"], interview=InterviewRecord(**data), feedback=feedback
        )
