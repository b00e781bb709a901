"""The durable outbox: outages, replays and killed processes lose nothing and duplicate nothing."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from persistence import FeedbackRecord, InterviewRecord, SqliteStore
from persistence.outbox import Outbox, backoff_s
from persistence.supabase_store import SupabaseStore

from .test_supabase_stack import interview


class FlakyStore(SqliteStore):
    """A real SQLite store that fails its first ``failures`` writes."""

    def __init__(self, path, failures: int) -> None:
        super().__init__(path)
        self.failures = failures

    async def save(self, record: InterviewRecord, feedback: FeedbackRecord | None):
        if self.failures > 0:
            self.failures -= 1
            from persistence import StoreError

            raise StoreError("store down")
        return await super().save(record, feedback)


def test_backoff_grows_and_caps():
    assert [backoff_s(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert backoff_s(50) == 300


async def test_failed_push_stays_pending_then_succeeds_once(tmp_path):
    outbox = Outbox(tmp_path / "outbox.db")
    store = FlakyStore(tmp_path / "store.db", failures=1)
    rec = interview("room-flaky", None)
    await outbox.put(rec, FeedbackRecord(None, {"status": "partial"}))
    first = await outbox.flush(store)
    assert (first.pushed, first.failed, first.remaining) == (0, 1, 1)
    status = await outbox.status()
    assert status.pending == 1 and status.max_attempts == 1
    assert status.last_errors == [f"room-flaky ({rec.id[:8]}): store down"]
    not_due = await outbox.flush(store)  # backoff: not yet due
    assert (not_due.pushed, not_due.failed) == (0, 0)
    done = await outbox.flush(store, force=True)
    assert (done.pushed, done.remaining) == (1, 0)
    again = await outbox.flush(store, force=True)
    assert again.pushed == 0
    saved = await store.get(rec.id)
    assert saved is not None and saved.feedback.feedback_data == {"status": "partial"}


async def test_replayed_items_do_not_duplicate(tmp_path):
    outbox = Outbox(tmp_path / "outbox.db")
    store = SqliteStore(tmp_path / "store.db")
    rec = interview("room-replay", None, ended_by="completed")
    for n in range(3):  # the same interview committed three times (a retried finalize)
        await outbox.put(rec, FeedbackRecord(None, {"n": n}))
        await outbox.flush(store, force=True)
    # a newer version (the model's assessment) replaces it; a replay of an older one not
    await outbox.put(
        interview("room-replay", None, id=rec.id, revision=2), FeedbackRecord(None, {"n": 9})
    )
    await outbox.flush(store, force=True)
    await outbox.put(rec, FeedbackRecord(None, {"n": 0}))
    await outbox.flush(store, force=True)
    db = sqlite3.connect(tmp_path / "store.db")
    assert db.execute("select count(*) from interviews").fetchone() == (1,)
    assert db.execute("select count(*) from feedback").fetchone() == (1,)
    assert json.loads(db.execute("select feedback_data from feedback").fetchone()[0]) == {"n": 9}


async def test_checkpoint_of_a_live_process_is_not_recovered(tmp_path):
    outbox = Outbox(tmp_path / "outbox.db")
    rec = interview("room-live", None, ended_by="worker_shutdown")
    await outbox.checkpoint(rec, FeedbackRecord(None, {}))
    assert await outbox.recover_orphans() == []  # this process still owns it
    await outbox.put(interview("room-live", None, id=rec.id, revision=2), FeedbackRecord(None, {}))
    assert (await outbox.status()).checkpoints == 0  # finalize drops the checkpoint


@pytest.mark.stack
async def test_postgrest_down_during_finalize_then_flush(supabase_stack, tmp_path):
    outbox = Outbox(tmp_path / "outbox.db")
    store = SupabaseStore(supabase_stack.url, supabase_stack.service_key, timeout_s=3)
    room = f"room-outage-{uuid.uuid4().hex[:6]}"
    supabase_stack.stop_postgrest()
    try:
        rec = interview(room, None)
        await outbox.put(rec, FeedbackRecord(None, {"status": "partial"}))
        result = await outbox.flush(store, force=True)
        assert (result.pushed, result.failed, result.remaining) == (0, 1, 1)
    finally:
        supabase_stack.start_postgrest()
    result = await outbox.flush(store, force=True)
    assert (result.pushed, result.remaining) == (1, 0)
    result = await outbox.flush(store, force=True)
    assert result.pushed == 0
    await store.aclose()
    assert supabase_stack.psql(f"select count(*) from interviews where room_name='{room}'") == "1"
    iid = supabase_stack.psql(f"select id from interviews where room_name='{room}'")
    assert iid == rec.id
    assert supabase_stack.psql(f"select count(*) from feedback where interview_id='{iid}'") == "1"


LINES = [
    "Yes, I'm ready.",
    "I am a data scientist with six years of experience in forecasting.",
    "I want to work on products where models meet real users.",
    "At my last company I built a demand forecasting pipeline in Python.",
    "I led a migration of our models to a feature store.",
]


def _agent_env(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI", "DEEPGRAM", "SUPABASE", "LIVEKIT"))
    }
    env["INTERVIEW_DB_PATH"] = str(tmp_path / "interviews.db")
    env["INTERVIEW_OUTBOX_PATH"] = str(tmp_path / "outbox.db")
    return env


def _checkpointed_candidate_messages(path) -> int:
    if not path.exists():
        return 0
    try:
        db = sqlite3.connect(path, timeout=1)
        row = db.execute("select interview from checkpoints").fetchone()
    except sqlite3.Error:
        return 0
    if not row:
        return 0
    msgs = json.loads(row[0])["conversation"]["messages"]
    return sum(m["role"] == "candidate" for m in msgs)


def test_killed_mid_interview_is_recovered_at_next_start(tmp_path):
    env = _agent_env(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "simulate", "--offline", "--script", "-", "--room", "room-kill"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
        env=env, cwd=tmp_path,
    )  # fmt: skip
    try:
        for n, line in enumerate(LINES[:3], start=1):
            proc.stdin.write(line + "\n")
            proc.stdin.flush()
            deadline = time.monotonic() + 30
            while _checkpointed_candidate_messages(tmp_path / "outbox.db") < n:
                assert time.monotonic() < deadline, "checkpoint never written"
                time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    # before recovery the store holds the interview at most as it stood, still live
    if (tmp_path / "interviews.db").exists():
        live = (
            sqlite3.connect(tmp_path / "interviews.db")
            .execute("select ended_by from interviews where room_name='room-kill'")
            .fetchall()
        )
        assert live in ([], [(None,)])

    flush = subprocess.run(
        [sys.executable, "-m", "agent", "outbox", "flush"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert flush.returncode == 0, flush.stderr
    assert flush.stdout.startswith("recovered 1, pushed 1, failed 0, remaining 0")
    db = sqlite3.connect(tmp_path / "interviews.db")
    ended_by, final_stage, conversation = db.execute(
        "select ended_by, final_stage, conversation from interviews where room_name='room-kill'"
    ).fetchone()
    assert ended_by == "worker_shutdown"
    said = [m["text"] for m in json.loads(conversation)["messages"] if m["role"] == "candidate"]
    assert said == LINES[:3]
    assert final_stage == "experience"  # greeting + two introduction answers were given
    status = subprocess.run(
        [sys.executable, "-m", "agent", "outbox", "status"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert status.stdout.startswith("pending 0  in-progress checkpoints 0")


V1_OUTBOX = """
CREATE TABLE pending (room_name TEXT PRIMARY KEY, interview TEXT NOT NULL, feedback TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL DEFAULT 0, last_error TEXT,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE checkpoints (room_name TEXT PRIMARY KEY, interview TEXT NOT NULL, feedback TEXT NOT NULL,
    owner_pid INTEGER NOT NULL, owner_started REAL NOT NULL, updated_at REAL NOT NULL);
"""


def _v1_record(room: str) -> str:
    rec = dataclasses.asdict(interview(room, None))
    del rec["id"], rec["revision"]
    rec["metadata"].pop("room_name")
    return json.dumps(rec)


async def test_files_written_before_interview_ids_are_upgraded(tmp_path):
    """An outbox and an embedded store from the version that keyed rows by room name."""
    old_outbox = sqlite3.connect(tmp_path / "outbox.db")
    old_outbox.executescript(V1_OUTBOX)
    old_outbox.execute(
        "insert into pending values ('room-old', ?, '{\"user_id\": null, \"feedback_data\": {}}', "
        "3, 0, 'store down', 1, 1)",
        (_v1_record("room-old"),),
    )
    old_outbox.execute(
        "insert into checkpoints values ('room-dead', ?, '{\"user_id\": null, \"feedback_data\": {}}', "
        "999999, 1, 1)",
        (_v1_record("room-dead"),),
    )
    old_outbox.commit()
    old_outbox.close()
    old_store = sqlite3.connect(tmp_path / "store.db")
    old_store.executescript((Path(__file__).parent / "data" / "sqlite_schema_v1.sql").read_text())
    old_store.execute(
        "insert into interviews (id, interview_date, room_name, ended_by, conversation, "
        "total_messages, created_at) values ('11111111-1111-4111-8111-111111111111', "
        "'2026-11-01T10:00:00+00:00', 'room-old', 'completed', '{\"messages\": []}', '{}', "
        "'2026-11-01T10:00:00+00:00')"
    )
    old_store.commit()
    old_store.close()

    outbox, store = Outbox(tmp_path / "outbox.db"), SqliteStore(tmp_path / "store.db")
    status = await outbox.status()
    assert (status.pending, status.checkpoints, status.max_attempts) == (1, 1, 3)
    recovered, result = await outbox.recover_and_flush(store, force=True)
    assert len(recovered) == 1 and (result.pushed, result.remaining) == (2, 0)
    earlier = await store.get("11111111-1111-4111-8111-111111111111")
    assert earlier.interview.room_name == "room-old" and earlier.interview.revision == 0
    # the old row keeps its room; the upgraded outbox item for the same room is a new
    # interview (it never had an id) and gets a derived name instead of overwriting it
    names = {r.room_name for r in result.saved.values()}
    assert "room-dead" in names and any(n.startswith("room-old~") for n in names)
