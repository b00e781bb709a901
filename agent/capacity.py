"""How many interviews one worker takes, and the load it reports to LiveKit.

LiveKit asks a worker for its load (0-1) every half second and again before it answers a
job request, and sends it no new job while the load is at ``WORKER_LOAD_THRESHOLD`` (1.0
by default). The load reported here is the share of the worker's interview slots in use,
so the server stops at the figure measured for this hardware class (docs/PERFORMANCE.md,
section 4: the worker confined to one core held 8 interviews in real rooms with replies
on time in every run, ~0.08 cores each, about half of it LiveKit's native WebRTC stack;
9 in some runs) and not at a moment's CPU reading: a worker's own
start-up (imports, models) or a burst of end-of-turn inference would otherwise make it refuse
work it can do. On other hardware, measure with ``bench/rooms_per_core.py`` and set
``WORKER_MAX_INTERVIEWS``.
"""

from __future__ import annotations

from typing import Any

from livekit.agents.utils.hw import get_cpu_monitor

INTERVIEWS_PER_CORE = 8.0
"""Measured: the most interviews one core held in real rooms with no missed or late turn
and at most 50 ms added to the reply at p95 (bench/rooms_per_core.py)."""
WORKER_BASE_MB = 600
"""Measured: the worker and its forkserver with the preloaded models (shared by jobs)."""
INTERVIEW_MB = 85
"""Measured: unique memory of one job process in a real room (one interview)."""


def usable_cores() -> float:
    """The CPUs this worker may use: ``NUM_CPUS``, its cgroup's quota, or the machine's."""
    return get_cpu_monitor().cpu_count()


def max_interviews(configured: int | None, cores: float | None = None) -> int:
    """``WORKER_MAX_INTERVIEWS`` when set, else the measured figure for ``cores``."""
    if configured is not None:
        return configured
    return max(1, int(INTERVIEWS_PER_CORE * (usable_cores() if cores is None else cores)))


class InterviewLoad:
    """The worker's ``load_fnc``: the share of its interview slots in use (capped at 1)."""

    def __init__(self, slots: int) -> None:
        self.slots = slots

    def of(self, interviews: int) -> float:
        return min(1.0, interviews / self.slots)

    def __call__(self, server: Any) -> float:
        return self.of(len(server.active_jobs))
