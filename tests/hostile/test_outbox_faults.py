"""The outbox is a buffer, not a single point of failure: full, locked, corrupt, private."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from agent.config import Settings
from agent.simulate import run_simulation
from persistence import SqliteStore
from persistence.outbox import Outbox

pytestmark = pytest.mark.hostile

LINES = [
    "Yes, I'm ready to begin.",
    "I am a civil engineer with nine years of experience designing bridges and culverts.",
    "I want to lead design reviews for larger public infrastructure projects.",
    "On my last project I redesigned a culvert to cut the concrete volume by a fifth.",
    "I coordinated the geotechnical survey and the hydraulic model for that culvert.",
]


def candidate_lines(conversation: dict) -> list[str]:
    return [m["text"] for m in conversation["messages"] if m["role"] == "candidate"]


async def simulate(outbox_path: Path, store_path: Path, lines=LINES):
    store = SqliteStore(store_path)
    try:
        return await run_simulation(
            lines,
            json.dumps({"job_role": "Civil Engineer"}),
            settings=Settings(_env_file=None),
            store=store,
            outbox=Outbox(outbox_path),
            offline=True,
        )
    finally:
        await store.aclose()


def unavailable_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "outbox unavailable" in r.getMessage()]


async def test_an_outbox_locked_by_another_program_does_not_stop_the_save(tmp_path, caplog):
    path = tmp_path / "outbox.db"
    Outbox(path)._call(lambda conn: None)  # a valid outbox file
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # e.g. someone inspecting it with the sqlite3 shell
    try:
        with caplog.at_level(logging.ERROR):
            result = await simulate(path, tmp_path / "interviews.db")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.interview_id is not None
    assert candidate_lines(result.row["conversation"]) == LINES
    lines = unavailable_lines(caplog)
    assert len(lines) == 1 and "saving straight to the store" in lines[0]
    saved = await SqliteStore(tmp_path / "interviews.db").get(result.interview_id)
    assert saved.interview.ended_by == "candidate_left" and saved.feedback is not None


async def test_a_corrupt_outbox_is_moved_aside_and_replaced(tmp_path, caplog):
    path = tmp_path / "outbox.db"
    path.write_bytes(b"this is not a database, just bytes on a bad day\n" * 100)
    with caplog.at_level(logging.ERROR):
        result = await simulate(path, tmp_path / "interviews.db")
    assert result.interview_id is not None
    assert candidate_lines(result.row["conversation"]) == LINES
    moved = list(tmp_path.glob("outbox.db.corrupt-*"))
    assert len(moved) == 1 and moved[0].read_bytes().startswith(b"this is not a database")
    assert any("moved to outbox.db.corrupt-" in r.getMessage() for r in caplog.records)
    assert not any(r.exc_info for r in caplog.records)  # one clear line, no traceback
    assert (await Outbox(path).status()).pending == 0  # the new outbox works


def test_outbox_status_on_a_corrupt_file_is_one_line_not_a_traceback(tmp_path):
    (tmp_path / "outbox.db").write_bytes(b"\x00garbage" * 1000)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "SUPABASE"))}
    env.update(INTERVIEW_OUTBOX_PATH=str(tmp_path / "outbox.db"),
               INTERVIEW_DB_PATH=str(tmp_path / "interviews.db"))  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "agent", "outbox", "status"], env=env,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("pending 0  in-progress checkpoints 0")
    assert "Traceback" not in proc.stderr and "moved to outbox.db.corrupt-" in proc.stderr


async def test_files_are_private(tmp_path):
    outbox_path = tmp_path / "private" / "outbox.db"
    store_path = tmp_path / "private-store" / "interviews.db"
    await simulate(outbox_path, store_path, LINES[:2])
    for folder in (outbox_path.parent, store_path.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for f in [*outbox_path.parent.iterdir(), *store_path.parent.iterdir()]:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


@pytest.fixture
def small_disk(tmp_path):
    """A 320 kB filesystem (tmpfs), nearly full: the outbox runs out of room mid-interview."""
    mount = tmp_path / "small"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=320k", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a small tmpfs: {proc.stderr.strip()}")
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {proc.stderr.strip()}")
    filler = mount / "filler"
    try:
        with open(filler, "wb") as f:
            f.write(b"\0" * (320 - 48) * 1024)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_under_the_outbox_loses_no_answer(small_disk, tmp_path):
    long = " ".join(["I measured the flows and checked the loads on every span."] * 40)
    script = "\n".join([LINES[0], *(f"{line} {long}" for line in LINES[1:]), ""])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "SUPABASE"))}
    env.update(INTERVIEW_OUTBOX_PATH=str(small_disk / "outbox.db"),
               INTERVIEW_DB_PATH=str(tmp_path / "interviews.db"))  # fmt: skip
    room = f"full-{uuid.uuid4().hex[:6]}"
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "simulate", "--offline", "--json", "--room", room,
         "--script", "-"],
        input=script, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "outbox unavailable" in proc.stderr and "saving straight to the store" in proc.stderr
    out = json.loads(proc.stdout)
    db = sqlite3.connect(tmp_path / "interviews.db")
    conversation, revision = db.execute(
        "select conversation, revision from interviews where id = ?", (out["id"],)
    ).fetchone()
    said = candidate_lines(json.loads(conversation))
    assert said == [line.strip() for line in script.splitlines() if line.strip()]
    # room again: whatever stale checkpoint the outbox kept is recovered, and loses
    os.remove(small_disk / "filler")
    flush = subprocess.run([sys.executable, "-m", "agent", "outbox", "flush"], env=env,
                           capture_output=True, text=True, timeout=60, cwd=tmp_path)  # fmt: skip
    assert flush.returncode == 0, flush.stderr
    again = db.execute("select count(*), max(revision), max(ended_by) from interviews").fetchone()
    assert again == (1, revision, "candidate_left")
