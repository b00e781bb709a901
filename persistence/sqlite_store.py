"""The embedded store: SQLite with the same two tables as Supabase.

Used when no ``SUPABASE_URL`` is configured. Every call runs in a worker thread, so the
session's event loop never blocks on the disk. Saving follows the same rules as the
Supabase store's ``save_interview`` function: by interview id, newer revisions only,
``user_id`` never changed, a derived room name when the real one is taken.
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

from .files import private_file
from .records import (
    FeedbackRecord,
    InterviewRecord,
    KeyRow,
    PastInterview,
    SavedInterview,
    SaveResult,
    StoredQuestion,
    derived_room_name,
)
from .store import EARLIER_LIMIT, StoreConflict, StoreError

SCHEMA_VERSION = 2
_JSON_COLUMNS = ("skipped_stages", "conversation", "total_messages", "metadata")
_COLUMNS = (
    "user_id", "candidate_name", "interview_date", "room_name", "job_role",
    "experience_level", "final_stage", "ended_by", "skipped_stages", "has_resume",
    "has_jd", "conversation", "total_messages", "metadata",
)  # fmt: skip
_UPDATED = tuple(c for c in _COLUMNS if c not in ("user_id", "room_name"))
"""What a newer revision may change: never the owner, never the saved room name."""


def _now() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="milliseconds")


def _statements(schema: str) -> list[str]:
    body = "\n".join(line for line in schema.splitlines() if not line.lstrip().startswith("--"))
    return [st.strip() for st in body.split(";") if st.strip()]


def _migrate(conn: sqlite3.Connection, schema: str) -> None:
    """Create the tables, or bring a store written before interviews had an identity
    (rows keyed by room name, no revisions, ``ended_by`` NOT NULL) up to date. One
    transaction; SQLite's rename-create-copy-drop recipe for the rebuilt tables."""
    cols = {r[1] for r in conn.execute("PRAGMA table_info(interviews)")}
    old = bool(cols) and "revision" not in cols
    if old:
        conn.execute("ALTER TABLE interviews RENAME TO interviews_v1")
        conn.execute("ALTER TABLE feedback RENAME TO feedback_v1")
        for index in ("idx_interviews_user_id", "idx_interviews_date", "idx_feedback_user_id"):
            conn.execute(f"DROP INDEX IF EXISTS {index}")
    for statement in _statements(schema):
        conn.execute(statement)
    if not old:
        return
    moved = ", ".join(("id", "created_at", *_COLUMNS))
    conn.execute(
        f"INSERT INTO interviews ({moved}, revision, updated_at) "
        f"SELECT {moved}, 0, created_at FROM interviews_v1"
    )
    # the real room name, as every row saved from now on carries it
    conn.execute(
        "UPDATE interviews SET metadata = json_set(metadata, '$.room_name', room_name) "
        "WHERE json_extract(metadata, '$.room_name') IS NULL"
    )
    conn.execute(
        "INSERT INTO feedback (id, user_id, interview_id, feedback_data, revision, "
        "created_at, updated_at) SELECT id, user_id, interview_id, feedback_data, 0, "
        "created_at, created_at FROM feedback_v1"
    )
    conn.execute("DROP TABLE feedback_v1")
    conn.execute("DROP TABLE interviews_v1")


