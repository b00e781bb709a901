"""The client protocol's JSON (docs/CONTRACTS.md, "Client protocol"): what the agent
publishes on the ``interview.state`` data topic and what its RPC methods return."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.json_schema import SkipJsonSchema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StateUpdate(_Strict):
    """The interview's state, sent whenever it changes; ``saved`` once the finished
    interview's rows are in the store."""

    interview_id: str = Field(description="interviews.id", json_schema_extra={"format": "uuid"})
    stage: str | None
    stage_index: int = Field(ge=0)
    stage_count: int = Field(ge=1)
    skipped_stages: list[str]
    remaining_s: int = Field(ge=0)
    status: Literal["running", "ending", "ended", "saved"]


class StateError(_Strict):
    """Sent before an interview exists, when the job cannot start one."""

    status: Literal["error"]
    code: Literal[
        "bad_metadata",
        "missing_user",
        "no_keys",
        "missing_key",
        "key_decrypt_failed",
        "keys_unavailable",
        "cannot_resume",
    ]
    message: str


StateMessage = TypeAdapter(Annotated[StateUpdate | StateError, Field(title="StateMessage")])
"""Any message on the ``interview.state`` topic."""


class RpcReply(StateUpdate):
    """What ``interview.skip_stage``, ``interview.end`` and ``interview.state`` return."""

    status: Literal["running", "ending", "ended"]
    ok: bool
    error: Literal["not_skippable", "stale_stage", "not_running"] | SkipJsonSchema[None] = Field(
        default=None, description="present when the request was refused"
    )


class AnswerCues(_Strict):
    """A message on the ``interview.cues`` data topic: how the answer just given was
    said (delivery only: nothing judges what it said). Sent once the interviewer starts
    its reply, again (same ``answer``) if the candidate went on and the answer grew. Off
    with ``live_cues: false`` in the dispatch metadata."""

    type: Literal["answer_cues"]
    interview_id: str = Field(description="interviews.id", json_schema_extra={"format": "uuid"})
    answer: int = Field(ge=1, description="which answer of the interview (1, 2, ...)")
    stage: str | None
    words: int = Field(ge=0)
    duration_s: float | None = Field(ge=0, description="null in a typed interview")
    words_per_minute: float | None = Field(
        description="null in a typed interview, or when speech-to-text lost some words"
    )
    filler_words: dict[str, int] = Field(description="each filler word said, and how often")
    fillers_per_100_words: float | None
    time_limit_s: int | None = Field(description="the answer's time limit (null: none)")
    share_of_limit: float | None = Field(
        ge=0, description="duration_s / time_limit_s (above 1: past the limit)"
    )
    time_boxed: bool = Field(description="the interviewer moved on at the limit")
