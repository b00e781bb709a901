"""LiveKit's side of the worker's telemetry: session events as the interview's metrics,
and LiveKit's own OpenTelemetry spans sent with ours.

Metrics (``observability.metrics``): tokens, speech-to-text seconds and voice characters
by model from the session's usage updates (``session_usage_updated``, cumulative: each
update adds what changed); provider errors by provider, service and status; the reply
latency (end of the candidate's speech to the first audio of the reply) from each reply's
own timings. Spans: when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, one tracer provider per
job process carries LiveKit's spans (with conversation content withheld: the candidate's
words stay in the interview's own rows) and the interview's (``observability.tracing``).
"""

from __future__ import annotations

import logging
from typing import Any

from livekit.agents import AgentSession, llm, stt, telemetry, tts
from livekit.agents.voice.events import (
    ConversationItemAddedEvent,
    ErrorEvent,
    SessionUsageUpdatedEvent,
)

from observability import metrics, tracing
from observability.tracing import span

from .config import Settings

logger = logging.getLogger("interview.telemetry")

__all__ = ["SessionMetrics", "configure_tracing", "span"]


def configure_tracing(settings: Settings, version: str) -> bool:
    """Spans for this process when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (idempotent).
    Call it in the process that runs interviews (a job process), never in the forkserver."""
    provider = tracing.configured() or tracing.configure(
        settings.otel_exporter_otlp_endpoint, version=version
    )
    if provider is None:
        return False
    telemetry.set_tracer_provider(provider, allow_pii=False)
    return True


def _provider(source: Any) -> str:
    module = type(source).__module__
    if module.startswith("livekit.plugins."):
        return module.split(".")[2]
    return module.split(".")[0]


def _service(source: Any) -> str:
    for kind, base in (("llm", llm.LLM), ("stt", stt.STT), ("tts", tts.TTS)):
        if isinstance(source, base):
            return kind
    return "other"


def _status(error: Any) -> str:
    inner = getattr(error, "error", error)
    code = getattr(inner, "status_code", None)
    if isinstance(code, int):
        return str(code)
    return "timeout" if "Timeout" in type(inner).__name__ else type(inner).__name__


class SessionMetrics:
    """Records one session's usage, errors and reply latencies as the worker's metrics."""

    def __init__(self, session: AgentSession) -> None:
        self._seen: dict[tuple[str, str, str], dict[str, float]] = {}
        session.on("session_usage_updated", self._on_usage)
        session.on("error", self._on_error)
        session.on("conversation_item_added", self._on_item)

    def _on_usage(self, ev: SessionUsageUpdatedEvent) -> None:
        for usage in ev.usage.model_usage:
            now = usage.model_dump()
            key = (str(now.get("type")), str(now.get("provider")), str(now.get("model")))
            before = self._seen.get(key, {})
            delta = {
                k: float(v) - float(before.get(k, 0))
                for k, v in now.items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            }
            self._seen[key] = {k: float(v) for k, v in now.items() if isinstance(v, int | float)}
            self._record(key[0], key[2], delta)

    @staticmethod
    def _record(kind: str, model: str, delta: dict[str, float]) -> None:
        if kind == "llm_usage":
            metrics.llm_tokens(
                model,
                input_tokens=int(delta.get("input_tokens", 0)),
                output_tokens=int(delta.get("output_tokens", 0)),
                purpose="interview",
            )
        elif kind == "stt_usage":
            metrics.stt_audio(model, delta.get("audio_duration", 0.0))
        elif kind == "tts_usage":
            metrics.tts_characters(model, int(delta.get("characters_count", 0)))

    def _on_error(self, ev: ErrorEvent) -> None:
        metrics.provider_error(_provider(ev.source), _service(ev.source), _status(ev.error))

    def _on_item(self, ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if getattr(item, "type", None) != "message" or getattr(item, "role", None) != "assistant":
            return
        latency = (item.metrics or {}).get("e2e_latency")
        if isinstance(latency, int | float) and latency >= 0:
            metrics.reply_latency(float(latency))
