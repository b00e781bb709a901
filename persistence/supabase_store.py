"""The Supabase store: the ``interviews`` and ``feedback`` tables over PostgREST.

Uses supabase-py's async client with the service-role key (the only role allowed to
write these tables under their RLS policies). Upserts use the tables' natural keys, so
writing the same interview twice leaves one row of each.
"""

from __future__ import annotations

from typing import Any

import httpx
from postgrest.exceptions import APIError

from supabase import AsyncClient, AsyncClientOptions, acreate_client

from .records import (
    KEY_COLUMNS,
    FeedbackRecord,
    InterviewRecord,
    KeyRow,
    SavedInterview,
    StoredQuestion,
)
from .store import StoreError

REQUEST_TIMEOUT_S = 10.0
_COLUMNS = (
    "user_id", "candidate_name", "interview_date", "room_name", "job_role",
    "experience_level", "final_stage", "ended_by", "skipped_stages", "has_resume",
    "has_jd", "conversation", "total_messages", "metadata",
)  # fmt: skip


def _error(action: str, e: Exception) -> StoreError:
    if isinstance(e, APIError):
        return StoreError(
            f"supabase {action} failed: {e.code or 'error'} {e.message or ''}".strip()
        )
    return StoreError(f"supabase {action} failed: {type(e).__name__}")


class SupabaseStore:
    name = "supabase"

    def __init__(
        self, url: str, service_role_key: str, *, timeout_s: float = REQUEST_TIMEOUT_S
    ) -> None:
        self._url = url
        self._key = service_role_key
        self._timeout = timeout_s
        self._client: AsyncClient | None = None

    async def _db(self) -> AsyncClient:
        if self._client is None:
            self._client = await acreate_client(
                self._url,
                self._key,
                options=AsyncClientOptions(postgrest_client_timeout=self._timeout),
            )
        return self._client

    async def upsert_interview(self, record: InterviewRecord) -> str:
        row: dict[str, Any] = {c: getattr(record, c) for c in _COLUMNS}
        try:
            db = await self._db()
            resp = await db.table("interviews").upsert(row, on_conflict="room_name").execute()
        except (APIError, httpx.HTTPError, OSError) as e:
            raise _error("interview upsert", e) from None
        if not resp.data:
            raise StoreError("supabase interview upsert returned no row")
        return str(resp.data[0]["id"])

    async def upsert_feedback(self, interview_id: str, record: FeedbackRecord) -> None:
        row = {
            "interview_id": interview_id,
            "user_id": record.user_id,
            "feedback_data": record.feedback_data,
        }
        try:
            db = await self._db()
            await db.table("feedback").upsert(row, on_conflict="interview_id").execute()
        except (APIError, httpx.HTTPError, OSError) as e:
            raise _error("feedback upsert", e) from None

    async def get_by_room(self, room_name: str) -> SavedInterview | None:
        try:
            db = await self._db()
            resp = await (
                db.table("interviews")
                .select("*, feedback(user_id, feedback_data)")
                .eq("room_name", room_name)
                .limit(1)
                .execute()
            )
        except (APIError, httpx.HTTPError, OSError) as e:
            raise _error("read", e) from None
        if not resp.data:
            return None
        row = resp.data[0]
        fb = row.get("feedback")
        if isinstance(fb, list):
            fb = fb[0] if fb else None
        return SavedInterview(
            interview_id=str(row["id"]),
            interview=InterviewRecord(**{c: row[c] for c in _COLUMNS}),
            feedback=FeedbackRecord(user_id=fb["user_id"], feedback_data=fb["feedback_data"])
            if fb
            else None,
        )

    async def questions_for_role(self, role_title: str) -> list[StoredQuestion]:
        """Active questions of the active job role with this title (case-insensitive)."""
        try:
            db = await self._db()
            resp = await (
                db.table("interview_questions")
                .select(
                    "id, question_text, question_type, difficulty_level, "
                    "expected_answer_keywords, job_roles!inner(title, is_active)"
                )
                .ilike("job_roles.title", role_title.replace("%", "").replace("_", r"\_"))
                .eq("job_roles.is_active", True)
                .eq("is_active", True)
                .execute()
            )
        except (APIError, httpx.HTTPError, OSError) as e:
            raise _error("question read", e) from None
        return [
            StoredQuestion(
                id=str(r["id"]),
                role_title=r["job_roles"]["title"],
                text=r["question_text"],
                question_type=r["question_type"],
                difficulty=r["difficulty_level"],
                keywords=tuple(k.lower() for k in (r.get("expected_answer_keywords") or ())),
            )
            for r in resp.data or []
        ]

    # ------------------------------------------------------------ user_api_keys

    @staticmethod
    def _key_row(r: dict[str, Any]) -> KeyRow:
        return KeyRow(
            user_id=str(r["user_id"]),
            encryption_salt=r["encryption_salt"],
            sealed={c: r.get(c) for c in KEY_COLUMNS},
            updated_at=r.get("updated_at"),
        )

    async def load_key_row(self, user_id: str) -> KeyRow | None:
        try:
            db = await self._db()
            resp = await db.table("user_api_keys").select("*").eq("user_id", user_id).execute()
        except (APIError, httpx.HTTPError, OSError) as e:
            raise _error("key read", e) from None
        return self._key_row(resp.data[0]) if resp.data else None

    async def key_rows(self) -> list[KeyRow]:
        try:
            db = await self._db()
            resp = await db.table("user_api_keys").select("*").order("user_id").execute()
        except (APIError, httpx.HTTPError, OSError) as e:
            raise _error("key read", e) from None
        return [self._key_row(r) for r in resp.data or []]

    async def save_key_row(self, row: KeyRow, *, expected_updated_at: str | None = None) -> bool:
        """Insert or update; with ``expected_updated_at``, only if the row is unchanged
        since it was read (returns False when someone else changed it)."""
        body: dict[str, Any] = {"user_id": row.user_id, "encryption_salt": row.encryption_salt}
        body.update(row.sealed)
        try:
            db = await self._db()
            if expected_updated_at is None:
                resp = await db.table("user_api_keys").upsert(body, on_conflict="user_id").execute()
            else:
                resp = await (
                    db.table("user_api_keys")
                    .update(body)
                    .eq("user_id", row.user_id)
                    .eq("updated_at", expected_updated_at)
                    .execute()
                )
        except (APIError, httpx.HTTPError, OSError) as e:
            raise _error("key write", e) from None
        return bool(resp.data)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.postgrest.aclose()
            self._client = None
