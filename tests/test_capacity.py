"""The worker's limit (agent/capacity.py), its preloaded image and its audio choices."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from livekit.agents.telemetry.loop_monitor import ENV_WARN_THRESHOLD_MS, LoopMonitorThresholds

from agent.audio import INLINE, load_vad
from agent.capacity import INTERVIEWS_PER_CORE, InterviewLoad, max_interviews
from agent.config import LOOP_BLOCK_ENV, Settings
from agent.worker import PRELOAD_MODULES, build_server


def test_the_limit_is_the_measured_figure_for_the_cores_unless_set() -> None:
    assert INTERVIEWS_PER_CORE * 2 == 16
    assert max_interviews(None, cores=2) == 16
    assert max_interviews(None, cores=1) == 8
    assert max_interviews(None, cores=0.5) == 4  # a half-core container quota
    assert max_interviews(None, cores=0.01) == 1
    assert max_interviews(3, cores=64) == 3


def test_the_load_is_the_share_of_slots_in_use_and_full_at_the_limit() -> None:
    load = InterviewLoad(12)
    assert [load.of(n) for n in (0, 3, 9)] == [0.0, 0.25, 0.75]
    assert load.of(12) == 1.0 >= Settings(_env_file=None).worker_load_threshold
    assert load.of(40) == 1.0


def test_the_server_reports_the_interview_load_and_preloads_the_worker(monkeypatch) -> None:
    monkeypatch.setenv("NUM_CPUS", "2")
    server = build_server(Settings(_env_file=None, worker_max_interviews=None))
    assert isinstance(server.load_fnc, InterviewLoad) and server.load_fnc.slots == 16

    class Busy:
        active_jobs = [object()] * 16

    assert server.load_fnc(Busy()) == 1.0
    assert build_server(Settings(_env_file=None, worker_max_interviews=3)).load_fnc.slots == 3


def test_livekits_loop_watch_follows_the_setting(monkeypatch) -> None:
    """It costs the worker's core in every job process (docs/PERFORMANCE.md, section 4).
    LiveKit reads it, in the worker and in each job process the worker starts, from the
    environment the server leaves them."""
    assert LOOP_BLOCK_ENV == ENV_WARN_THRESHOLD_MS  # LiveKit's name for it
    monkeypatch.setenv(LOOP_BLOCK_ENV, "1")  # put back as it was after the test
    monkeypatch.delenv(LOOP_BLOCK_ENV)
    monkeypatch.delenv("LOOP_BLOCK_WARN_MS", raising=False)

    build_server(Settings(_env_file=None))
    thresholds = LoopMonitorThresholds.from_env()
    assert thresholds is not None and thresholds.warn == 0.25  # ours, not LiveKit's 0.1

    build_server(Settings(_env_file=None, loop_block_warn_ms=0))
    assert LoopMonitorThresholds.from_env() is None  # off

    monkeypatch.delenv(LOOP_BLOCK_ENV)
    for name in ("LOOP_BLOCK_WARN_MS", LOOP_BLOCK_ENV):  # ours, or LiveKit's own name
        monkeypatch.setenv(name, "100")
        assert Settings(_env_file=None).loop_block_warn_ms == 100
        monkeypatch.delenv(name)
    with pytest.raises(ValueError):
        Settings(_env_file=None, loop_block_warn_ms=-1)


def test_the_preloaded_image_is_fork_safe_and_reads_no_settings() -> None:
    """Imported in the forkserver: no thread may be left running (a fork copies only the
    calling thread) and nothing may depend on the job's environment."""
    code = (
        f"import threading, {', '.join(PRELOAD_MODULES)}\n"
        "names = [t.name for t in threading.enumerate()]\n"
        "assert names == ['MainThread'], names\n"
    )
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env["OPENAI_BASE_URL"] = "not a url"  # would fail if settings were read
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


async def test_the_inline_executor_runs_at_once_and_passes_errors_on() -> None:
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(INLINE, sum, [1, 2, 3]) == 6
    with pytest.raises(ZeroDivisionError):
        await loop.run_in_executor(INLINE, divmod, 1, 0)


def test_the_vad_is_livekits_native_one_unless_the_plugin_is_asked_for() -> None:
    from livekit.agents import inference
    from livekit.plugins import silero

    native = load_vad(Settings(_env_file=None).vad_engine)
    assert isinstance(native, inference.VAD) and native.min_silence_duration == 0.55
    assert isinstance(load_vad("silero"), silero.VAD)
