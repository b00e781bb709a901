"""Saving one interview: versions while it runs, exactly one finalization when it ends.

Every version of the rows carries the interview's id and a revision that only grows
(:func:`interview.rows.revision_of`); the outbox and the store never replace a higher
revision with a lower one, so a late checkpoint, a recovered orphan or the computed
feedback can never overwrite newer content.

* After every committed message the interview is checkpointed to the local outbox (as the
  rows it would produce if the worker died now: ``ended_by = "worker_shutdown"``, derived
  from the rows as they stand, the interview itself untouched), within
  ``CHECKPOINT_DELAY_S``. Writes are coalesced and run off the event loop, after the reply
  to a candidate turn has been committed, so neither a slow disk nor the row build ever
  delays a reply. Each checkpoint is also saved to the store as the interview stands
  (``ended_by`` null), best effort, so a job on another machine can continue it.
* ``finalize`` builds the rows once, commits them to the outbox (durable, local) and then
  pushes them to the store within a short budget. If the store is down the rows wait in
  the outbox and are pushed by the worker's flusher or ``python -m agent outbox flush``.
* The outbox is not a single point of failure: if it cannot be written (disk full,
  locked, unreadable) every version goes straight to the store instead, and one log line
  says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from feedback.progress import progress
from feedback.report import answer_messages
from observability import metrics
from observability.tracing import interview_attributes, span
from persistence import FeedbackRecord, InterviewRecord, InterviewStore, SaveResult, StoreError
from persistence.outbox import Outbox, OutboxUnavailable

from . import recordings
from .assessor import Assessor
from .record import Interview
from .recordings import AnswerRecorder
from .rows import SessionFacts, as_recovered, build_live, build_records, cost_of, revision_of

logger = logging.getLogger("interview.persist")

PUSH_BUDGET_S = 5.0
ASSESS_BUDGET_S = 45.0
"""How long the model's assessment may take after the interview is saved."""
RECORDINGS_BUDGET_S = 10.0
"""How long cutting the answers' recordings from the interview's audio may take."""
UPLOAD_BUDGET_S = 20.0
"""How long the job uploads recordings before leaving the rest to the worker's flusher."""
PROGRESS_BUDGET_S = 5.0
"""How long reading the user's earlier interviews may take (after the transcript is saved)."""
CHECKPOINT_DELAY_S = 1.0
"""Longest wait, after a candidate message, for the agent's reply before checkpointing."""
LIVE_PUSH_EVERY_S = 0.0
"""Least time between two saves of the running interview to the store (0: with every
checkpoint, so a job elsewhere that continues it loses at most the turn in progress)."""
LIVE_PUSH_TIMEOUT_S = 5.0
DIRECT_RETRY_S = (0.5, 1.0, 2.0, 4.0)


def _where(e: BaseException) -> str:
    """Where an exception was raised (file:line), without its message (it may quote
    the candidate)."""
    frames = traceback.extract_tb(e.__traceback__)
    if not frames:
        return type(e).__name__
    last = frames[-1]
    return f"{type(e).__name__} at {last.filename.rsplit('/', 1)[-1]}:{last.lineno}"


def _observe_cost(interview: InterviewRecord) -> None:
    cost = interview.metadata.get("cost")
    if isinstance(cost, dict) and isinstance(cost.get("total"), int | float):
        metrics.interview_cost(float(cost["total"]))


