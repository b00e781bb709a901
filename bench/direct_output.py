"""The interviewer's voice on LiveKit's direct audio source, sent only while there is
something to say: the room output measured by ``bench.voice_playout`` against LiveKit's
own, and not taken (docs/PERFORMANCE.md, section 4, "The agent's track while it is
silent").

LiveKit's room output feeds its track from a queued ``rtc.AudioSource`` (200 ms) whose
native clock hands WebRTC 10 ms of silence every 10 ms while the queue is empty, and
WebRTC encodes it: 0.014 cores for each silent interviewer (``bench.agent_track``). Here
the source is the direct one (``queue_size_ms=0``: each 10 ms frame straight to WebRTC,
nothing while there is none), paced on the loop by :class:`PacedAudioSource`; the rest is
LiveKit's room output. With ``mute_while_silent`` the track is also muted between replies,
so that the LiveKit server re-times the stream when it resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from livekit import rtc
from livekit.agents.voice.room_io._output import _ParticipantAudioOutput

VOICE_SAMPLE_RATE = 24000
"""LiveKit's room output rate, which the voices deliver without resampling."""
QUEUE_S = 0.2
"""Audio held before ``capture_frame`` waits, as LiveKit's room output holds."""
LEAD_S = 0.01
"""How far ahead of the clock the voice is kept in WebRTC (40 and 20 ms were tried too:
the browser's jitter buffer grew with them)."""
BURST_S = 0.01
"""Fed at each wake: one 10 ms frame, as LiveKit's native queue feeds."""
FRAME_S = 0.01
TAIL_S = 0.1
"""WebRTC takes audio in 10 ms frames; the direct source takes nothing else."""

logger = logging.getLogger("bench.direct_output")


