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
