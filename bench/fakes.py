"""Providers with fixed, known latencies, a real-time microphone, and an audio sink that
timestamps frames.

For benchmarks (and the voice-path tests) only: they let us measure the time the agent
adds on top of its providers, which is the part this project controls.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from livekit import rtc
from livekit.agents import APIConnectOptions, llm, tts, utils
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS
from livekit.agents.voice.io import AudioInput, AudioOutput, AudioOutputCapabilities

from agent.local_llm import LocalLLM

SAMPLE_RATE = 24000


class FixedLatencyLLM(LocalLLM):
    """Answers after ``ttft`` seconds with the text ``reply(chat_ctx)``; records contexts."""

    def __init__(self, reply: Callable[[llm.ChatContext], str], *, ttft: float) -> None:
        super().__init__()
        self.reply = reply
        self.ttft = ttft
        self.contexts: list[llm.ChatContext] = []
        self.actual_ttft: list[float] = []

    @property
    def model(self) -> str:
        return "fixed-latency"

    async def respond(self, chat_ctx: llm.ChatContext) -> str:
        start = time.perf_counter()
        self.contexts.append(chat_ctx)
        text = self.reply(chat_ctx)
        await asyncio.sleep(self.ttft)
        self.actual_ttft.append(time.perf_counter() - start)
        return text


class FixedLatencyTTS(tts.TTS):
    """First audio ``ttfb`` seconds after the request; 20 ms frames of silence after."""

    def __init__(self, *, ttfb: float, audio_s: float = 0.2) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=SAMPLE_RATE,
            num_channels=1,
        )
        self.ttfb = ttfb
        self.audio_s = audio_s
        self.actual_ttfb: list[float] = []

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _Chunked(tts=self, input_text=text, conn_options=conn_options)


class _Chunked(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        fake: FixedLatencyTTS = self._tts  # type: ignore[assignment]
        start = time.perf_counter()
        output_emitter.initialize(
            request_id=utils.shortuuid(), sample_rate=SAMPLE_RATE, num_channels=1,
            mime_type="audio/pcm",
        )  # fmt: skip
        await asyncio.sleep(fake.ttfb)
        fake.actual_ttfb.append(time.perf_counter() - start)
        output_emitter.push(b"\x00\x00" * int(SAMPLE_RATE * fake.audio_s))
        output_emitter.flush()


class TimedAudioOutput(AudioOutput):
    """Records when each playout's first frame arrives; 'plays' instantly."""

    def __init__(self) -> None:
        super().__init__(
            label="timed", capabilities=AudioOutputCapabilities(pause=False), sample_rate=None
        )
        self.first_frames: list[float] = []
        self.first_frame = asyncio.Event()
        self._new_segment = asyncio.Event()
        self._in_segment = False
        self._pushed = 0.0

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if not self._in_segment:
            self._in_segment = True
            self.first_frames.append(time.perf_counter())
            self.first_frame.set()
            self._new_segment.set()
            self.on_playback_started(created_at=time.time())
        self._pushed += frame.duration

    async def segments_at_least(self, n: int) -> None:
        """Until ``n`` playouts have started."""
        while len(self.first_frames) < n:
            self._new_segment.clear()
            await self._new_segment.wait()

    def flush(self) -> None:
        super().flush()
        if self._in_segment:
            pushed, self._pushed, self._in_segment = self._pushed, 0.0, False
            self.on_playback_finished(
                playback_position=pushed, interrupted=False, synchronized_transcript=None
            )

    def clear_buffer(self) -> None:
        if self._in_segment:
            pushed, self._pushed, self._in_segment = self._pushed, 0.0, False
            self.on_playback_finished(
                playback_position=pushed, interrupted=True, synchronized_transcript=None
            )


MIC_FRAME_S = 0.02