class SqliteStore:
    name = "sqlite"
    uploads_recordings = False

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
        private_file(self.path)
        schema = resources.files("persistence").joinpath("sql/sqlite_schema.sql").read_text()
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                conn.execute("PRAGMA foreign_keys = OFF")
                conn.execute("BEGIN IMMEDIATE")
                try:
                    _migrate(conn, schema)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        finally:
            conn.close()
        self._ready = True

    async def _run(self, fn: Any, *args: Any) -> Any:
        async with self._lock:
            try:
                return await asyncio.to_thread(self._call, fn, *args)
            except sqlite3.Error as e:
                raise StoreError(f"sqlite store at {self.path}: {type(e).__name__}: {e}") from None
            except OSError as e:
                raise StoreError(f"sqlite store at {self.path}: {e.strerror or e}") from None

    def _call(self, fn: Any, *args: Any) -> Any:
        self._init()
        return fn(*args)

    # ------------------------------------------------------------ interface

    async def save(self, interview: InterviewRecord, feedback: FeedbackRecord | None) -> SaveResult:
        return await self._run(self._save, interview, feedback)

    async def get(self, interview_id: str) -> SavedInterview | None:
        return await self._run(self._read, "id = ?", (interview_id,))

    async def latest_in_room(self, room_name: str) -> SavedInterview | None:
        return await self._run(
            self._read,
            "(json_extract(metadata, '$.room_name') = ? OR room_name = ?) "
            "ORDER BY interview_date DESC, created_at DESC",
            (room_name, room_name),
        )

    async def find_resumable(
        self, *, room_name: str, room_sid: str, user_id: str | None
    ) -> SavedInterview | None:
        return await self._run(
            self._read,
            "json_extract(metadata, '$.room_name') = ? "
            "AND json_extract(metadata, '$.room_sid') = ? AND user_id IS ? "
            "AND (ended_by IS NULL OR ended_by = 'worker_shutdown') "
            "ORDER BY revision DESC",
            (room_name, room_sid, user_id),
        )

    async def questions_for_role(self, role_title: str) -> list[StoredQuestion]:
        """The embedded store keeps no question table: the bundled bank is used."""
        return []

    async def earlier_interviews(
        self, user_id: str | None, *, besides: str, limit: int = EARLIER_LIMIT
    ) -> list[PastInterview]:
        return await self._run(self._earlier, user_id, besides, limit)

    async def upload_recording(self, path: str, wav: bytes) -> None:
        raise StoreError("the embedded store keeps recordings in the local folder")

    async def recording_url(self, path: str, expires_s: int) -> str | None:
        return None

    async def delete_recordings(self, prefix: str) -> int:
        """Nothing here: the embedded store's recordings are the local files."""
        return 0

    async def load_key_row(self, user_id: str) -> KeyRow | None:
        """The embedded store holds no user keys (local mode reads them from the env)."""
        return None

    async def aclose(self) -> None:
        return None

    # ------------------------------------------------------------ sync bodies

    def _save(self, r: InterviewRecord, fb: FeedbackRecord | None) -> SaveResult:
        values: dict[str, Any] = {c: getattr(r, c) for c in _COLUMNS}
        for c in _JSON_COLUMNS:
            values[c] = json.dumps(values[c], ensure_ascii=False)
        values["has_resume"] = int(bool(values["has_resume"]))
        values["has_jd"] = int(bool(values["has_jd"]))
        now = _now()
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute(
                "SELECT user_id, revision, room_name, ended_by FROM interviews WHERE id = ?",
                (r.id,),
            ).fetchone()
            if row is not None:
                owner, revision, saved_room, ended_by = row
                if owner != r.user_id:
                    raise StoreConflict(f"interview {r.id} belongs to another user")
                newer = r.revision > revision or (
                    r.revision == revision and ended_by is None and r.ended_by is not None
                )
                if newer:
                    sets = ", ".join(f"{c} = ?" for c in _UPDATED)
                    conn.execute(
                        f"UPDATE interviews SET {sets}, revision = ?, updated_at = ? WHERE id = ?",
                        (*(values[c] for c in _UPDATED), r.revision, now, r.id),
                    )
            else:
                newer = True
                saved_room = r.room_name
                taken = "SELECT 1 FROM interviews WHERE room_name = ?"
                if conn.execute(taken, (saved_room,)).fetchone():
                    saved_room = derived_room_name(r.room_name, r.id)
                    if conn.execute(taken, (saved_room,)).fetchone():
                        saved_room = derived_room_name(r.room_name, r.id.replace("-", "") * 2)
                values["room_name"] = saved_room
                cols = ", ".join(("id", "revision", "created_at", "updated_at", *_COLUMNS))
                marks = ", ".join("?" for _ in range(len(_COLUMNS) + 4))
                conn.execute(
                    f"INSERT INTO interviews ({cols}) VALUES ({marks})",
                    (r.id, r.revision, now, now, *(values[c] for c in _COLUMNS)),
                )
            if fb is not None:
                conn.execute(
                    "INSERT INTO feedback (id, user_id, interview_id, feedback_data, revision, "
                    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(interview_id) DO UPDATE SET feedback_data = "
                    "excluded.feedback_data, revision = excluded.revision, updated_at = "
                    "excluded.updated_at WHERE feedback.revision < excluded.revision",
                    (str(uuid.uuid4()), r.user_id, r.id,
                     json.dumps(fb.feedback_data, ensure_ascii=False), r.revision, now, now),
                )  # fmt: skip
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()
        return SaveResult(interview_id=r.id, room_name=saved_room, applied=newer)

    def _earlier(self, user_id: str | None, besides: str, limit: int) -> list[PastInterview]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT i.id, i.interview_date, i.job_role, i.experience_level, i.ended_by, "
                "f.feedback_data FROM interviews i LEFT JOIN feedback f ON f.interview_id = i.id "
                "WHERE i.user_id IS ? AND i.id != ? AND i.ended_by IS NOT NULL "
                "AND i.ended_by != 'paused' "
                "ORDER BY i.interview_date DESC, i.created_at DESC LIMIT ?",
                (user_id, besides, limit),
            ).fetchall()
        return [
            PastInterview(
                interview_id=r[0],
                interview_date=str(r[1]),
                job_role=r[2],
                experience_level=r[3],
                ended_by=r[4],
                feedback_data=_json_object(r[5]),
            )
            for r in rows
        ]

    def _read(self, where: str, params: tuple[Any, ...]) -> SavedInterview | None:
        with self._connect() as conn:
            conn.row_factory = sqlite3.Row
            row = conn.execute(f"SELECT * FROM interviews WHERE {where} LIMIT 1", params).fetchone()
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
        data["room_name"] = data["metadata"].get("room_name") or row["room_name"]
        feedback = (
            FeedbackRecord(user_id=fb["user_id"], feedback_data=json.loads(fb["feedback_data"]))
            if fb
            else None
        )
        return SavedInterview(
            interview_id=row["id"],
            saved_room_name=row["room_name"],
            interview=InterviewRecord(id=row["id"], revision=row["revision"], **data),
            feedback=feedback,
        )


def _json_object(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
