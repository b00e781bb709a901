"""The one interface every store implements (embedded SQLite, Supabase)."""

from __future__ import annotations

from typing import Protocol

from .records import (
    FeedbackRecord,
    InterviewRecord,
    KeyRow,
    PastInterview,
    SavedInterview,
    SaveResult,
    StoredQuestion,
)


class StoreError(Exception):
    """A store could not complete an operation; the message never carries row contents."""


class StoreConflict(StoreError):
    """The store refuses the row for good (it belongs to another user): retrying cannot
    help."""


EARLIER_LIMIT = 20
"""How many earlier interviews progress looks at."""


class InterviewStore(Protocol):
    name: str
    uploads_recordings: bool
    """Whether answers' recordings go to the store (else they stay in the local folder)."""

    async def save(self, interview: InterviewRecord, feedback: FeedbackRecord | None) -> SaveResult:
        """Insert or update the interview (and its feedback) by ``interview.id``, in one
        transaction, unless the store already holds a newer revision.

        Never changes a saved row's ``user_id`` (raises :class:`StoreConflict`). A new
        interview whose room name another interview holds is saved under
        :func:`~persistence.records.derived_room_name`. At equal revisions an ended row
        replaces a live one (a recovered checkpoint over the same checkpoint pushed live).
        """
        ...

    async def get(self, interview_id: str) -> SavedInterview | None: ...

    async def latest_in_room(self, room_name: str) -> SavedInterview | None:
        """The most recent interview held in the room with this (real) name."""
        ...

    async def find_resumable(
        self, *, room_name: str, room_sid: str, user_id: str | None
    ) -> SavedInterview | None:
        """The newest interview of this user in this room instance that did not finish
        (live, or ended by ``worker_shutdown``): the one a re-dispatched job continues."""
        ...

    async def questions_for_role(self, role_title: str) -> list[StoredQuestion]:
        """Questions the product's database holds for a role (may be empty)."""
        ...

    async def earlier_interviews(
        self, user_id: str | None, *, besides: str, limit: int = EARLIER_LIMIT
    ) -> list[PastInterview]:
        """The user's finished interviews other than ``besides``, newest first (at most
        ``limit``); ``user_id`` None: the interviews saved without a user (local
        practice)."""
        ...

    async def upload_recording(self, path: str, wav: bytes) -> None:
        """Keep one recording at ``path`` (``<user_id>/<interview_id>/<NN>.wav``),
        replacing one already there. Raises :class:`StoreError`."""
        ...

    async def recording_url(self, path: str, expires_s: int) -> str | None:
        """A link that plays the recording for ``expires_s`` (``None``: the store keeps
        no recordings; they are local files)."""
        ...

    async def delete_recordings(self, prefix: str) -> int:
        """Delete every recording the store keeps under ``prefix`` (``<user_id>`` or
        ``<user_id>/<interview_id>``); returns how many."""
        ...

    async def load_key_row(self, user_id: str) -> KeyRow | None:
        """The user's ``user_api_keys`` row (sealed), if the store holds keys."""
        ...

    async def aclose(self) -> None: ...
