"""The rows the worker writes, as plain data (no database types)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from providers import CATALOG

REVISIONS_PER_GENERATION = 1_000_000_000
"""Revisions of one job are ``generation * REVISIONS_PER_GENERATION + n``: a job that
continues an interview (generation + 1) always outranks the job it took over from."""


@dataclass(frozen=True, slots=True)
class InterviewIdentity:
    """Which interview this is: created when the job starts, never taken from a name.

    ``room_sid`` is the LiveKit room instance (a room name reused later gets a new sid);
    ``generation`` counts the jobs that continued this interview after its job was lost.
    """

    interview_id: str
    room_name: str
    room_sid: str | None = None
    generation: int = 0

    @classmethod
    def new(cls, room_name: str, room_sid: str | None = None) -> InterviewIdentity:
        return cls(interview_id=str(uuid.uuid4()), room_name=room_name, room_sid=room_sid)

    def continued(self) -> InterviewIdentity:
        return InterviewIdentity(
            self.interview_id, self.room_name, self.room_sid, self.generation + 1
        )


@dataclass(slots=True)
class InterviewRecord:
    """One ``interviews`` row (seed backend schema), identified by ``id``.

    ``room_name`` is the LiveKit room as the web app named it. Rooms get reused, so the
    store may save the row under a derived unique room name (``metadata.room_name`` keeps
    the real one). ``revision`` orders every version of the row: the store never replaces
    a row with a lower revision. ``ended_by`` is ``None`` while the interview is live.
    """

    id: str
    revision: int
    room_name: str
    user_id: str | None
    candidate_name: str | None
    interview_date: str
    job_role: str | None
    experience_level: str | None
    final_stage: str | None
    ended_by: str | None
    skipped_stages: list[str]
    has_resume: bool
    has_jd: bool
    conversation: dict[str, Any]
    total_messages: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class FeedbackRecord:
    """One ``feedback`` row (one per interview); saved with its interview's revision."""

    user_id: str | None
    feedback_data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SaveResult:
    interview_id: str
    room_name: str
    """The room name the row is saved under (derived when the real one was taken)."""
    applied: bool
    """False when the store already held this revision or a newer one (nothing changed)."""


@dataclass(slots=True)
class SavedInterview:
    interview_id: str
    saved_room_name: str
    interview: InterviewRecord
    feedback: FeedbackRecord | None


RECORDINGS_BUCKET = "interview-audio"
"""The Supabase Storage bucket of the answers' recordings (``<user_id>/<interview_id>/...``)."""


@dataclass(frozen=True, slots=True)
class PastInterview:
    """An earlier finished interview of the same user, as progress needs it."""

    interview_id: str
    interview_date: str
    job_role: str | None
    experience_level: str | None
    ended_by: str | None
    feedback_data: dict[str, Any] | None


def derived_room_name(room_name: str, interview_id: str, *, max_chars: int = 255) -> str:
    """The unique room name an interview is saved under when its room's name is taken."""
    tail = f"~{interview_id[:8]}"
    return room_name[: max_chars - len(tail)] + tail


@dataclass(frozen=True, slots=True)
class StoredQuestion:
    """A row of ``interview_questions`` (joined to its ``job_roles`` title)."""

    id: str
    role_title: str
    text: str
    question_type: str
    difficulty: str
    keywords: tuple[str, ...]
    time_limit_s: float | None = None
    """``time_limit_seconds``: how long an answer to it may run."""


KEY_NAMES: dict[str, str] = {
    **CATALOG.columns,  # each provider key of the catalog (providers/catalog.py)
    "livekit_url": "livekit_url_encrypted",
    "livekit_key": "livekit_key_encrypted",
    "livekit_secret": "livekit_secret_encrypted",
}
"""Short names (used by the keys commands and in messages) of the sealed columns: the
providers' keys, then the user's own LiveKit project."""
KEY_COLUMNS = tuple(KEY_NAMES.values())


@dataclass(slots=True)
class KeyRow:
    """One ``user_api_keys`` row: sealed secrets by column name, never plaintext."""

    user_id: str
    encryption_salt: str
    sealed: dict[str, str | None]
    updated_at: str | None = None
    max_cost_usd: Any = None
    """``max_cost_usd``: the user's own spending cap per interview, as stored (read as
    the metadata's is, ``stages/metadata.py``)."""
    preference: Any = None
    """``provider_preference``: the user's order of providers per kind (plain JSON, not a
    secret; read as the metadata's ``providers`` is, ``stages/metadata.py``)."""
