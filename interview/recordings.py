"""The candidate's answers as audio, kept only with their consent (``record_audio``).

While the interview runs, the audio the speech-to-text hears is appended to a private
spool file (written off the event loop, about once a second, so memory stays small and
no write happens in the audio path). When the interview has ended and its transcript is
saved, each answer's stretch of that audio (its speech times, padded) becomes one WAV
file under ``<recordings>/<user_id>/<interview_id>/<NN>.wav``; the spool is deleted.

Where they live next (docs/RECORDINGS.md): with Supabase, the bucket ``interview-audio``
at the same path (the per-user folder its policies guard), uploaded after the rows and
retried by the worker's flusher while the store is down; the local copy is deleted once
uploaded. Without Supabase, the files stay where they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

logger = logging.getLogger("interview.recordings")

PAD_BEFORE_S = 0.4
PAD_AFTER_S = 0.4
"""Speech times come from the voice activity detector: a little on either side keeps
the first and last syllables."""
FLUSH_EVERY_S = 1.0
LOCAL_USER = "local"
"""The folder of interviews saved without a user (local practice)."""
SPOOL = ".spool"


@dataclass(frozen=True, slots=True)
class _Anchor:
    sample: int
    """Index (in samples) of the first sample of a run of audio..."""
    at: float
    """...and the time it was heard (the run's samples follow it in real time)."""


def storage_path(user_id: str | None, interview_id: str, n: int) -> str:
    """Where answer ``n`` (1-based) of an interview lives, in the bucket and locally."""
    return f"{user_id or LOCAL_USER}/{interview_id}/{n:02d}.wav"


def _private_dir(path: Path) -> None:
    """Create ``path`` and any missing folder above it ``0700`` (existing ones are left as
    they are)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)


def wav_bytes(pcm: bytes, rate: int, channels: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


class AnswerRecorder:
    """Audio of one interview, for its answers. ``feed`` is called from the audio path
    (never blocks); ``save_answers`` once, at the end."""

    def __init__(self, root: Path, interview_id: str) -> None:
        self.root = root
        self.interview_id = interview_id
        self.spool = root / SPOOL / f"{interview_id}.pcm"
        self.rate: int | None = None
        self.channels = 1
        self._pending: list[bytes] = []
        self._samples = 0
        self._anchors: list[_Anchor] = []
        self._expected_at: float | None = None
        self._writer: asyncio.Task[None] | None = None
        self._last_flush = 0.0
        self.failed: str | None = None

    # ------------------------------------------------------------ while it runs

    def feed(self, pcm: bytes, rate: int, channels: int, at: float) -> None:
        """One frame of 16-bit audio (``pcm``) heard at ``at`` (wall-clock seconds, the
        frame's end). Frames in another format than the first are ignored."""
        if self.failed is not None or not pcm:
            return
        if self.rate is None:
            self.rate, self.channels = rate, channels
        elif (rate, channels) != (self.rate, self.channels):
            return
        n = len(pcm) // (2 * channels)
        start = at - n / rate
        # a new anchor when the audio does not follow on in time (a gap, a reconnect)
        if self._expected_at is None or abs(start - self._expected_at) > 0.25:
            self._anchors.append(_Anchor(self._samples, start))
        self._expected_at = at
        self._pending.append(pcm)
        self._samples += n
        if at - self._last_flush >= FLUSH_EVERY_S and (self._writer is None or self._writer.done()):
            self._last_flush = at
            self._writer = asyncio.get_running_loop().create_task(self._flush())

    async def flush(self) -> None:
        """Wait until everything fed so far is in the spool, or the spool failed (then
        ``failed`` says why). One write at a time: the spool's order is the audio's."""
        if self._writer is not None:
            await self._writer
        self._writer = asyncio.get_running_loop().create_task(self._flush())
        await self._writer

    async def _flush(self) -> None:
        chunks, self._pending = self._pending, []
        if not chunks:
            return
        try:
            await asyncio.to_thread(self._append, b"".join(chunks))
        except OSError as e:  # the interview goes on; only its audio is lost
            self.failed = f"{type(e).__name__}: {e.strerror or e}"
            logger.error("recording stopped: %s", self.failed)

    def _append(self, data: bytes) -> None:
        _private_dir(self.spool.parent)
        fd = os.open(self.spool, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as f:
            f.write(data)

    # ------------------------------------------------------------ at the end

    def _sample_at(self, t: float) -> int:
        """The sample heard at time ``t`` (clamped to what was recorded)."""
        if not self._anchors or self.rate is None:
            return 0
        anchor = self._anchors[0]
        for a in self._anchors:
            if a.at <= t:
                anchor = a
        nxt = [a.sample for a in self._anchors if a.sample > anchor.sample]
        end = nxt[0] if nxt else self._samples
        return max(anchor.sample, min(end, anchor.sample + round((t - anchor.at) * self.rate)))

    async def save_answers(
        self, spans: Sequence[tuple[float, float] | None], user_id: str | None
    ) -> list[str | None]:
        """One WAV per answer (``spans``: each answer's speech start and end, ``None`` for
        one without timing); returns each answer's storage path (``None``: no audio).
        The spool is deleted either way."""
        try:
            await self.flush()
            if self.failed is not None or self.rate is None:
                return [None] * len(spans)
            cuts = [
                None
                if span is None
                else (
                    self._sample_at(span[0] - PAD_BEFORE_S),
                    self._sample_at(span[1] + PAD_AFTER_S),
                )
                for span in spans
            ]
            return await asyncio.to_thread(self._write_answers, cuts, user_id)
        finally:
            with contextlib.suppress(OSError):
                self.spool.unlink()

    def _write_answers(
        self, cuts: list[tuple[int, int] | None], user_id: str | None
    ) -> list[str | None]:
        assert self.rate is not None
        width = 2 * self.channels
        out: list[str | None] = []
        with self.spool.open("rb") as f:
            for n, cut in enumerate(cuts, 1):
                if cut is None or cut[1] - cut[0] < self.rate // 10:
                    out.append(None)
                    continue
                f.seek(cut[0] * width)
                pcm = f.read((cut[1] - cut[0]) * width)
                path = storage_path(user_id, self.interview_id, n)
                target = self.root / path
                _private_dir(target.parent)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as w:
                    w.write(wav_bytes(pcm, self.rate, self.channels))
                out.append(path)
        return out


# ---------------------------------------------------------------- where they go


class RecordingStore(Protocol):
    uploads_recordings: bool

    async def upload_recording(self, path: str, wav: bytes) -> None: ...


def pending(root: Path) -> list[str]:
    """Recordings waiting under ``root`` (storage paths), oldest first."""
    if not root.is_dir():
        return []
    found = [
        p
        for p in root.glob("*/*/*.wav")
        if p.is_file() and not p.relative_to(root).parts[0].startswith(".")
    ]
    found.sort(key=lambda p: p.stat().st_mtime)
    return [p.relative_to(root).as_posix() for p in found]


async def upload(store: RecordingStore, root: Path, paths: Sequence[str]) -> tuple[int, int]:
    """Upload these recordings to the store (when it keeps them) and delete each local
    copy once it is there. Returns (uploaded, failed); a failed one stays for later."""
    if not store.uploads_recordings:
        return 0, 0
    done = failed = 0
    for path in paths:
        local = root / path
        try:
            data = await asyncio.to_thread(local.read_bytes)
            await store.upload_recording(path, data)
        except Exception as e:  # the store is down or refused it: keep it, try later
            failed += 1
            logger.warning("recording upload failed (%s); kept for retry", type(e).__name__)
            continue
        done += 1
        with contextlib.suppress(OSError):
            await asyncio.to_thread(_remove_and_prune, local, root)
    return done, failed


async def upload_pending(store: RecordingStore, root: Path) -> tuple[int, int]:
    """Every recording still waiting under ``root`` (a job could not upload it: the store
    was down, the job ended), uploaded now; (uploaded, failed)."""
    if not store.uploads_recordings:
        return 0, 0
    waiting = await asyncio.to_thread(pending, root)
    return await upload(store, root, waiting) if waiting else (0, 0)


def _remove_and_prune(local: Path, root: Path) -> None:
    local.unlink()
    for parent in (local.parent, local.parent.parent):
        if parent != root:
            with contextlib.suppress(OSError):
                parent.rmdir()  # only when empty
