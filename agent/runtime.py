"""The interview as the LiveKit session sees it: what LiveKit delivers, adapted.

:class:`InterviewRuntime` is the plain :class:`interview.record.Interview` plus the one
job that needs LiveKit types: turning chat items and speech handles into the record's
plain events (idempotently), and building the bounded chat context each model call
sees. It holds no connection and does no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from livekit.agents import llm

from interview.record import Interview, TurnLatency
from stages.machine import Effect

__all__ = ["MAX_CONTEXT_ITEMS", "InterviewRuntime", "TurnLatency", "agent_spoke"]

MAX_CONTEXT_ITEMS = 12
"""Most chat items (messages, tool calls) of the current stage the LLM sees."""


def agent_spoke(items: Sequence[llm.ChatItem]) -> bool:
    """A reply said something: one of its items is an assistant message with text."""
    return bool(_spoken(items))


def _spoken(items: Sequence[llm.ChatItem]) -> str:
    return " ".join(
        (i.text_content or "").strip()
        for i in items
        if i.type == "message" and i.role == "assistant" and (i.text_content or "").strip()
    )


class InterviewRuntime(Interview):
    # ------------------------------------------------------------ LiveKit in

    def commit_candidate_turns(self, chat_ctx: llm.ChatContext) -> list[Effect]:
        """Commit the candidate's pending turn seen by a model call (idempotent).

        The pending turn is every user message after the last assistant message. The
        same message seen again (a tool step, a preemptive generation reused) is a no-op.
        """
        pending: list[llm.ChatMessage] = []
        for item in reversed(chat_ctx.items):
            if item.type != "message":
                continue
            if item.role == "assistant":
                break
            if item.role == "user":
                pending.append(item)
        effects: list[Effect] = []
        for msg in reversed(pending):
            effects += self.candidate_turn(msg.id, msg.text_content or "", msg.created_at)
        return effects

    def item_added(self, item: llm.ChatItem) -> None:
        """A message was committed to the session history."""
        if item.type != "message" or item.role not in ("user", "assistant"):
            return
        metrics = dict(item.metrics or {})
        started = metrics.get("started_speaking_at") or item.created_at
        ended = metrics.get("stopped_speaking_at") or started
        self.record_message(
            turn_id=item.id,
            role="agent" if item.role == "assistant" else "candidate",
            text=item.text_content or "",
            started_at=float(started),
            ended_at=float(ended),
            interrupted=bool(item.interrupted),
            metrics=metrics,
        )

    def speech_done(
        self, speech_id: str, items: list[llm.ChatItem], *, interrupted: bool = False
    ) -> list[Effect]:
        """An agent reply (all its tool steps included) has finished playing, or was cut
        off by the candidate (``interrupted``: the items hold what was played)."""
        return self.reply_done(
            speech_id, {i.id for i in items}, _spoken(items), interrupted=interrupted
        )

    def ignore_speech(self, speech_id: str) -> None:
        """A speech that is not an interview turn (a silence prompt, a farewell)."""
        self.ignore_reply(speech_id)

    # ------------------------------------------------------------ LiveKit out

    def llm_context(self, chat_ctx: llm.ChatContext) -> llm.ChatContext:
        """The bounded context for one model call: instructions + this stage's exchange."""
        current_id = self.stage.id if self.stage else None
        items = [
            i
            for i in chat_ctx.items
            if i.type in ("message", "function_call", "function_call_output")
            and not (i.type == "message" and i.role in ("system", "developer"))
        ]
        kept: list[llm.ChatItem] = []
        messages = 0
        for item in reversed(items):
            if len(kept) >= MAX_CONTEXT_ITEMS:
                break
            tag = self.stage_of(item.id)
            if tag is not None and tag != current_id and messages >= 2:
                break
            kept.append(item)
            if item.type == "message":
                messages += 1
        kept.reverse()
        calls = {i.call_id for i in kept if i.type == "function_call"}
        kept = [i for i in kept if i.type != "function_call_output" or i.call_id in calls]
        system = llm.ChatMessage(role="system", content=[self.instructions()])
        return llm.ChatContext([system, *kept])

    def restored_chat(self) -> llm.ChatContext:
        """The current stage's saved exchange, for the model of a continued interview."""
        stage = self.stage.id if self.stage else None
        items: list[llm.ChatItem] = [
            llm.ChatMessage(
                id=msg.item_ids[0],
                role="assistant" if msg.role == "agent" else "user",
                content=[msg.text],
            )
            for msg in self.transcript.messages
            if msg.stage == stage
        ]
        return llm.ChatContext(items[-MAX_CONTEXT_ITEMS:])