class PacedAudioSource(rtc.AudioSource):
    """LiveKit's direct audio source with the queue its queued sibling keeps natively:
    ``capture_frame`` holds up to :data:`QUEUE_S` and waits beyond it, a pacer hands
    WebRTC 10 ms frames as the clock reaches them (kept :data:`LEAD_S` ahead), and
    nothing at all while nothing is held: no silence is made, encoded or sent.

    ``queued_duration``, ``clear_queue`` and ``wait_for_playout`` keep the meaning LiveKit's
    room output reads them with: held audio plus what WebRTC has not yet played."""

    def __init__(
        self,
        sample_rate: int,
        num_channels: int,
        *,
        queue_s: float = QUEUE_S,
        lead_s: float = LEAD_S,
        burst_s: float = BURST_S,
    ) -> None:
        super().__init__(sample_rate, num_channels, queue_size_ms=0)
        self._frame_samples = int(sample_rate * FRAME_S)
        self._frame_bytes = self._frame_samples * num_channels * 2
        self._bytes_per_s = sample_rate * num_channels * 2
        self._queue_bytes = int(queue_s * self._bytes_per_s)
        self._lead_s = lead_s
        self._burst_s = burst_s
        self._held = bytearray()
        self._silence = rtc.AudioFrame(
            bytes(self._frame_bytes), sample_rate, num_channels, self._frame_samples
        )
        self._speaking = False
        self._fed_until = 0.0  # loop time at which what WebRTC holds has played
        self._arrived = asyncio.Event()
        self._has_room = asyncio.Event()
        self._has_room.set()
        self._drained = asyncio.Event()
        self._drained.set()
        self._pacer: asyncio.Task[None] | None = None
        self._closed = False
        self.on_speaking: Callable[[], Awaitable[None]] | None = None
        """Awaited before the first frame of a run of speech is fed."""
        self.on_silent: Callable[[], Awaitable[None]] | None = None
        """Awaited once a run has played out (trailed by :data:`TAIL_S` of silence)."""

    @property
    def queued_duration(self) -> float:
        in_webrtc = max(self._fed_until - self._loop.time(), 0.0)
        return len(self._held) / self._bytes_per_s + in_webrtc

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        if frame.samples_per_channel == 0 or self._closed:
            return
        self._held += frame.data.tobytes()
        self._drained.clear()
        self._arrived.set()
        if self._pacer is None:
            self._pacer = asyncio.create_task(self._pace(), name="voice_pacer")
        while len(self._held) > self._queue_bytes and not self._closed:
            self._has_room.clear()
            await self._has_room.wait()

    def clear_queue(self) -> None:
        """Drop what is held; what WebRTC holds (under ``LEAD_S + BURST_S``) plays."""
        self._held.clear()
        self._drained.set()
        self._has_room.set()

    async def wait_for_playout(self) -> None:
        await self._drained.wait()
        remaining = self._fed_until - self._loop.time()
        if remaining > 0:
            await asyncio.sleep(remaining)

    async def aclose(self) -> None:
        self._closed = True
        self.clear_queue()
        if self._pacer is not None:
            self._pacer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pacer
        await super().aclose()

    async def _pace(self) -> None:
        loop = self._loop
        while not self._closed:
            if not self._held:
                self._drained.set()
                self._arrived.clear()
                if self._speaking:
                    await self._end_run()
                    continue
                await self._arrived.wait()
                continue
            now = loop.time()
            if self._fed_until < now:  # a new run of speech starts on the clock
                if not self._speaking:
                    self._speaking = True
                    if self.on_speaking is not None:
                        await self.on_speaking()
                    now = loop.time()
                self._fed_until = now
            ahead = self._fed_until - now
            if ahead > self._lead_s:
                await asyncio.sleep(ahead - self._lead_s)
                continue
            while self._held and self._fed_until - now < self._lead_s + self._burst_s:
                await self._feed(self._take_frame())
            if len(self._held) <= self._queue_bytes:
                self._has_room.set()

    async def _end_run(self) -> None:
        """The run's last audio is fed: a short silence after it (the browser then fades
        out silence, not a word), and once that has played, ``on_silent``."""
        for _ in range(round(TAIL_S / FRAME_S)):
            if self._held:  # more speech came: the run goes on
                return
            now = self._loop.time()
            ahead = self._fed_until - now
            if ahead > self._lead_s:
                await asyncio.sleep(ahead - self._lead_s)
                continue
            await self._feed(self._silence)
        await asyncio.sleep(max(self._fed_until - self._loop.time(), 0.0))
        if self._held:
            return
        self._speaking = False
        if self.on_silent is not None:
            await self.on_silent()

    def _take_frame(self) -> rtc.AudioFrame:
        chunk = bytes(self._held[: self._frame_bytes])
        del self._held[: self._frame_bytes]
        if len(chunk) < self._frame_bytes:  # the end of a reply: padded to a whole frame
            chunk += bytes(self._frame_bytes - len(chunk))
        return rtc.AudioFrame(chunk, self.sample_rate, self.num_channels, self._frame_samples)

    async def _feed(self, frame: rtc.AudioFrame) -> None:
        self._fed_until += FRAME_S
        try:
            await super().capture_frame(frame)
        except Exception as e:  # a frame WebRTC refused is lost, not the pacer
            logger.warning("a frame of the interviewer's voice was dropped: %s", e)


class DirectRoomOutput(_ParticipantAudioOutput):
    """LiveKit's room audio output on a :class:`PacedAudioSource`, its track muted between
    replies with ``mute_while_silent``."""

    def __init__(
        self, room: rtc.Room, *, mute_while_silent: bool, sample_rate: int = VOICE_SAMPLE_RATE
    ) -> None:
        super().__init__(
            room,
            sample_rate=sample_rate,
            num_channels=1,
            track_publish_options=rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE),
        )
        paced = PacedAudioSource(sample_rate, 1)
        if mute_while_silent:
            paced.on_speaking, paced.on_silent = self._unmute, self._mute
        # the queued source LiveKit's output built is never published: released now
        self._audio_source._ffi_handle.dispose()
        self._audio_source = paced

    async def _unmute(self) -> None:
        if self._publication is not None and self._publication.track is not None:
            self._publication.track.unmute()

    async def _mute(self) -> None:
        if self._publication is not None and self._publication.track is not None:
            self._publication.track.mute()
