"""The candidate's words heard but not yet committed as a turn.

Speech-to-text hands LiveKit interim words while the candidate speaks and final words
for each stretch of speech; LiveKit commits the turn (a chat message) only once it has
decided the turn is over. A candidate who hangs up mid-answer leaves words that were
heard but never committed: :class:`HeardWords` keeps them, from the transcription events,
until the turn is committed, so they can be recorded when the candidate leaves.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LastWords:
    """What was heard of a turn that was never committed."""

    text: str
    started_at: float
    ended_at: float
    partial: bool
    """Only interim words: the final transcript of the last stretch never came."""


class HeardWords:
    def __init__(self) -> None:
        self.finals: list[str] = []
        self.interim = ""
        self.started_at: float | None = None
        self.last_at: float | None = None
        self._speech_started_at: float | None = None
        """When the speech going on now started (``None``: the candidate is silent)."""
        self._settled = asyncio.Event()
        """Set when the last stretch of speech has its final transcript."""
        self._settled.set()

    # ------------------------------------------------------------ events

    def transcribed(self, text: str, *, final: bool, at: float) -> None:
        """A transcription event: interim words (replacing the last interim ones) or the
        final words of a stretch of speech."""
        text = text.strip()
        if not text:
            return
        if self.started_at is None:
            self.started_at = at if self._speech_started_at is None else self._speech_started_at
        self.last_at = at
        if final:
            self.finals.append(text)
            self.interim = ""
            self._settled.set()
        else:
            self.interim = text
            self._settled.clear()

    def speaking(self, now: bool, *, at: float) -> None:
        """The voice activity detector heard speech start (``now``) or stop."""
        self._speech_started_at = at if now else None

    def committed(self, text: str) -> None:
        """LiveKit committed a turn of ``text``: the words it holds are no longer pending
        (words heard after them, for the next turn, stay)."""
        self.finals = [f for f in self.finals if f not in text]
        if self.interim and self.interim in text:
            self.interim = ""
            self._settled.set()
        if not self.finals and not self.interim:
            self.started_at = self.last_at = None

    # ------------------------------------------------------------ at the leave

    def awaiting_final(self) -> bool:
        """Speech-to-text owes a final transcript: interim words are pending, or speech is
        going on that nothing has been transcribed of yet."""
        if self.interim:
            return True
        speech = self._speech_started_at
        return speech is not None and (self.last_at is None or self.last_at < speech)

    async def settled(self, limit_s: float) -> bool:
        """Until the pending speech has its final transcript (``False``: not within
        ``limit_s``)."""
        if not self.interim:
            self._settled.clear()  # speech with no words yet: its first final settles it
        try:
            await asyncio.wait_for(self._settled.wait(), limit_s)
        except TimeoutError:
            return False
        return True

    def take(self, now: float) -> LastWords | None:
        """The pending words, once (``None`` when there are none)."""
        text = " ".join([*self.finals, self.interim]).strip()
        words = None
        if text:
            started = self.started_at if self.started_at is not None else now
            ended = self.last_at if self.last_at is not None else now
            words = LastWords(text, started, ended, partial=bool(self.interim))
        self.finals, self.interim = [], ""
        self.started_at = self.last_at = None
        self._settled.set()
        return words
