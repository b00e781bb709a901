"""Ending the utterance speech-to-text holds when the candidate's audio stops for good.

A streaming speech-to-text service sends the final words of an utterance once it hears
the silence that ends it (Deepgram: ``endpointing`` ms). When the candidate hangs up in
the middle of speaking, their track goes away and no more audio comes at all: the
service keeps waiting, and the final words never come. :class:`SpeechEnd` sits between
the room's audio and the speech-to-text stream and, when asked, follows the last frame
with a short silence, which ends the utterance as a pause would. This works with any
streaming service (the Deepgram plugin declares no flush request of its own; LiveKit
finalizes such a service the same way when a session closes).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator

from livekit import rtc

SILENCE_S = 1.0
"""Silence sent to end an utterance: more than any endpointing the worker sets (300 ms)."""
SILENCE_FRAME_S = 0.05


class _End:
    pass


_END = _End()


def _silence(like: rtc.AudioFrame, seconds: float) -> list[rtc.AudioFrame]:
    rate, channels = like.sample_rate, like.num_channels
    n = max(1, int(rate * SILENCE_FRAME_S))
    count = max(1, round(seconds / SILENCE_FRAME_S))
    return [rtc.AudioFrame(bytes(2 * n * channels), rate, channels, n) for _ in range(count)]


class SpeechEnd:
    """Audio on its way to speech-to-text, with a silence added on request."""

    def __init__(self, silence_s: float = SILENCE_S) -> None:
        self.silence_s = silence_s
        self._queues: set[asyncio.Queue[rtc.AudioFrame | _End | BaseException | None]] = set()

    def request(self) -> None:
        """End the utterance in progress: a silence follows the frames already sent."""
        for queue in self._queues:
            queue.put_nowait(_END)

    async def audio(self, frames: AsyncIterable[rtc.AudioFrame]) -> AsyncIterator[rtc.AudioFrame]:
        """``frames``, passed on as they come, and a silence after each request (in the
        format of the last frame; nothing before the first)."""
        queue: asyncio.Queue[rtc.AudioFrame | _End | BaseException | None] = asyncio.Queue()

        async def pump() -> None:
            try:
                async for frame in frames:
                    queue.put_nowait(frame)
            except Exception as e:  # handed to the reader, raised there
                queue.put_nowait(e)
            else:
                queue.put_nowait(None)

        self._queues.add(queue)
        task = asyncio.create_task(pump(), name="speech-to-text-audio")
        last: rtc.AudioFrame | None = None
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, _End):
                    for frame in _silence(last, self.silence_s) if last is not None else []:
                        yield frame
                    continue
                last = item
                yield item
        finally:
            self._queues.discard(queue)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
