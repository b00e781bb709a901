"""Where finished interviews go: the embedded SQLite store or Supabase (one interface)."""

from .records import FeedbackRecord, InterviewRecord, SavedInterview
from .sqlite_store import SqliteStore
from .store import InterviewStore, StoreError

__all__ = [
    "FeedbackRecord",
    "InterviewRecord",
    "InterviewStore",
    "SavedInterview",
    "SqliteStore",
    "StoreError",
]