class InterviewPersistence:
    def __init__(
        self,
        rt: Interview,
        *,
        outbox: Outbox,
        store: InterviewStore,
        facts: Callable[[], SessionFacts],
        on_saved: Callable[[SaveResult], None] | None = None,
        live_push_every_s: float = LIVE_PUSH_EVERY_S,
        recorder: AnswerRecorder | None = None,
    ) -> None:
        self.rt = rt
        self.recorder = recorder
        self.outbox = outbox
        self.store = store
        self._facts = facts
        self._on_saved = on_saved
        self._live_every = live_push_every_s
        self._lock = asyncio.Lock()
        self._finalized = False
        self._dirty = False
        self._writer: asyncio.Task[None] | None = None
        self._now = asyncio.Event()
        self._versions = 0
        self._last_live_push = float("-inf")
        self._outbox_ok = True
        self._feedback_failure_logged = False
        self.interview_id = rt.identity.interview_id
        self.saved: SaveResult | None = None
        """What the store answered to the last push of the finished interview."""
        self.records: tuple[InterviewRecord, FeedbackRecord] | None = None
        self.finalize_s: float | None = None
        """From the start of the finalization until the transcript was saved or kept."""

    # ------------------------------------------------------------ helpers

    def _revision(self) -> int:
        self._versions += 1
        return revision_of(self.rt.identity.generation, self._versions)

    def _feedback_failed(self, e: Exception) -> None:
        if not self._feedback_failure_logged:
            self._feedback_failure_logged = True
            logger.error(
                "feedback could not be computed (%s); the interview is saved without it",
                _where(e),
            )

    def _outbox_down(self, e: OutboxUnavailable) -> None:
        if self._outbox_ok:
            self._outbox_ok = False
            logger.error("outbox unavailable (%s): saving straight to the store", e)

    @property
    def outbox_ok(self) -> bool:
        return self._outbox_ok

    # ------------------------------------------------------------ checkpoints

    def checkpoint_soon(self, role: str = "agent") -> None:
        """Schedule a checkpoint (coalesced: at most one write in flight).

        After an agent message it is written at once. After a candidate message it waits
        for the agent's reply to be committed (so the work never competes with preparing
        the reply), but never longer than ``CHECKPOINT_DELAY_S``.
        """
        if self._finalized:
            return
        self._dirty = True
        if role != "candidate":
            self._now.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_checkpoints())

    async def _write_checkpoints(self) -> None:
        while self._dirty and not self._finalized:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._now.wait(), CHECKPOINT_DELAY_S)
            self._now.clear()
            self._dirty = False
            try:
                await self._checkpoint()
            except Exception as e:  # never let a checkpoint take the session down
                logger.error("checkpoint failed: %s", _where(e))
                return

    async def _checkpoint(self) -> None:
        """The interview as it stands: saved live to the store (at most every
        ``LIVE_PUSH_EVERY_S``, or always when the outbox is down), and kept in the outbox
        as what it would become if this process died now."""
        push = time.monotonic() - self._last_live_push >= self._live_every or not self._outbox_ok
        snap = self.rt.snapshot()
        revision = self._revision()
        live, recovered, feedback = await asyncio.to_thread(self._checkpoint_rows, snap, revision)
        async with self._lock:
            if self._finalized:
                return
            if self._outbox_ok:
                try:
                    await self.outbox.checkpoint(recovered, feedback)
                except OutboxUnavailable as e:
                    self._outbox_down(e)
        if push or not self._outbox_ok:
            await self._push_live(live)

    def _checkpoint_rows(
        self, snap: Interview, revision: int
    ) -> tuple[InterviewRecord, InterviewRecord, FeedbackRecord]:
        """(In a worker thread.) The live row, what it becomes if this process dies now,
        and the feedback computed so far."""
        live, feedback = build_live(
            snap, self._facts(), revision=revision, on_feedback_error=self._feedback_failed
        )
        return live, as_recovered(live, at=snap.clock()), feedback

    async def _push_live(self, row: InterviewRecord) -> None:
        """Save the running interview as it stands (best effort: the outbox has it too,
        unless it is down, and the next version follows)."""
        self._last_live_push = time.monotonic()
        try:
            await asyncio.wait_for(self.store.save(row, None), LIVE_PUSH_TIMEOUT_S)
        except (StoreError, OSError, TimeoutError) as e:
            logger.warning("live save failed: %s", type(e).__name__)

    # ------------------------------------------------------------ the end

    async def finalize(
        self, assessor: Assessor | None = None, *, assess_budget_s: float = ASSESS_BUDGET_S
    ) -> tuple[InterviewRecord, FeedbackRecord]:
        """Build the rows once, commit them locally, push them. Then, each isolated and
        within its own budget: the model's assessment (with an assessor), progress across
        the user's interviews, the answers' recordings (with consent); if any of them
        added something, the rows are pushed again (a new revision); recordings are
        uploaded last. Returns the rows as last saved (a second call returns the first
        call's)."""
        ident = self.rt.identity
        with span("finalize", interview_attributes(ident.room_name, self.interview_id)):
            return await self._finalize(assessor, assess_budget_s)

    async def _finalize(
        self, assessor: Assessor | None, assess_budget_s: float
    ) -> tuple[InterviewRecord, FeedbackRecord]:
        began = time.monotonic()
        async with self._lock:
            if self.records is not None and self._finalized:
                return self.records
            self._finalized = True
            m = self.rt.machine
            if not m.terminal:
                self.rt.apply(m.shutdown())
            m.mark_ended()
            interview, feedback = build_records(
                self.rt,
                self._facts(),
                revision=self._revision(),
                on_feedback_error=self._feedback_failed,
            )
            self.records = (interview, feedback)
            local = await self._commit_locally(interview, feedback)
        logger.info(
            "interview committed" + (" locally" if local else ""),
            extra={"ended_by": interview.ended_by, "interview_id": interview.id},
        )
        await self._push(interview, feedback, local)
        self.finalize_s = time.monotonic() - began
        metrics.interview_ended(interview.ended_by, finalize_s=self.finalize_s)
        if feedback.feedback_data.get("status") == "failed":
            _observe_cost(interview)
            return interview, feedback
        final = feedback
        if assessor is not None:
            final = await self._assess(assessor, feedback, assess_budget_s)
            for used in assessor.usage:
                metrics.llm_tokens(
                    str(used["model"]),
                    input_tokens=used["input_tokens"],
                    output_tokens=used["output_tokens"],
                    purpose="assessment",
                )
            interview = dataclasses.replace(
                interview, metadata=self._with_assessment_cost(interview.metadata, assessor)
            )
        final = await self._with_progress(interview, final)
        recorded: list[str] = []
        if self.recorder is not None:
            final, recorded = await self._with_recordings(interview, final, self.recorder)
        if final is not feedback:
            interview = dataclasses.replace(interview, revision=self._revision())
            self.records = (interview, final)
            local = await self._commit_locally(interview, final)
            await self._push(interview, final, local)
        _observe_cost(interview)
        if recorded and self.recorder is not None:
            await self._upload(self.recorder.root, recorded)
        return interview, final

    async def _with_recordings(
        self, interview: InterviewRecord, feedback: FeedbackRecord, recorder: AnswerRecorder
    ) -> tuple[FeedbackRecord, list[str]]:
        """Each answer's recording written (locally) and its path in the feedback (the
        feedback as it was if they cannot be written)."""
        rt = self.rt
        with span("recordings", self._attributes()):
            try:
                said = answer_messages(rt.transcript.messages, rt.machine.plan)
                spans = [(m.started_at, m.ended_at) if m.ended_at > m.started_at else None
                         for m in said]  # fmt: skip
                paths = await asyncio.wait_for(
                    recorder.save_answers(spans, interview.user_id), RECORDINGS_BUDGET_S
                )
                data = dict(feedback.feedback_data)
                answers = [dict(a) for a in data.get("answers") or []]
                for answer, path in zip(answers, paths, strict=False):
                    answer["audio_path"] = path
                data["answers"] = answers
            except Exception as e:  # optional: the interview and its feedback are saved
                logger.error("answers' recordings not saved: %s", _where(e))
                return feedback, []
        return FeedbackRecord(user_id=feedback.user_id, feedback_data=data), [p for p in paths if p]

    async def _upload(self, root: Path, paths: list[str]) -> None:
        """The recordings to the store, within ``UPLOAD_BUDGET_S``; what is left is
        uploaded later by the worker's flusher."""
        with span("recordings_upload", {**self._attributes(), "files": len(paths)}):
            try:
                uploaded, failed = await asyncio.wait_for(
                    recordings.upload(self.store, root, paths), UPLOAD_BUDGET_S
                )
            except Exception as e:
                logger.warning("recordings left for the flusher: %s", type(e).__name__)
                return
        if failed:
            logger.warning("%d of %d recordings left for the flusher", failed, len(paths))
        elif uploaded:
            logger.info("recordings uploaded", extra={"files": uploaded})

    async def _with_progress(
        self, interview: InterviewRecord, feedback: FeedbackRecord
    ) -> FeedbackRecord:
        """The feedback with this interview next to the user's earlier ones (as it was if
        they cannot be read within ``PROGRESS_BUDGET_S``)."""
        with span("progress", self._attributes()):
            try:
                earlier = await asyncio.wait_for(
                    self.store.earlier_interviews(interview.user_id, besides=interview.id),
                    PROGRESS_BUDGET_S,
                )
                data = dict(feedback.feedback_data)
                data["progress"] = progress(
                    data,
                    interview_id=interview.id,
                    date=interview.interview_date,
                    job_role=interview.job_role,
                    earlier=earlier,
                )
            except Exception as e:  # optional: the interview and its feedback are saved
                logger.warning("progress across interviews left out: %s", _where(e))
                return feedback
        return FeedbackRecord(user_id=feedback.user_id, feedback_data=data)

    async def _assess(
        self, assessor: Assessor, feedback: FeedbackRecord, budget_s: float
    ) -> FeedbackRecord:
        with span("assessment", {**self._attributes(), "assessment.model": assessor.model}):
            try:
                return await asyncio.wait_for(assessor.assess(self.rt, feedback), budget_s)
            except TimeoutError:
                return assessor.partial(feedback, "assessment timed out")
            except Exception as e:  # the interview is saved; the assessment is optional
                logger.error("assessment failed: %s", _where(e))
                return assessor.partial(feedback, f"assessment failed: {type(e).__name__}")

    def _with_assessment_cost(self, metadata: dict[str, Any], assessor: Assessor) -> dict[str, Any]:
        """The row's cost estimate with what the assessment used added (the row as it
        was if that cannot be computed)."""
        try:
            facts = dataclasses.replace(self._facts(), assessment_usage=list(assessor.usage))
            return {**metadata, "cost": cost_of(self.rt, facts)}
        except Exception as e:
            logger.error("cost estimate failed: %s", _where(e))
            return metadata

    def _attributes(self) -> dict[str, str]:
        return interview_attributes(self.rt.identity.room_name, self.interview_id)

    async def _commit_locally(self, interview: InterviewRecord, feedback: FeedbackRecord) -> bool:
        if not self._outbox_ok:
            return False
        try:
            await self.outbox.put(interview, feedback)
            return True
        except OutboxUnavailable as e:
            self._outbox_down(e)
            return False

    async def _push(
        self, interview: InterviewRecord, feedback: FeedbackRecord, local: bool
    ) -> None:
        about = {**self._attributes(), "store": self.store.name, "revision": interview.revision}
        with span("push", about) as current:
            result = await (
                self._flush(interview.id) if local else self._save_direct(interview, feedback)
            )
            current.set_attribute("saved", result is not None)
        if result is None:
            return
        self.saved = result
        logger.info(
            "interview saved",
            extra={"store": self.store.name, "interview_id": result.interview_id,
                   "saved_room_name": result.room_name},
        )  # fmt: skip
        if self._on_saved is not None:
            self._on_saved(result)

    async def _flush(self, interview_id: str) -> SaveResult | None:
        try:
            flushed = await asyncio.wait_for(
                self.outbox.flush(self.store, interview_id=interview_id, force=True),
                PUSH_BUDGET_S,
            )
        except TimeoutError:
            logger.warning("store slow: interview left in the outbox for retry")
            return None
        except OutboxUnavailable as e:
            self._outbox_down(e)
            return None
        result = flushed.saved.get(interview_id)
        if result is None:
            logger.warning("store unavailable: interview left in the outbox for retry")
        return result

    async def _save_direct(
        self, interview: InterviewRecord, feedback: FeedbackRecord
    ) -> SaveResult | None:
        """No outbox: save straight to the store, retrying within the push budget, and
        as a last resort try the outbox once more."""
        deadline = time.monotonic() + PUSH_BUDGET_S
        for delay in (*DIRECT_RETRY_S, None):
            try:
                left = max(0.1, deadline - time.monotonic())
                return await asyncio.wait_for(self.store.save(interview, feedback), left)
            except (StoreError, OSError, TimeoutError) as e:
                error = type(e).__name__
            if delay is None or time.monotonic() + delay >= deadline:
                break
            await asyncio.sleep(delay)
        try:
            await self.outbox.put(interview, feedback)
            logger.warning("store unreachable (%s): interview kept in the outbox after all", error)
        except OutboxUnavailable:
            logger.error(
                "interview %s NOT saved: outbox unavailable and store unreachable (%s)",
                interview.id,
                error,
            )
        return None
