"""Turn-taking: how long the interviewer waits in a pause, chosen turn by turn.

LiveKit decides that the candidate's turn has ended once the speech has been silent for
its endpointing delay; with a turn detector, the delay is ``min_delay`` when the audio
model hears an ending and ``max_delay`` when it does not. Here both are set to the one
delay :func:`stages.turns.wait_after` chooses for the pause at hand, from the words heard
so far, what the moment calls for (a brief reply or an answer), the audio model's
opinion and this candidate's own pauses; and chosen again whenever one of those changes
(a transcript arrives, the audio model answers, the stage moves), always before LiveKit
reads it.

:class:`InterviewTurnDetector` wraps LiveKit's own end-of-turn model (it keeps running
and still gets the audio), so its opinion is known before the delay is read;
:class:`TurnWatch` follows the session's events and applies the delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from livekit import rtc
from livekit.agents import AgentSession, inference, utils
from livekit.agents.inference import TurnDetectorVersions
from livekit.agents.language import LanguageCode
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions
from livekit.agents.voice.events import (
    AgentStateChangedEvent,
    ConversationItemAddedEvent,
    UserInputTranscribedEvent,
    UserStateChangedEvent,
)
from livekit.agents.voice.turn import TurnDetectionEvent

from interview.record import Interview
from stages.timebox import BOXED_SILENCE_S, BOXED_WAIT_S
from stages.turns import (
    ANSWER_FINISHED_S,
    BRIEF_S,
    Ask,
    PauseProfile,
    Wait,
    answer_complete,
    asks_for,
    wait_after,
)

from .audio import VAD_SILENCE_S, SessionVAD

logger = logging.getLogger("interview.turns")

INTERRUPTION: dict[str, Any] = {
    "enabled": True,
    # a candidate who goes on speaking stops the interviewer within about 0.3 s
    "min_duration": 0.25,
    "resume_false_interruption": True,
    "false_interruption_timeout": 1.5,
}


class TurnWatch:
    """The candidate's turn in progress, as the turn-taking policy needs it."""

    def __init__(self, interview: Interview, vad: SessionVAD | None = None) -> None:
        self.interview = interview
        self.vad = vad
        """The session's VAD: its end-of-speech silence is shortened once the answer is
        past its limit."""
        self.profile = PauseProfile()
        self.finals: list[str] = []
        self.interim = ""
        self.audio_unfinished = False
        self.decisions: list[Wait] = []
        """Each delay applied (for the benchmark and the logs)."""
        self.turn_waits: list[float | None] = []
        """The delay in force when each candidate turn was committed."""
        self._previous = ""
        """The candidate's last committed turn."""
        self._continuing = False
        self._session: AgentSession | None = None
        self._applied: float | None = None
        self._paused_at: float | None = None
        """When the voice stopped, in the pause going on now (monotonic)."""
        self._answered_pause_at: float | None = None
        """When the voice stopped before the pause the interviewer is now answering."""
        self._agent_started_at = 0.0
        self._agent_speaking = False
        self._ask: Ask | None = None
        """What the question this turn answers asked for, fixed when the turn began (the
        turn's provisional commit may move the stage on before the turn ends)."""
        self._clock_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ wiring

    def attach(self, session: AgentSession) -> None:
        self._session = session
        session.on("user_input_transcribed", self._on_transcript)
        session.on("user_state_changed", self._on_user_state)
        session.on("agent_state_changed", self._on_agent_state)
        session.on("conversation_item_added", self._on_item)
        session.on("close", lambda _: self._stop_clock())
        self.apply()

    CLOCK_S = 0.25
    """How often the delay is chosen again while the candidate answers (an answer's time
    limit passes with no event to say so)."""

    def _start_clock(self) -> None:
        if self._clock_task is None or self._clock_task.done():
            self._clock_task = asyncio.get_running_loop().create_task(self._clock())

    def _stop_clock(self) -> None:
        if self._clock_task is not None:
            self._clock_task.cancel()
            self._clock_task = None

    async def _clock(self) -> None:
        while True:
            await asyncio.sleep(self.CLOCK_S)
            self.apply()

    @property
    def text(self) -> str:
        """The turn so far (after the answer it continues, when the candidate went on
        over the interviewer)."""
        earlier = [self._previous] if self._continuing else []
        return " ".join([*earlier, *self.finals, self.interim]).strip()

    # ------------------------------------------------------------ events

    def _on_transcript(self, ev: UserInputTranscribedEvent) -> None:
        if ev.is_final:
            self.finals.append(ev.transcript.strip())
            self.interim = ""
        else:
            self.interim = ev.transcript.strip()
        self.apply()

    OVERLAP_S = 1.0
    """A candidate who starts speaking within this long of the interviewer starting went
    on after their own pause (the interviewer took it for the turn's end); later, they
    are answering or interrupting the reply."""

    def _on_user_state(self, ev: UserStateChangedEvent) -> None:
        now = time.monotonic()
        self._start_clock()
        if ev.new_state == "speaking":
            if self._agent_speaking:
                self._continuing = True  # going on over the interviewer: the same answer
            went_on = self._paused_at is not None and not self._agent_speaking
            talked_over = (
                self._answered_pause_at is not None
                and self._agent_speaking
                and now - self._agent_started_at < self.OVERLAP_S
            )
            if went_on or talked_over:
                # the candidate went on after a pause: the interviewer did not fill it, or
                # it started to and the candidate went on over it (a pause inside the turn)
                started = self._paused_at if went_on else self._answered_pause_at
                assert started is not None
                self.profile.observe(now - started, words_complete=answer_complete(self.text))
            self._paused_at = self._answered_pause_at = None
            self.audio_unfinished = False
        elif ev.new_state == "listening" and ev.old_state == "speaking":
            # the VAD ends a stretch of speech after its silence: the pause began then
            self._paused_at = now - self._vad_silence_s()

    def _vad_silence_s(self) -> float:
        return self.vad.silence_s if self.vad is not None else VAD_SILENCE_S

    def _on_agent_state(self, ev: AgentStateChangedEvent) -> None:
        self._agent_speaking = ev.new_state == "speaking"
        if self._agent_speaking:
            self._agent_started_at = time.monotonic()
            # a pause the interviewer answered was the turn's end, unless the candidate
            # goes on over the reply's first words
            self._answered_pause_at, self._paused_at = self._paused_at, None

    def _on_item(self, ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if getattr(item, "type", None) == "message" and getattr(item, "role", None) == "user":
            self.turn_waits.append(self._applied)  # the wait that ended this turn
            self._previous = self.text or self._previous
            self.finals, self.interim, self.audio_unfinished = [], "", False
            self._continuing = False
            self._ask = None
        elif getattr(item, "type", None) == "message" and not self._continuing:
            self._ask = None  # a new question: asked again when the candidate starts
        self.apply()

    def heard_audio_opinion(self, unfinished: bool) -> None:
        """The audio end-of-turn model answered for the current pause."""
        self.audio_unfinished = unfinished
        self.apply()

    # ------------------------------------------------------------ the delay

    def asked(self) -> Ask:
        """What the question on the table asks for (the one this turn answers)."""
        if self._ask is None:
            rt = self.interview
            ask = asks_for(rt.last_question, rt.stage, pending_end=rt.pending_end)
            if not self.text:
                return ask  # not fixed until the candidate has said something
            self._ask = ask
        return self._ask

    def decide(self) -> Wait:
        ask = self.asked()
        if not self.text:
            return Wait(BRIEF_S if ask is Ask.BRIEF else ANSWER_FINISHED_S, "nothing heard yet")
        if self.interview.answer_overtime() and answer_complete(self.text):
            return Wait(BOXED_WAIT_S, "past the answer's time limit, at the end of a sentence")
        return wait_after(
            self.text, ask=ask, profile=self.profile, audio_unfinished=self.audio_unfinished
        )

    def apply(self) -> None:
        if self._session is None:
            return
        if self.vad is not None:
            overtime = bool(self.text) and self.interview.answer_overtime()
            self.vad.end_speech_after(BOXED_SILENCE_S if overtime else None)
        wait = self.decide()
        if wait.seconds == self._applied:
            return
        self._applied = wait.seconds
        self.decisions.append(wait)
        logger.debug("turn wait %.2fs (%s)", wait.seconds, wait.reason)
        with contextlib.suppress(RuntimeError):  # the session is closing
            self._session.update_options(
                endpointing_opts={"mode": "fixed", "min_delay": wait.seconds,
                                  "max_delay": wait.seconds}
            )  # fmt: skip


def eot_version() -> TurnDetectorVersions:
    """The end-of-turn model: LiveKit Cloud's own where the worker is hosted there, else the
    local one. (LiveKit's default also picks the cloud model in ``dev`` and ``console``,
    which a self-hosted or offline worker cannot reach: development would then behave
    unlike production, and the console warn at every start.)"""
    return "v1" if utils.is_hosted() else "v1-mini"


class InterviewTurnDetector:
    """LiveKit's end-of-turn model, with its opinion passed to the :class:`TurnWatch`
    before LiveKit reads the endpointing delay. (A LiveKit streaming turn detector.)"""

    def __init__(self, watch: TurnWatch, inner: Any | None = None) -> None:
        self.watch = watch
        self.inner = inner if inner is not None else inference.TurnDetector(version=eot_version())

    @property
    def model(self) -> str:
        return str(self.inner.model)

    @property
    def provider(self) -> str:
        return str(self.inner.provider)

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> _WatchedStream:
        return _WatchedStream(self.inner.stream(conn_options=conn_options), self.watch)


class _WatchedStream:
    def __init__(self, inner: Any, watch: TurnWatch) -> None:
        self._inner = inner
        self._watch = watch
        self._threshold: float | None = None

    @property
    def model(self) -> str:
        return str(self._inner.model)

    @property
    def provider(self) -> str:
        return str(self._inner.provider)

    @property
    def is_fallback(self) -> bool:
        return bool(self._inner.is_fallback)

    @property
    def prediction_timeout(self) -> float:
        return float(self._inner.prediction_timeout)

    async def unlikely_threshold(self, language: LanguageCode | None) -> float | None:
        self._threshold = await self._inner.unlikely_threshold(language)
        return self._threshold

    async def backchannel_threshold(self, language: LanguageCode | None) -> float | None:
        return await self._inner.backchannel_threshold(language)  # type: ignore[no-any-return]

    async def supports_language(self, language: LanguageCode | None) -> bool:
        return True  # the words and the pauses are judged in every language

    def predict(self) -> asyncio.Future[TurnDetectionEvent]:
        inner: asyncio.Future[TurnDetectionEvent] = self._inner.predict()
        out: asyncio.Future[TurnDetectionEvent] = asyncio.get_running_loop().create_future()

        def relay(f: asyncio.Future[TurnDetectionEvent]) -> None:
            if out.done():
                return
            if f.cancelled():
                out.cancel()
                return
            if (exc := f.exception()) is not None:
                out.set_exception(exc)
                return
            event = f.result()
            threshold = self._threshold if self._threshold is not None else 0.5
            self._watch.heard_audio_opinion(event.end_of_turn_probability < threshold)
            out.set_result(event)

        inner.add_done_callback(relay)
        out.add_done_callback(lambda o: inner.cancel() if o.cancelled() else None)
        return out

    def cancel_inference(self, *, timed_out: bool = False) -> None:
        self._inner.cancel_inference(timed_out=timed_out)

    def flush(self, reason: str | None = None) -> None:
        self._inner.flush(reason=reason)

    def push_audio(self, frame: rtc.AudioFrame) -> None:
        self._inner.push_audio(frame)

    def end_input(self) -> None:
        self._inner.end_input()

    async def aclose(self) -> None:
        await self._inner.aclose()


def voice_turn_handling(watch: TurnWatch) -> dict[str, Any]:
    """The production turn handling for a voice interview."""
    return {
        "turn_detection": InterviewTurnDetector(watch),
        "endpointing": {"mode": "fixed", "min_delay": BRIEF_S, "max_delay": BRIEF_S},
        "interruption": dict(INTERRUPTION),
        "preemptive_generation": {"enabled": True},
    }
