"""Turn an interview into the rows docs/CONTRACTS.md specifies: what was said first, the rest after.

The ``interviews`` row holds what the candidate said; it is built by code that does not
fail on content: every string is cleaned (:func:`stages.text.clean_json`), and each
optional part of ``metadata`` (latency, usage, events) is built on its own, so one that
raises is left out and named in ``metadata.build_errors`` instead of costing the row.
Feedback is computed afterwards, isolated: if it raises, the feedback row says
``status: "failed"`` and why, and the interview is saved all the same.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata as pkg_metadata
from typing import Any, TypeVar

from feedback.report import computed_feedback, failed_feedback, offline_feedback
from persistence import REVISIONS_PER_GENERATION, FeedbackRecord, InterviewRecord
from stages.text import clean_json
from stages.transcript import Message, conversation_json, iso

from .cost import PriceTable, carried_items, estimate, load_prices, usage_items
from .record import Interview

logger = logging.getLogger("interview.finalize")
T = TypeVar("T")


def worker_version() -> str:
    try:
        return pkg_metadata.version("interview-agent")
    except pkg_metadata.PackageNotFoundError:
        return "0+unknown"


@dataclass(slots=True)
class SessionFacts:
    """What the LiveKit layer knows about the session that the runtime does not."""

    mode: str
    models: dict[str, str | None]
    providers: dict[str, Any] | None = None
    """Which providers the interview used and why (``providers.Choice.summary``)."""
    usage: list[dict[str, Any]] = field(default_factory=list)
    timed: bool = False
    job_id: str | None = None
    prices: PriceTable | None = None
    """The price table for the cost estimate (``None``: the bundled one)."""
    assessment_usage: list[dict[str, Any]] = field(default_factory=list)
    """What the model's assessment used, in LiveKit's usage shape (once it ran)."""


def revision_of(generation: int, n: int) -> int:
    """The ``n``-th version written by the job of this ``generation``."""
    return generation * REVISIONS_PER_GENERATION + n


def _latency_summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 3)

    return {
        "count": len(ordered),
        "p50": pct(0.5),
        "p95": pct(0.95),
        "max": round(ordered[-1], 3),
        "mean": round(statistics.fmean(ordered), 3),
    }


def _usage_totals(usage: list[dict[str, Any]], carried: dict[str, Any]) -> dict[str, Any]:
    totals = {
        "llm_input_tokens": int(carried.get("llm_input_tokens") or 0),
        "llm_output_tokens": int(carried.get("llm_output_tokens") or 0),
        "stt_seconds": float(carried.get("stt_seconds") or 0.0),
        "tts_characters": int(carried.get("tts_characters") or 0),
    }
    for u in usage:
        kind = u.get("type")
        if kind == "llm_usage":
            totals["llm_input_tokens"] += int(u.get("input_tokens", 0))
            totals["llm_output_tokens"] += int(u.get("output_tokens", 0))
        elif kind == "stt_usage":
            totals["stt_seconds"] += float(u.get("audio_duration", 0.0))
        elif kind == "tts_usage":
            totals["tts_characters"] += int(u.get("characters_count", 0))
    totals["stt_seconds"] = round(totals["stt_seconds"], 2)
    return totals


def _part(name: str, build: Callable[[], T], failed: list[str]) -> T | None:
    try:
        return build()
    except Exception as e:
        failed.append(f"{name}: {type(e).__name__}")
        return None


def _spending(rt: Interview) -> dict[str, Any] | None:
    """``metadata.spending``: the candidate's cap, where it came from, what the meter saw
    (``None`` without a cap)."""
    summary = rt.spending.summary()
    if summary is None:
        return None
    return {
        **summary,
        "warned_at": iso(summary["warned_at"]),
        "reached_at": iso(summary["reached_at"]),
    }


def cost_of(rt: Interview, facts: SessionFacts) -> dict[str, Any]:
    """``metadata.cost``: this job's usage, the assessment's and any earlier job's of a
    continued interview, priced with the session's table."""
    items = [
        *carried_items(rt.carried.get("cost")),
        *usage_items(facts.usage, "interview"),
        *usage_items(facts.assessment_usage, "assessment"),
    ]
    return estimate(items, facts.prices or load_prices())


def _latency(rt: Interview) -> dict[str, Any]:
    out: dict[str, Any] = {
        key: _latency_summary([v for t in rt.latencies if (v := getattr(t, key)) is not None])
        for key in ("e2e_s", "llm_ttft_s", "tts_ttfb_s", "end_of_turn_delay_s")
    }
    # each turn's wait before the reply (how turn-taking behaved), the last 200 turns
    out["end_of_turn_delays_s"] = [
        round(t.end_of_turn_delay_s, 3)
        for t in rt.latencies[-200:]
        if t.end_of_turn_delay_s is not None
    ]
    return out


