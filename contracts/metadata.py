"""The dispatch metadata a web app sends (docs/CONTRACTS.md, "Dispatch metadata")."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DispatchMetadata(BaseModel):
    """JSON on the agent dispatch (or the room; the candidate's attributes may add the
    context fields). Other keys are allowed and ignored. A wrong type or an unknown value
    is not refused: the default is used and a warning saved (only ``user_id`` is checked
    strictly, and required in dispatch mode)."""

    model_config = ConfigDict(extra="allow", title="DispatchMetadata")

    user_id: str | None = Field(
        default=None,
        description="the candidate's users.id (UUID); required when the worker saves to "
        "Supabase, and taken only from the job's or the room's metadata",
        json_schema_extra={"format": "uuid"},
    )
    candidate_name: str | None = Field(default=None, description="at most 100 characters")
    job_role: str | None = Field(default=None, description="at most 120 characters")
    experience_level: str | None = Field(
        default=None,
        description="entry | mid | senior | executive (aliases such as junior or lead are "
        "understood; anything else is mid)",
        examples=["entry", "mid", "senior", "executive"],
    )
    resume_text: str | None = Field(default=None, description="at most 20 000 characters")
    job_description: str | None = Field(default=None, description="at most 12 000 characters")
    stages: list[str] | None = Field(
        default=None,
        description="an override of the stage plan by stage id; greeting and closing are "
        "always kept and the default order is kept",
        examples=[["technical", "behavioral"]],
    )
    max_duration_s: int | None = Field(
        default=None, description="clamped to 120–7200; default 1800", examples=[1800]
    )
    language: str | None = Field(default=None, description="default en", examples=["en"])
    providers: dict[str, str | list[str]] | None = Field(
        default=None,
        description="the candidate's providers per kind (stt, llm, tts): a provider name "
        "such as openai, anthropic or elevenlabs (it serves first; the user's other "
        "providers of that kind stand by and take over if it fails), or a list of names "
        "(exactly those, in that order); followed where the user has the key, else the "
        "user's saved order (user_api_keys.provider_preference, the same object, per kind "
        "left open here), "
        "else the default order (docs/PROVIDERS.md); job or room metadata only",
        examples=[{"stt": "openai"}, {"stt": ["deepgram"], "tts": ["openai", "deepgram"]}],
    )
    resume_interview_id: str | None = Field(
        default=None,
        description="continue this interview, which the same user paused (interviews.id); "
        "another user's, a running or a finished one is refused (code cannot_resume). "
        "Additive",
        json_schema_extra={"format": "uuid"},
    )
    max_cost_usd: float | None = Field(
        default=None,
        gt=0,
        le=1000,
        description="the most this interview may cost the candidate with their own keys, "
        "in USD; the user's own setting (user_api_keys.max_cost_usd) applies when lower. "
        "At 80 % the interviewer mentions it once; at the cap the interview closes "
        "(ended_by cost_limit). Additive",
        examples=[0.5],
    )
    live_cues: bool | None = Field(
        default=None,
        description="publish each answer's delivery cues (pace, filler words, length "
        "against its time limit) on the interview.cues data topic while the interview "
        "runs; default true, false turns them off (additive)",
        examples=[False],
    )
    record_audio: bool | None = Field(
        default=None,
        description="true only when the candidate agreed to have their answers recorded "
        "(default false); job or room metadata only, never a participant attribute",
        examples=[True],
    )
