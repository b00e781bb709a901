"""No key material anywhere; a provider rejecting the key ends the interview gracefully."""

from __future__ import annotations

import json
import logging
import sqlite3

from agent.config import Settings
from agent.log import install_redaction, register_secret
from agent.simulate import run_simulation
from persistence import SqliteStore
from persistence.outbox import Outbox

from .fake_openai import FakeOpenAI, last_user_text

USER_KEY = "sk-proj-SECRETSECRET-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"


def interviewer(fail_after: int | None = None, status: int = 401):
    calls = {"n": 0}

    def decide(body):
        calls["n"] += 1
        if fail_after is not None and calls["n"] > fail_after:
            return {"status": status}
        said = last_user_text(body)
        if said is None:
            return {"content": "Hello! Ready to begin?"}
        return {"content": f"Thanks. Next question number {calls['n']}?"}

    return decide


async def test_no_key_material_in_logs_rows_or_outbox(tmp_path, caplog):
    install_redaction()
    caplog.set_level(logging.DEBUG)
    async with FakeOpenAI(interviewer()) as server:
        settings = Settings(
            _env_file=None, openai_api_key=USER_KEY, openai_base_url=server.base_url
        )
        register_secret(USER_KEY)
        logging.getLogger("probe").warning("the key is %s", USER_KEY)  # must come out redacted
        result = await run_simulation(
            ["Yes.", "I build data pipelines in Python and SQL for a retailer.", "Thank you."],
            json.dumps({"candidate_name": "Ola", "job_role": "Data Scientist"}),
            settings=settings,
            store=SqliteStore(tmp_path / "store.db"),
            outbox=Outbox(tmp_path / "outbox.db"),
            room_name="room-secrets",
        )
    assert not result.offline and server.auth_headers[0] == f"Bearer {USER_KEY}"
    probes = (USER_KEY, USER_KEY[:12], USER_KEY[-12:])
    assert any(r.name == "probe" for r in caplog.records)
    for record in caplog.records:
        text = record.getMessage() + json.dumps(record.__dict__, default=str)
        for p in probes:
            assert p not in text, record.name
    saved = [
        json.dumps(r)
        for db in ("store.db", "outbox.db")
        for table in ("interviews", "feedback", "pending", "checkpoints")
        for r in _rows(tmp_path / db, table)
    ]
    assert saved and not any(p in s for s in saved for p in probes)
    assert result.row["metadata"]["models"]["llm"] == settings.interview_llm_model


def _rows(path, table):
    try:
        return sqlite3.connect(path).execute(f"select * from {table}").fetchall()
    except sqlite3.OperationalError:
        return []


async def test_provider_rejecting_the_key_ends_with_error_and_keeps_the_transcript(tmp_path):
    async with FakeOpenAI(interviewer(fail_after=2, status=401)) as server:
        settings = Settings(
            _env_file=None, openai_api_key=USER_KEY, openai_base_url=server.base_url
        )
        result = await run_simulation(
            [
                "Yes, ready.",
                "My background is in marketing analytics.",
                "More answers here.",
                "And more.",
            ],
            None,
            settings=settings,
            store=SqliteStore(tmp_path / "store.db"),
            outbox=Outbox(tmp_path / "outbox.db"),
            room_name="room-401",
        )
    row = result.row
    assert row["ended_by"] == "error"
    assert row["metadata"]["end_reason"] == "LLM: APIStatusError 401"
    [error] = row["metadata"]["errors"]
    assert error.pop("at")[:10] == row["metadata"]["ended_at"][:10]  # when, ISO-8601
    assert error == {"source": "LLM", "type": "APIStatusError", "recoverable": "False"}
    said = [m["text"] for m in row["conversation"]["messages"] if m["role"] == "candidate"]
    assert said[:2] == ["Yes, ready.", "My background is in marketing analytics."]
    assert result.interview_id is not None  # saved, not lost
    assert USER_KEY not in json.dumps(row)
