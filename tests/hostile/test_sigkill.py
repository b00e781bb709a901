"""SIGKILL at random points of scripted interviews: every transcript recovered to within
one turn, pushed exactly once."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.hostile

RUNS = 50
PARALLEL = 5
WAIT_S = 180
"""Longest wait for a checkpoint: only a job that is stuck takes this long, even with its
four neighbours starting up on a busy machine."""
LINES = [
    "Yes, I'm ready to begin.",
    "I am a data engineer with six years of experience building pipelines in Python.",
    "I want to work on a product where data quality matters to real people.",
    "At my last company I built a streaming ingestion system on Kafka and Spark.",
    "I led the migration of our batch jobs to Airflow and cut failures in half.",
    "I would partition by date and customer and keep the hot data in a cache.",
    "An index speeds up reads because the database avoids scanning the whole table.",
    "When two teams disagreed on a schema, I ran a workshop and we agreed on a contract.",
]


def _checkpoint(path) -> list[str] | None:
    try:
        row = (
            sqlite3.connect(path, timeout=1).execute("select interview from checkpoints").fetchone()
        )
    except sqlite3.Error:
        return None
    if not row:
        return None
    msgs = json.loads(row[0])["conversation"]["messages"]
    return [m["text"] for m in msgs if m["role"] == "candidate"]


def one_run(base, n: int, seed: int) -> dict:
    rng = random.Random(seed)
    work = base / f"run{n}"
    work.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI", "DEEPGRAM", "SUPABASE", "LIVEKIT"))
    }
    env.update(INTERVIEW_DB_PATH=str(work / "i.db"), INTERVIEW_OUTBOX_PATH=str(work / "o.db"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "simulate", "--offline", "--script", "-", "--room", f"kill-{n}"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, env=env, cwd=work,
    )  # fmt: skip
    sent = rng.randint(0, len(LINES))

    def wait_for_checkpoint(lines: int, what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while (said := _checkpoint(work / "o.db")) is None or len(said) < lines:
            assert time.monotonic() < deadline, what
            time.sleep(0.05)

    try:
        wait_for_checkpoint(0, "no greeting checkpoint")
        for n_line, line in enumerate(LINES[:sent]):
            # each earlier line is in a checkpoint first: only the last turn is in progress
            wait_for_checkpoint(n_line, f"line {n_line} never checkpointed")
            proc.stdin.write(line + "\n")
            proc.stdin.flush()
        time.sleep(rng.uniform(0, 1.5))  # the kill lands anywhere in the last turn or after
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    flush = subprocess.run([sys.executable, "-m", "agent", "outbox", "flush"], capture_output=True, text=True,
                           env=env, cwd=work, timeout=60)  # fmt: skip
    rows = []
    if (work / "i.db").exists():
        rows = (
            sqlite3.connect(work / "i.db")
            .execute(
                "select ended_by, conversation from interviews where room_name=?", (f"kill-{n}",)
            )
            .fetchall()
        )
    return {"sent": sent, "flush": flush.stdout.strip(), "rows": rows}


def test_sigkill_at_random_points_recovers_every_transcript(tmp_path):
    with ThreadPoolExecutor(PARALLEL) as pool:
        runs = list(pool.map(lambda n: one_run(tmp_path, n, 1000 + n), range(RUNS)))
    for run in runs:
        assert len(run["rows"]) == 1, run  # exactly one row, recovered
        ended_by, conversation = run["rows"][0]
        said = [m["text"] for m in json.loads(conversation)["messages"] if m["role"] == "candidate"]
        sent = run["sent"]
        assert said == LINES[: len(said)], run  # a prefix: nothing invented, nothing reordered
        assert len(said) >= sent - 1, run  # lost at most the turn in progress
        if len(said) < sent or ended_by == "worker_shutdown":
            assert ended_by == "worker_shutdown"
