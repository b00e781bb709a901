"""Configuration from the environment (and ``.env`` when present).

Every setting is named as in docs/CONTRACTS.md. A malformed value fails at start-up with one line
naming the setting; secrets are held as ``SecretStr`` so they never print.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from dotenv import dotenv_values
from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from byok.sealing import Keyring, MasterKeyError
from interview.cost import PriceTable, PriceTableError, load_prices
from persistence import InterviewStore, open_store

LOOP_BLOCK_ENV = "LIVEKIT_AGENTS_LOOP_BLOCK_WARN_MS"
"""LiveKit's name for its loop monitor's threshold (``livekit.agents.telemetry.loop_monitor``,
not imported here: the commands that only read settings do not load LiveKit Agents)."""


class ConfigError(Exception):
    """A setting is missing or malformed. The message names it and never shows its value."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        populate_by_name=True,
    )

    livekit_url: str | None = None
    livekit_api_key: SecretStr | None = None
    livekit_api_secret: SecretStr | None = None
    agent_name: str = "interviewer"

    supabase_url: str | None = None
    supabase_service_role_key: SecretStr | None = None
    byok_master_keys: SecretStr | None = None
    legacy_fernet_key: SecretStr | None = None
    """Opens (never seals) keys an earlier app sealed with Fernet; see docs/BYOK.md."""

    openai_api_key: SecretStr | None = None
    deepgram_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    deepgram_base_url: str | None = None

    interview_llm_model: Annotated[str, Field(min_length=1)] = "gpt-4.1-mini"
    interview_tts_model: Annotated[str, Field(min_length=1)] = "gpt-4o-mini-tts"
    interview_tts_voice: Annotated[str, Field(min_length=1)] = "alloy"
    interview_stt_model: Annotated[str, Field(min_length=1)] = "nova-3"
    interview_db_path: Path = Path("./data/interviews.db")
    interview_outbox_path: Path = Path("./data/outbox.db")
    interview_recordings_path: Path = Path("./data/recordings")
    """Answers' recordings (with consent): kept here without Supabase; with it, here only
    until uploaded to the ``interview-audio`` bucket."""
    worker_max_interviews: Annotated[int, Field(ge=1)] | None = None
    """Interviews one worker runs at once; unset: the measured figure for the CPUs it may
    use (``agent/capacity.py``)."""
    worker_load_threshold: Annotated[float, Field(gt=0, le=1)] = 1.0
    """The worker reports itself full (LiveKit sends it no new jobs) at this load: the
    share of ``WORKER_MAX_INTERVIEWS`` in use."""
    vad_engine: Literal["livekit", "silero"] = "livekit"
    """The voice activity detector: LiveKit's native Silero (default) or the Silero plugin."""
    health_port: Annotated[int, Field(ge=0, le=65535)] = 8081
    """The worker's HTTP health endpoint (``GET /``); 0 picks a free port."""
    candidate_join_timeout_s: Annotated[float, Field(gt=0)] = 300.0
    """How long a dispatched job waits for the candidate to join before it leaves."""
    loop_block_warn_ms: Annotated[
        int, Field(ge=0, validation_alias=AliasChoices("LOOP_BLOCK_WARN_MS", LOOP_BLOCK_ENV))
    ] = 250
    """Warn when a job's event loop is blocked this long (LiveKit's loop monitor, which
    wakes every fifth of it, at least every 20 ms and at most every 50 ms; 0: off). LiveKit's
    default, 100 ms, costs 0.007 cores per job process; 250 ms, 0.004 (docs/PERFORMANCE.md,
    section 4)."""
    metrics_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    """Serve Prometheus metrics (LiveKit's and the interviews') at ``:PORT/metrics``."""
    metrics_dir: Path | None = None
    """Where job processes record metrics for the worker to serve (emptied when the
    worker starts; default: a fresh folder under the system's temporary directory)."""
    otel_exporter_otlp_endpoint: str | None = None
    """Send OpenTelemetry spans (LiveKit's and the interview's) to this OTLP endpoint."""
    price_table: Path | None = None
    """A TOML price table for the cost estimate instead of the bundled one."""

    @field_validator("livekit_url")
    @classmethod
    def _ws_url(cls, v: str | None) -> str | None:
        if (
            v is not None
            and v != ""
            and not v.startswith(("ws://", "wss://", "http://", "https://"))
        ):
            raise ValueError("must start with wss:// (or ws://, https://)")
        return v or None

    @field_validator("supabase_url", "openai_base_url", "deepgram_base_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if (
            v is not None
            and v != ""
            and not v.startswith(("http://", "https://", "ws://", "wss://"))
        ):
            raise ValueError("must be an http(s) URL")
        return v or None

    @field_validator("agent_name")
    @classmethod
    def _agent_name(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v.strip()

    _dotenv: dict[str, str | None] = PrivateAttr(default_factory=dict)
    """``.env`` as read once when the settings are made (never from a session's loop)."""

    def __init__(self, **values: Any) -> None:
        # the file these settings were read from (``_env_file=None``: none), read once
        env_file = values.get("_env_file", type(self).model_config.get("env_file"))
        super().__init__(**values)
        self._dotenv = _dotenv(env_file)

    def setting(self, env: str) -> str | None:
        """The value of the setting named by the environment variable ``env``: a declared
        field (validated above) when there is one, else the environment, then ``.env``
        (a provider's own model or key, named in its catalog entry). Empty is ``None``."""
        name = env.lower()
        if name in type(self).model_fields:
            value = getattr(self, name)
        else:
            value = os.environ.get(env) or self._dotenv.get(env)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        return str(value).strip() or None if value is not None else None

    def require_livekit(self) -> None:
        """For ``dev`` / ``start``: the three LiveKit settings must all be present."""
        for name in ("livekit_url", "livekit_api_key", "livekit_api_secret"):
            value = getattr(self, name)
            raw = value.get_secret_value() if isinstance(value, SecretStr) else value
            if not raw:
                raise ConfigError(f"{name.upper()} is not set (needed by dev/start)")


def _dotenv(path: object) -> dict[str, str | None]:
    if not isinstance(path, str | Path) or not Path(path).is_file():
        return {}
    return dotenv_values(path)


def keyring_for(settings: Settings) -> Keyring:
    """The master keys (and the legacy Fernet key, if any) from the settings."""
    master, legacy = settings.byok_master_keys, settings.legacy_fernet_key
    try:
        return Keyring.parse(
            master.get_secret_value() if master else None,
            legacy.get_secret_value() if legacy else None,
        )
    except MasterKeyError as e:
        raise ConfigError(str(e)) from None


def store_for(settings: Settings) -> InterviewStore:
    """The configured store; a Supabase URL without its service-role key is a config error."""
    key = settings.supabase_service_role_key
    try:
        return open_store(
            supabase_url=settings.supabase_url,
            service_role_key=key.get_secret_value() if key else None,
            db_path=str(settings.interview_db_path),
        )
    except ValueError as e:
        raise ConfigError(str(e)) from None


def prices_for(settings: Settings) -> PriceTable:
    """The price table for cost estimates; a malformed ``PRICE_TABLE`` is a config error."""
    try:
        return load_prices(settings.price_table)
    except PriceTableError as e:
        raise ConfigError(f"PRICE_TABLE: {e}") from None


def metrics_dir_for(settings: Settings) -> Path | None:
    """Where metrics are shared between processes: ``METRICS_DIR``, or for a worker that
    serves metrics a folder of its own under the temporary directory; ``None``: off."""
    if settings.metrics_dir is not None:
        return settings.metrics_dir
    if settings.metrics_port is None:
        return None
    return Path(tempfile.gettempdir()) / f"interview-metrics-{settings.metrics_port}"


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as e:
        err = e.errors()[0]
        name = str(err["loc"][0]).upper() if err.get("loc") else "configuration"
        raise ConfigError(f"{name} is malformed: {err['msg']}") from None
