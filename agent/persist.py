"""Saving one interview: checkpoints while it runs, exactly one finalization when it ends.

* After every committed message the interview is checkpointed to the local outbox (as the
  rows it would produce if the worker died now: ``ended_by = "worker_shutdown"``), within
  ``CHECKPOINT_DELAY_S``. Writes are coalesced and run off the event loop, after the reply
  to a candidate turn has been committed, so neither a slow disk nor the row build ever
  delays a reply.
* ``finalize`` builds the rows once, commits them to the outbox (durable, local) and then
  tries to push them to the store within a short budget. If the store is down the rows
  wait in the outbox and are pushed by the worker's flusher, at the next start, or by
  ``python -m agent outbox flush``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from persistence import FeedbackRecord, InterviewRecord, InterviewStore
from persistence.outbox import Outbox

from .assessor import Assessor
from .finalize import SessionFacts, build_records
from .runtime import InterviewRuntime

logger = logging.getLogger("interview.persist")

PUSH_BUDGET_S = 5.0
CHECKPOINT_DELAY_S = 1.0
"""Longest wait, after a candidate message, for the agent's reply before checkpointing."""


class InterviewPersistence:
    def __init__(
        self,
        rt: InterviewRuntime,
        *,
        outbox: Outbox,
        store: InterviewStore,
        facts: Callable[[], SessionFacts],
    ) -> None:
        self.rt = rt
        self.outbox = outbox
        self.store = store
        self._facts = facts
        self._lock = asyncio.Lock()
        self._finalized = False
        self._dirty = False
        self._writer: asyncio.Task[None] | None = None
        self._now = asyncio.Event()
        self.interview_id: str | None = None
        self.pushed = False
        self.records: tuple[InterviewRecord, FeedbackRecord] | None = None

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
            snap = self.rt.snapshot()
            snap.machine.shutdown()
            facts = self._facts()
            try:
                interview, feedback = await asyncio.to_thread(build_records, snap, facts)
                async with self._lock:
                    if self._finalized:
                        return
                    await self.outbox.checkpoint(interview, feedback)
            except Exception as e:
                logger.warning("checkpoint failed: %s", type(e).__name__)
                return

    # ------------------------------------------------------------ the end

    async def finalize(
        self, assessor: Assessor | None = None, *, assess_budget_s: float = 45.0
    ) -> None:
        """Build the rows once, commit them locally, push them; then, if an assessor is
        given, add the model's assessment and push the feedback again."""
        async with self._lock:
            if self._finalized:
                return
            self._finalized = True
            m = self.rt.machine
            if not m.terminal:
                self.rt.apply(m.shutdown())
            m.mark_ended()
            interview, feedback = build_records(self.rt, self._facts())
            self.records = (interview, feedback)
            await self.outbox.put(interview, feedback)
        logger.info("interview committed locally", extra={"ended_by": interview.ended_by})
        await self._push(interview.room_name)
        if assessor is None:
            return
        try:
            assessed = await asyncio.wait_for(assessor.assess(self.rt, feedback), assess_budget_s)
        except TimeoutError:
            assessed = assessor._partial(feedback, "assessment timed out")
        self.records = (interview, assessed)
        await self.outbox.put(interview, assessed)
        await self._push(interview.room_name)

    async def _push(self, room: str) -> None:
        try:
            result = await asyncio.wait_for(
                self.outbox.flush(self.store, room=room, force=True), PUSH_BUDGET_S
            )
        except TimeoutError:
            logger.warning("store slow: interview left in the outbox for retry")
            self.pushed = False
            return
        self.pushed = result.pushed == 1
        if self.pushed:
            self.interview_id = result.interview_ids.get(room)
            logger.info("interview saved", extra={"store": self.store.name})
        else:
            logger.warning("store unavailable: interview left in the outbox for retry")
