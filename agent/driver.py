"""Binds an interview runtime to a running ``AgentSession``: events in, effects out.

LiveKit events become machine events (committed messages, finished replies, who is
speaking, errors, the session closing, the candidate leaving); machine effects become
LiveKit actions (a gentle prompt after a long silence, a farewell, the end of the
session). ``ended`` is set once the interview is over and its last words have been spoken.

A candidate who leaves in the middle of speaking keeps their words: speech-to-text is
asked to finish the utterance and given ``LEAVE_GRACE_S`` for its final words; those (or,
failing them, the last interim words, marked partial) are recorded as the candidate's
turn before the interview hears of the leave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from livekit.agents import AgentSession, llm, stt
from livekit.agents.voice.events import (
    AgentStateChangedEvent,
    CloseEvent,
    CloseReason,
    ConversationItemAddedEvent,
    ErrorEvent,
    SpeechCreatedEvent,
    UserInputTranscribedEvent,
    UserStateChangedEvent,
)
from livekit.agents.voice.speech_handle import SpeechHandle

from prompts import render
from stages.machine import Effect, Ended, SilencePrompt, StageChanged

from .heard import HeardWords, LastWords
from .interviewer import Interviewer
from .runtime import InterviewRuntime, agent_spoke

logger = logging.getLogger("interview.driver")

FAREWELL_PROMPTS = {
    "client_request": "say_client_end",
    "inactivity": "say_inactivity",
    "time_limit": "say_time_limit",
    "paused": "say_paused",
    "error": "say_error",
}
"""Canned last words per ending (none for completed / candidate_request: the
interviewer has already said goodbye; none when nobody is there to hear them)."""
TICK_S = 1.0
LLM_REPLY_RETRIES = 1
"""Failed replies asked for again before the interview ends with ``error``."""
FAREWELL_TIMEOUT_S = 15.0
CLOSE_GRACE_S = 2.0
SILENT_ENDINGS = ("candidate_left", "worker_shutdown")
"""Endings nobody is there to hear (no farewell)."""
LEAVE_GRACE_S = 1.5
"""How long after the candidate left the final words of what they were saying may take
(ended early when they come)."""
WITHDRAWN = "another interviewer is running in this room"
"""``end_reason`` of a job that leaves a room another interviewer already serves."""

StatePublisher = Callable[[dict[str, Any]], Awaitable[None]]


class SessionDriver:
    def __init__(
        self,
        session: AgentSession,
        runtime: InterviewRuntime,
        *,
        publish: StatePublisher | None = None,
        watch_silence: bool = True,
        publish_cues: StatePublisher | None = None,
    ) -> None:
        self.session = session
        self.runtime = runtime
        self.ended = asyncio.Event()
        self._publish = publish
        self._publish_cues = publish_cues
        self._watch_silence = watch_silence
        self._published_version = -1
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._wrap_up_started = False
        self._llm_retries = 0
        self._retry: asyncio.Task[None] | None = None
        """The request for a failed reply, while it runs (tracked with the other tasks)."""
        self.heard = HeardWords()
        """The candidate's words heard and not yet committed as a turn."""
        self._leaving: asyncio.Task[None] | None = None
        """The candidate left: their last words are being waited for."""
        self._left_for_good = False
        runtime.on_effects(self._on_effects)
        session.on("conversation_item_added", self._on_item)
        session.on("user_input_transcribed", self._on_transcribed)
        session.on("speech_created", self._on_speech)
        session.on("user_state_changed", self._on_user_state)
        session.on("agent_state_changed", self._on_agent_state)
        session.on("error", self._on_error)
        session.on("close", self._on_close)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick_loop(), name="interview-ticker")

    async def aclose(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._tasks:  # let the last state messages ("saved") go out
            await asyncio.wait(list(self._tasks), timeout=CLOSE_GRACE_S)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def retrying(self) -> bool:
        """A failed reply is being asked for again."""
        return self._retry is not None and not self._retry.done()

    async def settle(self, limit_s: float) -> None:
        """Until a reply being asked for again (after a failure) has been given."""
        if self._retry is not None:
            await asyncio.wait_for(asyncio.shield(self._retry), limit_s)
            self._retry = None

    async def _tick_loop(self) -> None:
        rt = self.runtime
        while not rt.terminal:
            await asyncio.sleep(TICK_S)
            rt.tick(silence_prompts=self._watch_silence)
            self.publish_state()

    # ------------------------------------------------------------ LiveKit events

    def _on_item(self, ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if item.type == "message" and item.role == "user":
            self.heard.committed(item.text_content or "")
        self.runtime.item_added(item)  # type: ignore[arg-type]

    def _on_transcribed(self, ev: UserInputTranscribedEvent) -> None:
        self.heard.transcribed(ev.transcript, final=ev.is_final, at=ev.created_at)

    def _on_speech(self, ev: SpeechCreatedEvent) -> None:
        handle = ev.speech_handle
        handle.add_done_callback(self._on_speech_done)

    def _on_speech_done(self, handle: SpeechHandle) -> None:
        if agent_spoke(list(handle.chat_items)) and handle.exception() is None:
            self._llm_retries = 0
        self.runtime.speech_done(handle.id, list(handle.chat_items), interrupted=handle.interrupted)
        self.publish_state()

    def _on_user_state(self, ev: UserStateChangedEvent) -> None:
        self.heard.speaking(ev.new_state == "speaking", at=ev.created_at)
        self.runtime.speaking("candidate", ev.new_state == "speaking")

    def _on_agent_state(self, ev: AgentStateChangedEvent) -> None:
        self.runtime.speaking("agent", ev.new_state == "speaking")
        if ev.new_state == "speaking":
            self.publish_cues()

    def publish_cues(self) -> None:
        """The delivery cues of the answer just given (once the interviewer starts its
        reply: by then the turn is settled as an answer or a request)."""
        if self._publish_cues is None:
            return
        cues = self.runtime.answer_cues()
        if cues is not None:
            self._spawn(self._send_cues(cues), "interview-cues")

    async def _send_cues(self, cues: dict[str, Any]) -> None:
        assert self._publish_cues is not None
        try:
            await self._publish_cues(cues)
        except Exception as e:  # a lost cue is a lost hint, never a lost interview
            logger.debug("cues not published: %s", type(e).__name__)

    def _on_error(self, ev: ErrorEvent) -> None:
        err = ev.error
        recoverable = bool(getattr(err, "recoverable", True))
        kind = type(getattr(err, "error", err)).__name__
        self.runtime.provider_error(
            type(ev.source).__name__,
            kind,
            recoverable=recoverable,
            speech_lost=isinstance(ev.source, stt.STT) and self.session.user_state == "speaking",
        )
        logger.warning("provider error (%s, recoverable=%s)", kind, recoverable)
        if recoverable:
            return
        status = getattr(getattr(err, "error", err), "status_code", None)
        rejected = status is not None and 400 <= status < 500 and status != 429
        if rejected:
            kind = f"{kind} {status}"  # a rejected key or request: asking again cannot help
        elif isinstance(ev.source, llm.LLM) and self._llm_retries < LLM_REPLY_RETRIES:
            # a reply that failed mid-way (LiveKit never retries once text was produced):
            # ask for the reply once more before giving up on the interview
            self._llm_retries += 1
            self._retry = self._spawn(self._retry_reply(), "interview-reply-retry")
            return
        self.runtime.fail(f"{type(ev.source).__name__}: {kind}")

    async def _retry_reply(self) -> None:
        try:
            await self._wait_for_speech()
            if not self.runtime.terminal:
                await self.session.generate_reply()
        except Exception as e:  # the retry itself failed: the error event ends the interview
            logger.warning("reply retry failed: %s", type(e).__name__)

    def _on_close(self, ev: CloseEvent) -> None:
        rt = self.runtime
        leaving = self._leaving is not None and not self._leaving.done()
        if leaving and self._leaving is not None:
            self._leaving.cancel()  # speech-to-text is closed: what was heard is all there is
        left = leaving or ev.reason == CloseReason.PARTICIPANT_DISCONNECTED
        if not rt.terminal:
            if left:
                self._keep_last_words()
            if ev.reason == CloseReason.ERROR:
                rt.fail("session closed on error")
            elif left:
                rt.candidate_left(final=True)
            else:
                rt.shutdown()
        rt.mark_ended()
        self.ended.set()

    # ------------------------------------------------------------ the candidate leaving

    def candidate_left(self, *, final: bool) -> None:
        """The candidate left the room (``final``: for good, no reconnect). What they were
        saying is finished by speech-to-text within ``LEAVE_GRACE_S`` and recorded as
        their turn; then the interview hears of the leave."""
        self._left_for_good = final or (self._leaving_now() and self._left_for_good)
        if self._left_for_good:
            self.runtime.candidate_leaving()
        if not self._leaving_now():
            self._leaving = self._spawn(self._leave(), "interview-candidate-left")

    def candidate_returned(self) -> None:
        """The candidate is back (after a dropped connection): their turn goes on. (One
        who left for good is not: the interview ends, a new job may continue it.)"""
        if self._leaving_now():
            if self._left_for_good:
                return
            if self._leaving is not None:
                self._leaving.cancel()
        self.runtime.candidate_returned()

    async def leave_settled(self) -> None:
        """Until a leave in progress has been passed on to the interview."""
        if self._leaving is not None:
            await asyncio.wait([self._leaving])

    def _leaving_now(self) -> bool:
        return self._leaving is not None and not self._leaving.done()

    async def _leave(self) -> None:
        began = time.monotonic()
        final_came: bool | None = None
        if not self.runtime.terminal and self.heard.awaiting_final():
            self._end_speech()
            final_came = await self.heard.settled(LEAVE_GRACE_S)
        waited = time.monotonic() - began
        words = self._keep_last_words()
        self.runtime.candidate_left(final=self._left_for_good)
        logger.info(
            "candidate left",
            extra={
                "for_good": self._left_for_good,
                "waited_s": round(waited, 3),
                "final_words_came": final_came,
                "last_words": "none" if words is None else "partial" if words.partial else "final",
                "last_words_count": len(words.text.split()) if words is not None else 0,
            },
        )

    def _end_speech(self) -> None:
        """Ask speech-to-text to finish the utterance it holds (no more audio will come)."""
        try:
            agent = self.session.current_agent
        except RuntimeError:
            return
        if isinstance(agent, Interviewer):
            agent.end_speech()

    def _keep_last_words(self) -> LastWords | None:
        """Record the words heard and never committed as the candidate's turn (never
        raises: whatever the words, the leave goes on)."""
        try:
            words = self.heard.take(time.time())
            if words is not None:
                self.runtime.candidate_last_words(
                    f"heard-{uuid.uuid4().hex[:12]}", words.text,
                    started_at=words.started_at, ended_at=words.ended_at, partial=words.partial,
                )  # fmt: skip
            return words
        except Exception as e:
            logger.error("the candidate's last words were not recorded: %s", type(e).__name__)
            return None

    # ------------------------------------------------------------ effects

    def _on_effects(self, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, SilencePrompt):
                self._say(render("say_silence"))
            elif isinstance(effect, StageChanged) and effect.reason == "skip:client":
                self._spawn(self._reprompt(), "interview-reprompt")
            elif isinstance(effect, Ended) and not self._wrap_up_started:
                self._wrap_up_started = True
                self._spawn(self._wrap_up(effect), "interview-wrap-up")
        self.publish_state()

    async def _reprompt(self) -> None:
        """The client skipped a stage: stop the current question, ask the next stage's."""
        try:
            await self.session.interrupt()
            if not self.runtime.terminal:
                self.session.generate_reply()
        except RuntimeError:
            pass  # the session is closing

    def _say(self, text: str) -> SpeechHandle | None:
        try:
            handle = self.session.say(text)
        except RuntimeError:
            return None  # the session is closing
        self.runtime.ignore_speech(handle.id)
        return handle

    async def _wrap_up(self, effect: Ended) -> None:
        rt = self.runtime
        try:
            if effect.ended_by == "client_request":
                with contextlib.suppress(RuntimeError):
                    await self.session.interrupt()
            await self._wait_for_speech()
            prompt = FAREWELL_PROMPTS.get(effect.ended_by)
            if prompt and not rt.closing_done and self._present():
                handle = self._say(render(prompt))
                if handle is not None:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(handle.wait_for_playout(), FAREWELL_TIMEOUT_S)
        except Exception:
            logger.exception("wrap-up failed; finalizing anyway")
        finally:
            rt.mark_ended()
            self.publish_state()
            self.ended.set()

    async def _wait_for_speech(self) -> None:
        for _ in range(10):
            speech = self.session.current_speech
            if speech is None or speech.done():
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(
                    asyncio.shield(speech.wait_for_playout()), FAREWELL_TIMEOUT_S
                )

    def _present(self) -> bool:
        rt = self.runtime
        return rt.ended_by not in SILENT_ENDINGS and rt.end_reason != WITHDRAWN

    # ------------------------------------------------------------ client state

    def publish_state(self, extra: dict[str, Any] | None = None) -> None:
        if self._publish is None:
            return
        version = self.runtime.version
        if extra is None and version == self._published_version:
            return
        self._published_version = version
        state = self.runtime.state()
        if extra:
            state.update(extra)
        self._spawn(self._send(state), "interview-state")

    def publish_saved(self) -> None:
        """Tell the client its interview is in the store (sent before the driver closes)."""
        if self._publish is not None:
            self._spawn(self._send({**self.runtime.state(), "status": "saved"}), "saved")

    async def _send(self, state: dict[str, Any]) -> None:
        if self._publish is None:
            return
        try:
            await self._publish(state)
        except Exception as e:  # the room may be gone; state is best-effort
            logger.debug("state not published: %s", type(e).__name__)