def frames_of(pcm: bytes, rate: int, frame_s: float = MIC_FRAME_S) -> list[rtc.AudioFrame]:
    """16-bit mono ``pcm`` as frames of ``frame_s`` (the last one padded with silence)."""
    step = int(rate * frame_s)
    pcm += b"\x00\x00" * (-(len(pcm) // 2) % step)
    return [
        rtc.AudioFrame(pcm[i : i + 2 * step], rate, 1, step) for i in range(0, len(pcm), 2 * step)
    ]


class Microphone(AudioInput):
    """The candidate's microphone: silence in real time, speech when asked."""

    def __init__(self, rate: int = 22050, frame_s: float = MIC_FRAME_S) -> None:
        super().__init__(label="microphone")
        self.rate, self.frame_s = rate, frame_s
        self._ch: utils.aio.Chan[rtc.AudioFrame] = utils.aio.Chan()
        self._queue: list[rtc.AudioFrame] = []
        self._spoken = asyncio.Event()
        n = int(rate * frame_s)
        self._silence = rtc.AudioFrame(b"\x00\x00" * n, rate, 1, n)
        self._task: asyncio.Task[None] | None = None
        self.spoke_until: list[float] = []
        """``time.perf_counter()`` when each utterance's last frame went out (a frame goes
        out when its last sample has been spoken, as a room delivers it)."""

    async def __anext__(self) -> rtc.AudioFrame:
        return await self._ch.__anext__()

    def on(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def off(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._ch.close()

    async def say(self, frames: list[rtc.AudioFrame]) -> float:
        """Speak; returns when the last frame went out (``time.perf_counter()``)."""
        self._spoken.clear()
        self._queue.extend(frames)
        await self._spoken.wait()
        return self.spoke_until[-1]

    async def speak(self, pcm: bytes) -> float:
        """Speak 16-bit ``pcm`` at the microphone's rate in its frames; returns when its last
        sample was spoken (the padding of the last frame left out)."""
        frames = frames_of(pcm, self.rate, self.frame_s)
        padding = sum(f.samples_per_channel for f in frames) - len(pcm) // 2
        return await self.say(frames) - padding / self.rate

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_t = loop.time()
        while True:
            next_t += self.frame_s
            await asyncio.sleep(max(0.0, next_t - loop.time()))
            if self._queue:
                frame = self._queue.pop(0)
                if not self._queue:
                    self.spoke_until.append(time.perf_counter())
                    self._spoken.set()
            else:
                frame = self._silence
            self._ch.send_nowait(frame)


class Speaker(AudioOutput):
    """The candidate's loudspeaker: plays the interviewer's audio in real time and keeps
    when it was playing (``perf_counter`` intervals). Stopping (LiveKit clears the buffer
    when the candidate interrupts) takes effect at once, as on a real device."""

    def __init__(self) -> None:
        super().__init__(
            label="speaker", capabilities=AudioOutputCapabilities(pause=False), sample_rate=None
        )
        self.played: list[tuple[float, float]] = []
        """(start, end) of each stretch of audio that was heard."""
        self.interrupted_at: list[float] = []
        self._frames: asyncio.Queue[rtc.AudioFrame | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._position = 0.0
        self._started: float | None = None
        self.started = asyncio.Event()
        """Set when a stretch of audio starts playing (clear it to wait for the next)."""

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._task is None or self._task.done():
            self._position, self._started = 0.0, None
            self._frames = asyncio.Queue()
            self._task = asyncio.create_task(self._play(self._frames))
        self._frames.put_nowait(frame)

    def flush(self) -> None:
        super().flush()
        if self._task is not None and not self._task.done():
            self._frames.put_nowait(None)  # the segment's input is complete

    def clear_buffer(self) -> None:
        if self._task is None or self._task.done():
            return
        self._task.cancel()
        now = time.perf_counter()
        if self._started is not None:
            self.played.append((self._started, now))
        self.interrupted_at.append(now)
        self._task = None
        self.on_playback_finished(
            playback_position=self._position, interrupted=True, synchronized_transcript=None
        )

    @property
    def playing(self) -> bool:
        return self._task is not None and not self._task.done() and self._started is not None

    async def _play(self, frames: asyncio.Queue[rtc.AudioFrame | None]) -> None:
        loop = asyncio.get_running_loop()
        next_t = loop.time()
        while (frame := await frames.get()) is not None:
            if self._started is None:
                self._started = time.perf_counter()
                self.started.set()
                self.on_playback_started(created_at=time.time())
                next_t = loop.time()
            next_t += frame.duration
            self._position += frame.duration
            await asyncio.sleep(max(0.0, next_t - loop.time()))
        if self._started is not None:
            self.played.append((self._started, time.perf_counter()))
        self.on_playback_finished(
            playback_position=self._position, interrupted=False, synchronized_transcript=None
        )
