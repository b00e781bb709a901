"""Turn a finished interview into the rows DESIGN.md specifies, and save them."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from importlib import metadata as pkg_metadata
from typing import Any

from feedback.report import computed_feedback, offline_feedback
from persistence import FeedbackRecord, InterviewRecord
from stages.machine import InterviewMachine
from stages.transcript import conversation_json, iso

from .runtime import InterviewRuntime


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
    usage: list[dict[str, Any]] = field(default_factory=list)
    timed: bool = False
    job_id: str | None = None


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


def _usage_totals(usage: list[dict[str, Any]]) -> dict[str, Any]:
    totals = {
        "llm_input_tokens": 0,
        "llm_output_tokens": 0,
        "stt_seconds": 0.0,
        "tts_characters": 0,
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


def build_records(
    rt: InterviewRuntime, facts: SessionFacts, machine: InterviewMachine | None = None
) -> tuple[InterviewRecord, FeedbackRecord]:
    """The rows for an ended interview (``machine`` defaults to the runtime's own)."""
    m = machine or rt.machine
    md = rt.md
    if m.ended_by is None:
        raise RuntimeError("build_records needs an ended interview")
    latency = {
        key: _latency_summary([v for t in rt.latencies if (v := getattr(t, attr)) is not None])
        for key, attr in (
            ("e2e_s", "e2e_s"),
            ("llm_ttft_s", "llm_ttft_s"),
            ("tts_ttfb_s", "tts_ttfb_s"),
            ("end_of_turn_delay_s", "end_of_turn_delay_s"),
        )
    }
    metadata: dict[str, Any] = {
        "worker_version": worker_version(),
        "mode": facts.mode,
        "job_id": facts.job_id,
        "models": facts.models,
        "usage": _usage_totals(facts.usage),
        "latency": latency,
        "duration_s": round(m.elapsed_s(), 1),
        "started_at": iso(m.started_at),
        "ended_at": iso(m.ended_at),
        "language": md.language,
        "max_duration_s": md.max_duration_s,
        "plan": [s.id for s in m.plan],
        "truncations": [
            {"field": t.field, "original_chars": t.original_chars, "kept_chars": t.kept_chars}
            for t in md.truncations
        ],
        "warnings": list(md.warnings),
        "errors": list(rt.errors),
        "end_reason": m.end_reason,
        "events": [{"t": iso(e.t), "event": e.event, **e.detail} for e in m.log],
    }
    interview = InterviewRecord(
        room_name=rt.room_name,
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
    computed = computed_feedback(
        rt.transcript.messages,
        m.stages,
        rt.planned,
        timed=facts.timed,
        jd_terms=rt.bank.terms_in(md.job_description),
        find=rt.bank.find,
    )
    feedback = FeedbackRecord(
        user_id=md.user_id, feedback_data=offline_feedback(rt.transcript.messages, computed)
    )
    return interview, feedback
