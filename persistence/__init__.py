"""Where finished interviews go: the embedded SQLite store or Supabase (one interface)."""

from .records import (
    KEY_COLUMNS,
    KEY_NAMES,
    RECORDINGS_BUCKET,
    REVISIONS_PER_GENERATION,
    FeedbackRecord,
    InterviewIdentity,
    InterviewRecord,
    KeyRow,
    PastInterview,
    SavedInterview,
    SaveResult,
    StoredQuestion,
    derived_room_name,
)
from .sqlite_store import SqliteStore
from .store import InterviewStore, StoreConflict, StoreError


def open_store(
    *, supabase_url: str | None, service_role_key: str | None, db_path: str
) -> InterviewStore:
    """Supabase when a URL is configured, else the embedded SQLite store."""
    if supabase_url:
        if not service_role_key:
            raise ValueError("SUPABASE_SERVICE_ROLE_KEY is not set (needed with SUPABASE_URL)")
        from .supabase_store import SupabaseStore

        return SupabaseStore(supabase_url, service_role_key)
    return SqliteStore(db_path)


__all__ = [
    "KEY_COLUMNS",
    "KEY_NAMES",
    "RECORDINGS_BUCKET",
    "REVISIONS_PER_GENERATION",
    "FeedbackRecord",
    "InterviewIdentity",
    "InterviewRecord",
    "InterviewStore",
    "KeyRow",
    "PastInterview",
    "SaveResult",
    "SavedInterview",
    "SqliteStore",
    "StoreConflict",
    "StoreError",
    "StoredQuestion",
    "derived_room_name",
    "open_store",
]
