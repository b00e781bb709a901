"""The rows the worker writes, as plain data (no database types)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class InterviewRecord:
    """One ``interviews`` row (seed backend schema); ``room_name`` is its natural key."""

    room_name: str
    user_id: str | None
    candidate_name: str | None
    interview_date: str
    job_role: str | None
    experience_level: str | None
    final_stage: str | None
    ended_by: str
    skipped_stages: list[str]
    has_resume: bool
    has_jd: bool
    conversation: dict[str, Any]
    total_messages: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class FeedbackRecord:
    """One ``feedback`` row; ``interview_id`` is its natural key."""

    user_id: str | None
    feedback_data: dict[str, Any]


@dataclass(slots=True)
class SavedInterview:
    interview_id: str
    interview: InterviewRecord
    feedback: FeedbackRecord | None


@dataclass(frozen=True, slots=True)
class StoredQuestion:
    """A row of ``interview_questions`` (joined to its ``job_roles`` title)."""

    id: str
    role_title: str
    text: str
    question_type: str
    difficulty: str
    keywords: tuple[str, ...]


KEY_NAMES: dict[str, str] = {
    "openai": "openai_key_encrypted",
    "deepgram": "deepgram_key_encrypted",
    "livekit_url": "livekit_url_encrypted",
    "livekit_key": "livekit_key_encrypted",
    "livekit_secret": "livekit_secret_encrypted",
}
"""Short names (used by the keys commands and in messages) of the sealed columns."""
KEY_COLUMNS = tuple(KEY_NAMES.values())


@dataclass(slots=True)
class KeyRow:
    """One ``user_api_keys`` row: sealed secrets by column name, never plaintext."""

    user_id: str
    encryption_salt: str
    sealed: dict[str, str | None]
    updated_at: str | None = None
