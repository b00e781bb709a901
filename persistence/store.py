"""The one interface every store implements (embedded SQLite, Supabase)."""

from __future__ import annotations

from typing import Protocol

from .records import FeedbackRecord, InterviewRecord, KeyRow, SavedInterview, StoredQuestion


class StoreError(Exception):
    """A store could not complete an operation; the message never carries row contents."""


class InterviewStore(Protocol):
    name: str

    async def upsert_interview(self, record: InterviewRecord) -> str:
        """Insert or update the interview by ``room_name``; returns its id."""
        ...

    async def upsert_feedback(self, interview_id: str, record: FeedbackRecord) -> None:
        """Insert or update the feedback of ``interview_id``."""
        ...

    async def get_by_room(self, room_name: str) -> SavedInterview | None: ...

    async def questions_for_role(self, role_title: str) -> list[StoredQuestion]:
        """Questions the product's database holds for a role (may be empty)."""
        ...

    async def load_key_row(self, user_id: str) -> KeyRow | None:
        """The user's ``user_api_keys`` row (sealed), if the store holds keys."""
        ...

    async def aclose(self) -> None: ...
