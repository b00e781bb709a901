"""``interviews.conversation`` (docs/CONTRACTS.md, "interviews row")."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConversationMessage(_Strict):
    """One turn (speech-to-text fragments of one turn merged), tagged with the stage
    active when it started. The flags are present only when they apply."""

    role: Literal["agent", "candidate"]
    text: str
    stage: str | None
    started_at: str | None = Field(description="ISO-8601")
    ended_at: str | None = Field(description="ISO-8601")
    interrupted: bool
    request: Literal[True] | SkipJsonSchema[None] = Field(
        default=None,
        description="on a candidate turn that was not an answer (a request to repeat or "
        "clarify, a hint request, a skip or end request, an aside)",
    )
    question: Literal[False] | SkipJsonSchema[None] = Field(
        default=None, description="on an interviewer turn that asked no new question"
    )
    transcription_gap: Literal[True] | SkipJsonSchema[None] = Field(
        default=None, description="speech-to-text lost some of this turn's words"
    )
    partial: Literal[True] | SkipJsonSchema[None] = Field(
        default=None,
        description="on a candidate turn that ends with speech-to-text's interim words: the "
        "candidate left before the final transcript came (always with transcription_gap)",
    )
    time_boxed: Literal[True] | SkipJsonSchema[None] = Field(
        default=None,
        description="on a candidate answer that ran past its time limit: the interviewer "
        "moved on at the end of a sentence; every word is here (additive)",
    )
    time_limit_s: int | SkipJsonSchema[None] = Field(
        default=None, ge=1, description="that limit in seconds (with time_boxed; additive)"
    )


class ConversationStage(_Strict):
    id: str
    status: Literal["completed", "skipped", "not_reached", "ended", "active"] = Field(
        description="active appears only in a live row (ended_by null)"
    )
    started_at: str | None
    ended_at: str | None
    questions_asked: int = Field(ge=0)
    answers: int = Field(ge=0)
    repeats: int = Field(ge=0)
    skip_source: str | None
    budget_exceeded: bool


class Conversation(_Strict):
    schema_version: Literal[1]
    messages: list[ConversationMessage]
    stages: list[ConversationStage]
