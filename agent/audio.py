"""What the worker hears: the tracks it subscribes to (the microphones, nothing else), the
audio format it asks the room for, and the voice activity detector (VAD) that listens to
it.

The choices are measured (docs/PERFORMANCE.md, section 4): every model in the session
works at 16 kHz (the VAD, LiveKit's end-of-turn model and Deepgram's default), so the room
delivers 16 kHz instead of LiveKit's default 24 kHz, which each of them would resample;
and the VAD is LiveKit's native one (``livekit-local-inference``, the same Silero model in
native code, shared by every job process of a worker) run inline on the session's event
loop: one 32 ms window costs ~20 µs, less than the hand-off to a thread it would otherwise
make 31 times a second. The Silero plugin (ONNX Runtime, one model per process) stays a
setting: ``VAD_ENGINE=silero``.
"""

from __future__ import annotations

import weakref
from concurrent.futures import Executor, Future
from typing import Any, Literal, TypeVar

from livekit import rtc
from livekit.agents import inference, room_io, vad
from livekit.agents.job import DEFAULT_PARTICIPANT_KINDS

VadEngine = Literal["livekit", "silero"]
VAD_NAMES: dict[VadEngine, str] = {
    "livekit": "silero (livekit-local-inference)",
    "silero": "silero (livekit-plugins-silero)",
}
"""How the saved conversation names the VAD (``models.vad``)."""

VAD_SILENCE_S = 0.55
"""Silence that ends a speech segment for the VAD; the turn itself is decided later
(agent/turn_taking.py)."""
ROOM_SAMPLE_RATE = 16000
ROOM_FRAME_MS = 50
"""LiveKit's default frame size for room audio input: 100 ms frames cost less CPU but
deliver the end of an answer up to 50 ms later on average (docs/PERFORMANCE.md)."""

T = TypeVar("T")


class InlineExecutor(Executor):
    """Runs each call at once on the calling thread and hands back a finished future.

    For work shorter than a thread hand-off: the native VAD's 20 µs window. Never for
    anything that blocks."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        done: Future[Any] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as e:  # the awaiting coroutine gets it, as from a thread
            done.set_exception(e)
        return done


INLINE = InlineExecutor()


def load_vad(engine: VadEngine = "livekit") -> vad.VAD:
    """The VAD for one job process (built in the prewarm, shared by its sessions)."""
    if engine == "silero":
        from livekit.plugins import silero

        return silero.VAD.load(min_silence_duration=VAD_SILENCE_S)
    return inference.VAD(min_silence_duration=VAD_SILENCE_S, executor=INLINE)


class SessionVAD(vad.VAD):
    """One session's view of its process's shared VAD: the session's own streams, whose
    end-of-speech silence it can change without touching the other sessions' (LiveKit's
    ``update_options`` on the shared VAD would change every session's).

    Also keeps the shared VAD's metrics to the session that made them: LiveKit subscribes
    each session to its VAD's ``metrics_collected``, and the shared VAD's go to all."""

    def __init__(self, inner: vad.VAD) -> None:
        super().__init__(capabilities=inner.capabilities)
        self.inner = inner
        default = getattr(inner, "min_silence_duration", None)
        self.default_silence_s = float(default) if default is not None else VAD_SILENCE_S
        self.silence_s = self.default_silence_s
        self._streams: weakref.WeakSet[vad.VADStream] = weakref.WeakSet()

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def provider(self) -> str:
        return self.inner.provider

    def stream(self) -> vad.VADStream:
        stream = self.inner.stream()
        if self.silence_s != self.default_silence_s:
            _set_silence(stream, self.silence_s)
        self._streams.add(stream)
        return stream

    def end_speech_after(self, seconds: float | None) -> None:
        """End a stretch of speech after ``seconds`` of silence from now on (``None``: the
        VAD's own setting)."""
        value = self.default_silence_s if seconds is None else seconds
        if value == self.silence_s:
            return
        self.silence_s = value
        for stream in list(self._streams):
            _set_silence(stream, value)


def _set_silence(stream: vad.VADStream, seconds: float) -> None:
    update = getattr(stream, "update_options", None)
    if update is not None:  # both LiveKit VADs' streams have it
        update(min_silence_duration=seconds)


def room_audio_input() -> room_io.AudioInputOptions:
    """The room's audio for a session: 16 kHz mono in LiveKit's 50 ms frames, as the
    candidate's microphone sent it.

    No gain control of our own: the browser's already levels the microphone (LiveKit's
    client SDKs ask for it by default, and our page asks for it by name), and the VAD
    hears speech the same from -20 to -50 dBFS without it (tests/test_quiet_voice.py).
    LiveKit's default, a WebRTC audio-processing pass on every frame, costs 0.0022 cores
    per interview (docs/PERFORMANCE.md, section 4)."""
    return room_io.AudioInputOptions(
        sample_rate=ROOM_SAMPLE_RATE, frame_size_ms=ROOM_FRAME_MS, auto_gain_control=False
    )


def hear_microphones(room: rtc.Room) -> None:
    """Subscribe to the microphones of the room's people, as they publish them, and to
    nothing else: the room was joined with no automatic subscription.

    The session hears only a microphone (LiveKit's room input takes no other source), and
    only from the kinds of participant it links to. A camera subscribed to is decoded all
    the same, with nothing to show it to: a candidate's page that shows its own camera
    would cost 0.023-0.035 cores per interview, about a third more (docs/PERFORMANCE.md,
    section 4). Screen shares and other agents' tracks are left alone for the same
    reason."""

    def hear(publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant) -> None:
        if (
            publication.source == rtc.TrackSource.SOURCE_MICROPHONE
            and participant.kind in DEFAULT_PARTICIPANT_KINDS
            and not publication.subscribed
        ):
            publication.set_subscribed(True)

    for participant in room.remote_participants.values():
        for publication in participant.track_publications.values():
            hear(publication, participant)
    room.on("track_published", hear)
