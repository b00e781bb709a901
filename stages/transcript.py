"""The conversation as it is saved: one message per turn, each tagged with its stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from .machine import InterviewMachine
from .text import clean_text, seconds

Role = Literal["agent", "candidate"]
CONVERSATION_SCHEMA_VERSION = 1


def iso(ts: float | None) -> str | None:
    """An epoch timestamp as ISO-8601 in UTC (``None`` stays ``None``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds")


def parse_iso(text: object) -> float | None:
    """An ISO-8601 timestamp as epoch seconds (``None`` when it is not one)."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _word(word: str) -> str:
    return "".join(c for c in word.lower() if c.isalnum())


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
    partial: bool = False
    """A candidate turn that ends with speech-to-text's interim words: the candidate left
    before the final transcript of what they were saying came (some words may be wrong
    or missing, so it is saved with ``transcription_gap`` too)."""
    time_boxed: bool = False
    """A candidate answer that ran past its time limit: the interviewer moved on at the
    end of a sentence (the words are all here)."""
    time_limit_s: float | None = None
    """That limit, in seconds (saved with ``time_boxed``)."""
    parts: dict[str, str] = field(default_factory=dict)
    """The text of each item merged into this turn, by item id, in order."""
    drafts: set[str] = field(default_factory=set)
    """Items counted but not yet confirmed (a reply may still be built on a draft of the
    words; a newer draft of the same turn replaces it)."""

    def _join(self) -> None:
        self.text = " ".join(t for t in self.parts.values() if t)
        self.item_ids = list(self.parts)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "role": self.role,
            "text": self.text,
            "stage": self.stage,
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "interrupted": self.interrupted,
        }
        if self.transcription_gap or self.partial:
            out["transcription_gap"] = True
        if self.role == "candidate" and self.request:
            out["request"] = True
        if self.role == "candidate" and self.partial:
            out["partial"] = True
        if self.role == "agent" and not self.question:
            out["question"] = False
        if self.role == "candidate" and self.time_boxed:
            out["time_boxed"] = True
            if self.time_limit_s is not None:
                out["time_limit_s"] = round(self.time_limit_s)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any], index: int) -> Message:
        """A saved message back (to continue an interview); missing times become 0."""
        role: Role = "agent" if data.get("role") == "agent" else "candidate"
        return cls(
            role=role,
            text=clean_text(data.get("text") or ""),
            stage=data.get("stage"),
            started_at=parse_iso(data.get("started_at")) or 0.0,
            ended_at=parse_iso(data.get("ended_at")) or 0.0,
            interrupted=bool(data.get("interrupted")),
            item_ids=[f"restored-{index}"],
            parts={f"restored-{index}": clean_text(data.get("text") or "")},
            request=bool(data.get("request")),
            question=data.get("question") is not False,
            transcription_gap=bool(data.get("transcription_gap")),
            partial=role == "candidate" and data.get("partial") is True,
            time_boxed=role == "candidate" and data.get("time_boxed") is True,
            time_limit_s=seconds(data.get("time_limit_s")),
        )


class Transcript:
    """Collects committed messages; merges the fragments of one turn.

    Consecutive candidate messages are one turn (speech-to-text fragments, or a
    candidate who kept talking); consecutive agent messages of the same stage are one
    turn (text spoken before and after a tool call). Adding an item id twice is a no-op.
    """

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._seen: set[str] = set()
        self._sealed = False

    def seal(self) -> None:
        """What follows is a new part of the interview (after a pause): the next message
        starts a turn of its own."""
        self._sealed = True

    @classmethod
    def restored(cls, saved: object) -> Transcript:
        """The transcript of a saved ``conversation["messages"]`` (to continue it)."""
        t = cls()
        for i, data in enumerate(saved if isinstance(saved, list) else []):
            if not isinstance(data, dict):
                continue
            msg = Message.from_json(data, i)
            if msg.text.strip():
                t.messages.append(msg)
                t._seen.update(msg.item_ids)
        return t

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
        draft: bool = False,
        continues: bool = False,
        partial: bool = False,
    ) -> Message | None:
        """Add an item; returns its message when something was recorded or confirmed
        (``None`` for an empty item or one already recorded).

        ``draft``: a candidate turn counted before its words are final. Adding the same
        id again without ``draft`` confirms it (with the final words and times); a new
        candidate item that follows an unconfirmed draft replaces it.

        ``continues``: the candidate went on with their last answer after the interviewer
        had started (and was cut off): the words join that answer's message.

        ``partial``: a candidate item of interim words only (the final never came); the
        message is partial while they are its last words."""
        text = clean_text(text).strip()
        end = ended_at if ended_at is not None else started_at
        if item_id in self._seen:
            return self._confirm(item_id, text, started_at, end, interrupted, draft)
        if not text:
            return None
        self._seen.add(item_id)
        held = self._draft_of(text) if role == "candidate" else None
        if held is not None:
            return self._replace_drafts(held, item_id, text, started_at, end, interrupted, draft)
        last = self.messages[-1] if self.messages else None
        if continues and role == "candidate":
            last = next((m for m in reversed(self.messages) if m.role == "candidate"), last)
        # an interviewer message cut off by the candidate stays apart from the next one
        merges = role == "candidate" or (
            last is not None and last.stage == stage and not last.interrupted
        )
        if self._sealed:  # the first message after a pause never joins one before it
            merges, self._sealed = False, False
        if last is not None and last.role == role and merges:
            superseded = last.drafts if role == "candidate" else set()
            for old in superseded:
                last.parts.pop(old, None)
            last.drafts = set()
            if not last.parts:
                last.started_at = started_at
            last.parts[item_id] = text
            last.ended_at = max(last.ended_at, end)
            last.interrupted = interrupted
            last.partial = partial and role == "candidate"
            if draft:
                last.drafts.add(item_id)
            last._join()
            return last
        msg = Message(
            role=role,
            text=text,
            stage=stage,
            started_at=started_at,
            ended_at=end,
            interrupted=interrupted,
            item_ids=[item_id],
            parts={item_id: text},
            drafts={item_id} if draft else set(),
            partial=partial and role == "candidate",
        )
        self.messages.append(msg)
        return msg

    def _draft_of(self, text: str) -> Message | None:
        """The candidate's last message when its unconfirmed draft is these words: the
        same turn, drafted again or committed late, after the interviewer had spoken (as
        when the interview ends right after an answer: the farewell comes first). Only
        when the interviewer spoke since: a draft that is still the last message is
        replaced the ordinary way."""
        if not self.messages or self.messages[-1].role == "candidate":
            return None
        msg = next((m for m in reversed(self.messages) if m.role == "candidate"), None)
        if msg is None or not msg.drafts:
            return None
        drafted = " ".join(msg.parts.get(d, "") for d in msg.drafts).split()
        words = [_word(w) for w in text.split()]
        drafted = [_word(w) for w in drafted]
        shorter = min(len(words), len(drafted))
        return msg if shorter and words[:shorter] == drafted[:shorter] else None

    @staticmethod
    def _replace_drafts(
        msg: Message, item_id: str, text: str, started_at: float, ended_at: float,
        interrupted: bool, draft: bool,
    ) -> Message:  # fmt: skip
        for old in msg.drafts:
            msg.parts.pop(old, None)
        msg.drafts = {item_id} if draft else set()
        if not msg.parts:
            msg.started_at = started_at
        msg.parts[item_id] = text
        msg.ended_at = max(msg.ended_at, ended_at)
        msg.interrupted = interrupted
        msg.partial = False
        msg._join()
        return msg

    def _confirm(
        self, item_id: str, text: str, started_at: float, ended_at: float, interrupted: bool,
        draft: bool,
    ) -> Message | None:  # fmt: skip
        if draft:
            return None
        for msg in reversed(self.messages):
            if item_id in msg.drafts:
                msg.drafts.discard(item_id)
                if text:
                    msg.parts[item_id] = text
                if next(iter(msg.parts)) == item_id:
                    msg.started_at = started_at
                # a draft's times are when a reply was built on it; the turn's own win
                alone = list(msg.parts) == [item_id]
                msg.ended_at = ended_at if alone else max(msg.ended_at, ended_at)
                msg.interrupted = interrupted
                msg._join()
                return msg
        return None

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
    """The ``interviews.conversation`` document (docs/CONTRACTS.md)."""
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
