"""The Supabase store: the ``interviews`` and ``feedback`` tables over PostgREST.

Uses supabase-py's async client with the service-role key (the only role allowed to
write these tables under their RLS policies). Every save is one call of the
``save_interview`` database function (``supabase/migrations``): by interview id, newer
revisions only, interview and feedback in one transaction.
"""

from __future__ import annotations

import importlib
import ssl
from functools import cache
from typing import Any

import httpx
from postgrest.exceptions import APIError
from storage3.exceptions import StorageException

from stages.text import seconds
from supabase import AsyncClient, AsyncClientOptions, acreate_client

from .records import (
    KEY_COLUMNS,
    RECORDINGS_BUCKET,
    FeedbackRecord,
    InterviewRecord,
    KeyRow,
    PastInterview,
    SavedInterview,
    SaveResult,
    StoredQuestion,
)
from .store import EARLIER_LIMIT, StoreConflict, StoreError

REQUEST_TIMEOUT_S = 10.0
LIST_PAGE = 100
_COLUMNS = (
    "user_id", "candidate_name", "interview_date", "room_name", "job_role",
    "experience_level", "final_stage", "ended_by", "skipped_stages", "has_resume",
    "has_jd", "conversation", "total_messages", "metadata",
)  # fmt: skip


def warm() -> None:
    """Do now what the first save would do on the event loop (a worker's job process
    calls this in its prewarm: in a real room the first save blocked the loop for up to
    ~700 ms building a TLS context and ~300 ms importing these modules)."""
    for name in ("anyio", "httpcore", "h2.connection", "storage3.types", "postgrest"):
        importlib.import_module(name)
    _tls()


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process, shared by every store client it makes."""
    return httpx.create_ssl_context()


def _error(action: str, e: Exception) -> StoreError:
    if isinstance(e, APIError) and e.code == "42501":
        return StoreConflict(f"supabase {action} refused: {e.message or 'not allowed'}")
    if isinstance(e, APIError):
        return StoreError(
            f"supabase {action} failed: {e.code or 'error'} {e.message or ''}".strip()
        )
    return StoreError(f"supabase {action} failed: {type(e).__name__}")


class SupabaseStore:
    name = "supabase"
    uploads_recordings = True

    def __init__(
        self, url: str, service_role_key: str, *, timeout_s: float = REQUEST_TIMEOUT_S
    ) -> None:
        self._url = url
        self._key = service_role_key
        self._timeout = timeout_s
        self._client: AsyncClient | None = None

    async def _db(self) -> AsyncClient:
        if self._client is None:
            http = httpx.AsyncClient(verify=_tls(), timeout=httpx.Timeout(self._timeout))
            self._client = await acreate_client(
                self._url,
                self._key,
                options=AsyncClientOptions(
                    postgrest_client_timeout=self._timeout, httpx_client=http
                ),
            )
        return self._client

    async def save(self, interview: InterviewRecord, feedback: FeedbackRecord | None) -> SaveResult:
        row: dict[str, Any] = {c: getattr(interview, c) for c in _COLUMNS}
        row["id"] = interview.id
        row["revision"] = interview.revision
        params = {
            "p_interview": row,
            "p_feedback": None if feedback is None else {"feedback_data": feedback.feedback_data},
        }
        try:
            db = await self._db()
            resp = await db.rpc("save_interview", params).execute()
        except (APIError, httpx.HTTPError, OSError) as e:
            raise _error("save", e) from None
        data = resp.data
        if not isinstance(data, dict) or "id" not in data:
            raise StoreError("supabase save returned no result")
        return SaveResult(
            interview_id=str(data["id"]),
            room_name=str(data["room_name"]),
            applied=bool(data["applied"]),
        )

    async def _read_one(self, query: Any) -> SavedInterview | None:
        try:
            resp = await query.limit(1).execute()
        except (APIError, httpx.HTTPError, OSError) as e:
            raise _error("read", e) from None
        if not resp.data:
            return None
        row = resp.data[0]
        fb = row.get("feedback")
        if isinstance(fb, list):
            fb = fb[0] if fb else None
        data = {c: row[c] for c in _COLUMNS}
        data["metadata"] = data["metadata"] or {}
        data["room_name"] = data["metadata"].get("room_name") or row["room_name"]
        return SavedInterview(
            interview_id=str(row["id"]),
            saved_room_name=row["room_name"],
            interview=InterviewRecord(id=str(row["id"]), revision=int(row["revision"]), **data),
            feedback=FeedbackRecord(user_id=fb["user_id"], feedback_data=fb["feedback_data"])
            if fb
            else None,
        )

    async def _select(self) -> Any:
        db = await self._db()
        return db.table("interviews").select("*, feedback(user_id, feedback_data)")

    async def get(self, interview_id: str) -> SavedInterview | None:
        return await self._read_one((await self._select()).eq("id", interview_id))

    async def latest_in_room(self, room_name: str) -> SavedInterview | None:
        q = (await self._select()).eq("metadata->>room_name", room_name)
        return await self._read_one(q.order("interview_date", desc=True))

    async def find_resumable(
        self, *, room_name: str, room_sid: str, user_id: str | None
    ) -> SavedInterview | None:
        q = (
            (await self._select())
            .eq("metadata->>room_name", room_name)
            .eq("metadata->>room_sid", room_sid)
            .or_("ended_by.is.null,ended_by.eq.worker_shutdown")
        )
        q = q.is_("user_id", "null") if user_id is None else q.eq("user_id", user_id)
        return await self._read_one(q.order("revision", desc=True))

    async def questions_for_role(self, role_title: str) -> list[StoredQuestion]:
        """Active questions of the active job role with this title (case-insensitive)."""
        try:
            db = await self._db()
            resp = await (
                db.table("interview_questions")
                .select(
                    "id, question_text, question_type, difficulty_level, "
                    "expected_answer_keywords, time_limit_seconds, "
                    "job_roles!inner(title, is_active)"
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
                time_limit_s=seconds(r.get("time_limit_seconds")),
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
            preference=r.get("provider_preference"),
            max_cost_usd=_number(r.get("max_cost_usd")),
        )

    async def earlier_interviews(
        self, user_id: str | None, *, besides: str, limit: int = EARLIER_LIMIT
    ) -> list[PastInterview]:
        db = await self._db()
        q = (
            db.table("interviews")
            .select(
                "id, interview_date, job_role, experience_level, ended_by, feedback(feedback_data)"
            )
            .neq("id", besides)
            .not_.is_("ended_by", "null")
            .neq("ended_by", "paused")  # to be continued: not finished
        )
        q = q.is_("user_id", "null") if user_id is None else q.eq("user_id", user_id)
        try:
            resp = await q.order("interview_date", desc=True).limit(limit).execute()
        except (APIError, httpx.HTTPError, OSError) as e:
            raise _error("read", e) from None
        out = []
        for row in resp.data or []:
            fb = row.get("feedback")
            fb = (fb[0] if fb else None) if isinstance(fb, list) else fb
            data = fb.get("feedback_data") if isinstance(fb, dict) else None
            out.append(
                PastInterview(
                    interview_id=str(row["id"]), interview_date=str(row["interview_date"]),
                    job_role=row.get("job_role"), experience_level=row.get("experience_level"),
                    ended_by=row.get("ended_by"),
                    feedback_data=data if isinstance(data, dict) else None,
                )
            )  # fmt: skip
        return out

    async def upload_recording(self, path: str, wav: bytes) -> None:
        """To the ``interview-audio`` bucket over the Storage API (service role)."""
        db = await self._db()
        options = {"content-type": "audio/wav", "upsert": "true"}
        try:
            await db.storage.from_(RECORDINGS_BUCKET).upload(path, wav, options)  # type: ignore[arg-type]
        except (StorageException, httpx.HTTPError, OSError) as e:
            raise StoreError(f"supabase upload failed: {type(e).__name__}") from None

    async def delete_recordings(self, prefix: str) -> int:
        """Every recording under ``prefix`` (a user's folder, or one interview's)."""
        db = await self._db()
        bucket = db.storage.from_(RECORDINGS_BUCKET)
        files: list[str] = []
        folders = [prefix.strip("/")]
        try:
            while folders:
                folder = folders.pop()
                offset = 0
                while True:
                    page = await bucket.list(folder, {"limit": LIST_PAGE, "offset": offset})
                    for entry in page:
                        path = f"{folder}/{entry['name']}"
                        (files if entry.get("id") else folders).append(path)
                    if len(page) < LIST_PAGE:
                        break
                    offset += LIST_PAGE
            for i in range(0, len(files), LIST_PAGE):
                await bucket.remove(files[i : i + LIST_PAGE])
        except (StorageException, httpx.HTTPError, OSError) as e:
            raise StoreError(f"supabase recordings delete failed: {type(e).__name__}") from None
        return len(files)

    async def recording_url(self, path: str, expires_s: int) -> str | None:
        db = await self._db()
        try:
            signed = await db.storage.from_(RECORDINGS_BUCKET).create_signed_url(path, expires_s)
        except (StorageException, httpx.HTTPError, OSError) as e:
            raise StoreError(f"supabase signed url failed: {type(e).__name__}") from None
        return signed.get("signedURL")

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
        # only the sealed values there are: a column the database lacks (a provider added
        # to the table before its migration ran here) is never named unless it is used
        body.update({column: value for column, value in row.sealed.items() if value is not None})
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


def _number(value: Any) -> Any:
    """A ``numeric`` column as PostgREST sends it (a JSON number, or a string for large
    precision) as a float; anything else as it came (the reader warns about it)."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value