def _metadata(rt: Interview, facts: SessionFacts, failed: list[str]) -> dict[str, Any]:
    """``interviews.metadata``; each optional part guarded (named in ``failed``)."""
    m, md, ident, carried = rt.machine, rt.md, rt.identity, rt.carried
    metadata: dict[str, Any] = {
        "room_name": ident.room_name,
        "room_sid": ident.room_sid,
        "generation": ident.generation,
        "worker_version": worker_version(),
        "mode": facts.mode,
        "job_id": facts.job_id,
        "models": facts.models,
        "providers": facts.providers,
        "usage": _part(
            "usage", lambda: _usage_totals(facts.usage, carried.get("usage") or {}), failed
        ),
        "cost": _part("cost", lambda: cost_of(rt, facts), failed),
        "spending": _part("spending", lambda: _spending(rt), failed),
        "latency": _part("latency", lambda: _latency(rt), failed),
        "duration_s": round(m.elapsed_s(), 1),
        "started_at": iso(m.started_at),
        "ended_at": iso(m.ended_at),
        "language": md.language,
        "record_audio": md.record_audio,
        "max_duration_s": md.max_duration_s,
        "plan": [s.id for s in m.plan],
        "truncations": [
            {"field": t.field, "original_chars": t.original_chars, "kept_chars": t.kept_chars}
            for t in md.truncations
        ],
        "warnings": list(md.warnings),
        "errors": [*(carried.get("errors") or []), *rt.errors],
        "end_reason": m.end_reason,
        "events": _part(
            "events",
            lambda: [
                *(carried.get("events") or []),
                *({"t": iso(e.t), "event": e.event, **e.detail} for e in m.log),
            ],
            failed,
        ),
    }
    if md.from_room:
        metadata["context_from_room"] = list(md.from_room)
    if md.from_attributes:
        metadata["context_from_attributes"] = list(md.from_attributes)
    if carried.get("continued"):
        metadata["continued"] = carried["continued"]
    if carried.get("pauses"):
        metadata["pauses"] = carried["pauses"]
    if (paused := rt.pause_state()) is not None:
        metadata["paused"] = paused
    if failed:
        metadata["build_errors"] = failed
    return metadata


def build_interview(rt: Interview, facts: SessionFacts, *, revision: int) -> InterviewRecord:
    """The ``interviews`` row: the conversation first, the optional parts guarded."""
    m, md, ident = rt.machine, rt.md, rt.identity
    metadata = _metadata(rt, facts, [])
    record = InterviewRecord(
        id=ident.interview_id,
        revision=revision,
        room_name=ident.room_name,
        user_id=md.user_id,
        candidate_name=md.candidate_name if md.name_given else None,
        interview_date=iso(m.started_at if m.started_at is not None else rt.clock()) or "",
        job_role=md.job_role,
        experience_level=md.experience_level,
        final_stage=m.final_stage,
        ended_by=m.ended_by,
        skipped_stages=m.skipped_stages,
        has_resume=md.has_resume,
        has_jd=md.has_jd,
        conversation=conversation_json(rt.transcript, m),
        total_messages=rt.transcript.totals(),
        metadata=metadata,
    )
    record.conversation = clean_json(record.conversation)
    record.metadata = clean_json(record.metadata)
    for name in ("room_name", "candidate_name", "job_role"):
        value = getattr(record, name)
        if value is not None:
            setattr(record, name, clean_json(value))
    return record


def _as_heard(messages: list[Message]) -> list[Message]:
    """The messages as feedback judges them: a partial turn (the candidate left before
    its final words came) is one with words unheard, never held against it."""
    return [dataclasses.replace(m, transcription_gap=True) if m.partial else m for m in messages]


def build_feedback(rt: Interview, facts: SessionFacts) -> FeedbackRecord:
    """The computed ``feedback`` row (raises on a bug: callers isolate it)."""
    m = rt.machine
    messages = _as_heard(rt.transcript.messages)
    computed = computed_feedback(
        messages,
        m.stages,
        m.plan,
        rt.planned,
        timed=facts.timed,
        jd_terms=rt.bank.terms_in(rt.md.job_description),
        find=rt.bank.find,
    )
    data = offline_feedback(messages, computed, m.plan)
    return FeedbackRecord(user_id=rt.md.user_id, feedback_data=clean_json(data))


def _feedback_or_failed(
    rt: Interview, facts: SessionFacts, on_feedback_error: Callable[[Exception], None] | None
) -> FeedbackRecord:
    try:
        return build_feedback(rt, facts)
    except Exception as e:
        if on_feedback_error is not None:
            on_feedback_error(e)
        return FeedbackRecord(
            user_id=rt.md.user_id,
            feedback_data=failed_feedback(f"feedback could not be computed: {type(e).__name__}"),
        )


def build_records(
    rt: Interview,
    facts: SessionFacts,
    *,
    revision: int = 0,
    on_feedback_error: Callable[[Exception], None] | None = None,
) -> tuple[InterviewRecord, FeedbackRecord]:
    """Both rows of an ended interview: the interview row first; then its feedback, or
    (if computing it raised) a feedback row that says so."""
    m = rt.machine
    if m.ended_by is None:
        raise RuntimeError("build_records needs an ended interview")
    interview = build_interview(rt, facts, revision=revision)
    return interview, _feedback_or_failed(rt, facts, on_feedback_error)


def build_live(
    rt: Interview,
    facts: SessionFacts,
    *,
    revision: int,
    on_feedback_error: Callable[[Exception], None] | None = None,
) -> tuple[InterviewRecord, FeedbackRecord]:
    """The rows of an interview still running, as it stands (``ended_by`` null)."""
    interview = build_interview(rt, facts, revision=revision)
    return interview, _feedback_or_failed(rt, facts, on_feedback_error)


def as_recovered(live: InterviewRecord, *, at: float) -> InterviewRecord:
    """The rows a running interview leaves if its job dies now: what a recovered
    checkpoint says (``ended_by: worker_shutdown``, the stage in progress ``ended``)."""
    when = iso(at)
    conversation = copy.deepcopy(live.conversation)
    final_stage = None
    for stage in conversation.get("stages", []):
        if stage.get("status") == "active":
            stage["status"], stage["ended_at"] = "ended", when
            final_stage = stage.get("id")
    metadata = dict(live.metadata)
    metadata["ended_at"] = when
    metadata["events"] = [
        *(metadata.get("events") or []),
        {"t": when, "event": "end", "ended_by": "worker_shutdown"},
    ]
    return dataclasses.replace(
        live,
        ended_by="worker_shutdown",
        final_stage=final_stage,
        conversation=conversation,
        metadata=metadata,
    )
