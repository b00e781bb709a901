"""The interview's own Prometheus metrics (names in docs/OPERATING.md).

Served by the worker next to LiveKit's own (``METRICS_PORT``). Each interview runs in a
job process of its own, so values are recorded with the Prometheus client's
multiprocess mode when the worker shares a metrics directory
(:func:`observability.share_metrics`); otherwise they stay in this process's memory.
Recording never raises into the interview: a metric is an observation, not a duty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache, wraps
from typing import ParamSpec

from prometheus_client import Counter, Gauge, Histogram

logger = logging.getLogger("interview.metrics")

P = ParamSpec("P")

STARTED = Counter("interview_started", "Interviews started", ["mode"])
ENDED = Counter("interview_ended", "Interviews ended, by how they ended", ["ended_by"])
RUNNING = Gauge("interview_running", "Interviews running now", multiprocess_mode="livesum")


@cache
def _outbox_gauges() -> tuple[Gauge, Gauge]:
    """Made when first set (by the worker's main process, once it runs): LiveKit empties
    the shared metrics directory as the worker starts, which would lose a value made at
    import."""
    return (
        Gauge(
            "interview_outbox_pending",
            "Finished interviews waiting in this machine's outbox to be saved to the store",
            multiprocess_mode="livemostrecent",
        ),
        Gauge(
            "interview_outbox_oldest_pending_seconds",
            "Age of the oldest interview waiting in the outbox (0 when none waits)",
            multiprocess_mode="livemostrecent",
        ),
    )


FINALIZE = Histogram(
    "interview_finalize_seconds",
    "From the end of an interview until its transcript is saved (or kept in the outbox)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
)
PROVIDER_ERRORS = Counter(
    "interview_provider_errors",
    "Errors reported by a provider during an interview",
    ["provider", "service", "status"],
)
REPLY_LATENCY = Histogram(
    "interview_reply_latency_seconds",
    "From the end of the candidate's speech to the interviewer's first audio",
    buckets=(0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 8.0),
)
LLM_TOKENS = Counter(
    "interview_llm_tokens",
    "Language-model tokens, by model, direction (input/output) and purpose",
    ["model", "direction", "purpose"],
)
STT_SECONDS = Counter(
    "interview_stt_audio_seconds", "Audio sent to speech-to-text, in seconds", ["model"]
)
TTS_CHARACTERS = Counter("interview_tts_characters", "Characters sent to text-to-speech", ["model"])
COST = Histogram(
    "interview_estimated_cost_usd",
    "Estimated provider cost of one finished interview (docs/OPERATING.md: prices)",
    buckets=(0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0),
)


def _guarded(fn: Callable[P, None]) -> Callable[P, None]:
    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except Exception as e:  # a full disk under the metrics directory, say
            logger.warning("metric %s not recorded: %s", fn.__name__, type(e).__name__)

    return wrapper


@_guarded
def interview_started(mode: str) -> None:
    STARTED.labels(mode=mode).inc()
    RUNNING.inc()


@_guarded
def interview_ended(ended_by: str | None, *, finalize_s: float | None) -> None:
    ENDED.labels(ended_by=ended_by or "unknown").inc()
    RUNNING.dec()
    if finalize_s is not None:
        FINALIZE.observe(finalize_s)


@_guarded
def outbox_status(pending: int, oldest_age_s: float | None) -> None:
    waiting, oldest = _outbox_gauges()
    waiting.set(pending)
    oldest.set(oldest_age_s or 0.0)


@_guarded
def provider_error(provider: str, service: str, status: str) -> None:
    PROVIDER_ERRORS.labels(provider=provider, service=service, status=status).inc()


@_guarded
def reply_latency(seconds: float) -> None:
    REPLY_LATENCY.observe(seconds)


@_guarded
def llm_tokens(model: str, *, input_tokens: int, output_tokens: int, purpose: str) -> None:
    if input_tokens:
        LLM_TOKENS.labels(model=model, direction="input", purpose=purpose).inc(input_tokens)
    if output_tokens:
        LLM_TOKENS.labels(model=model, direction="output", purpose=purpose).inc(output_tokens)


@_guarded
def stt_audio(model: str, seconds: float) -> None:
    if seconds > 0:
        STT_SECONDS.labels(model=model).inc(seconds)


@_guarded
def tts_characters(model: str, characters: int) -> None:
    if characters > 0:
        TTS_CHARACTERS.labels(model=model).inc(characters)


@_guarded
def interview_cost(total_usd: float) -> None:
    COST.observe(total_usd)
