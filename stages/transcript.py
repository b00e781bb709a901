"""The conversation as it is saved: one message per turn, each tagged with its stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from .machine import InterviewMachine

Role = Literal["agent", "candidate"]
CONVERSATION_SCHEMA_VERSION = 1


def iso(ts: float | None) -> str | None:
    """An epoch timestamp as ISO-8601 in UTC (``None`` stays ``None``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds")


@dataclass(slots=True)
class Message:
    role: Role
    text: str
    stage: str | None
    started_at: float
    ended_at: float
    interrupted: bool = False
    item_ids: list[str] = field(default_factory=list)
    request: bool = False
    """A candidate turn that was a request (repeat, skip, end, a moment), not an answer."""
    question: bool = True
    """An agent turn that asked a question (not a repeat, "take your time", confirmation)."""
    transcription_gap: bool = False
    """A candidate turn of which some words were lost: speech-to-text failed while the
    candidate was speaking and had to reconnect."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "role": self.role,
            "text": self.text,
            "stage": self.stage,
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "interrupted": self.interrupted,
        }
        if self.transcription_gap:
            out["transcription_gap"] = True
        return out


class Transcript:
    """Collects committed messages; merges the fragments of one turn.

    Consecutive candidate messages are one turn (speech-to-text fragments, or a
    candidate who kept talking); consecutive agent messages of the same stage are one
    turn (text spoken before and after a tool call). Adding an item id twice is a no-op.
    """

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._seen: set[str] = set()

    def add(
        self,
        *,
        item_id: str,
        role: Role,
        text: str,
        stage: str | None,
        started_at: float,
        ended_at: float | None = None,
        interrupted: bool = False,
    ) -> Message | None:
        text = text.strip()
        if item_id in self._seen or not text:
            return None
        self._seen.add(item_id)
        end = ended_at if ended_at is not None else started_at
        last = self.messages[-1] if self.messages else None
        if last is not None and last.role == role and (role == "candidate" or last.stage == stage):
            last.text = f"{last.text} {text}"
            last.ended_at = max(last.ended_at, end)
            last.interrupted = interrupted
            last.item_ids.append(item_id)
            return last
        msg = Message(
            role=role,
            text=text,
            stage=stage,
            started_at=started_at,
            ended_at=end,
            interrupted=interrupted,
            item_ids=[item_id],
        )
        self.messages.append(msg)
        return msg

    def mark_last_candidate_request(self) -> None:
        for m in reversed(self.messages):
            if m.role == "candidate":
                m.request = True
                return

    def mark_agent_items(self, item_ids: set[str], *, question: bool) -> None:
        for m in self.messages:
            if m.role == "agent" and item_ids.intersection(m.item_ids):
                m.question = question

    def totals(self) -> dict[str, Any]:
        by_stage: dict[str, dict[str, int]] = {}
        for m in self.messages:
            key = m.stage or "none"
            by_stage.setdefault(key, {"agent": 0, "candidate": 0})[m.role] += 1
        return {
            "agent": sum(1 for m in self.messages if m.role == "agent"),
            "candidate": sum(1 for m in self.messages if m.role == "candidate"),
            "by_stage": by_stage,
        }


def conversation_json(transcript: Transcript, machine: InterviewMachine) -> dict[str, Any]:
    """The ``interviews.conversation`` document of DESIGN.md."""
    return {
        "schema_version": CONVERSATION_SCHEMA_VERSION,
        "messages": [m.to_json() for m in transcript.messages],
        "stages": [
            {
                "id": r.id,
                "status": "not_reached" if r.status == "pending" else r.status,
                "started_at": iso(r.started_at),
                "ended_at": iso(r.ended_at),
                "questions_asked": r.questions_asked,
                "answers": r.answers,
                "repeats": r.repeats,
                "skip_source": r.skip_source,
                "budget_exceeded": r.budget_exceeded,
            }
            for r in machine.stages
        ],
    }
