"""What the candidate said is saved first, whatever else fails; bad text is cleaned, kept."""

from __future__ import annotations

import json
import logging
import sqlite3

import pytest

from agent.config import Settings
from agent.simulate import run_simulation
from feedback.schema import FeedbackData
from persistence import SqliteStore
from persistence.outbox import Outbox
from persistence.supabase_store import SupabaseStore
from stages.metadata import parse_metadata
from stages.text import clean_text


async def simulate(tmp_path, lines, metadata, store=None, room=None):
    store = store or SqliteStore(tmp_path / "interviews.db")
    try:
        return await run_simulation(
            lines,
            metadata,
            settings=Settings(_env_file=None),
            store=store,
            outbox=Outbox(tmp_path / "outbox.db"),
            offline=True,
            room_name=room,
        )
    finally:
        await store.aclose()


def candidate_lines(row) -> list[str]:
    return [m["text"] for m in row["conversation"]["messages"] if m["role"] == "candidate"]


async def test_fillers_in_the_reply_to_the_greeting_lose_nothing(tmp_path):
    # found by a user: fillers counted, no answers, max() of nothing, nothing saved
    script = ["Um, uh, um, yes, I'm, uh, ready.", "I want to stop here.", "Yes."]
    result = await simulate(tmp_path, script, json.dumps({"job_role": "Nurse"}))
    assert result.interview_id is not None
    assert candidate_lines(result.row) == script
    assert result.row["ended_by"] == "candidate_request"
    FeedbackData.model_validate(result.feedback)
    assert result.feedback["status"] == "partial"


async def test_feedback_that_raises_costs_only_the_feedback(tmp_path, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug in feedback code")

    monkeypatch.setattr("interview.rows.offline_feedback", broken)
    script = [
        "Yes, ready.",
        "I am a nurse with eight years on a cardiac ward.",
        "I want to move into a charge nurse role on a teaching hospital ward.",
        "I led the switch to electronic handovers on our ward last year.",
    ]
    with caplog.at_level(logging.ERROR, logger="interview.persist"):
        result = await simulate(tmp_path, script, json.dumps({"job_role": "Nurse"}))
    assert result.interview_id is not None
    assert candidate_lines(result.row) == script
    fb = result.feedback
    FeedbackData.model_validate(fb)
    assert fb["status"] == "failed" and fb["overall_score"] is None
    assert fb["generated_by"]["error"] == "feedback could not be computed: ZeroDivisionError"
    failures = [r for r in caplog.records if "feedback could not be computed" in r.getMessage()]
    assert len(failures) == 1  # every checkpoint hit it; it is logged once
    assert "a bug in feedback code" not in failures[0].getMessage()
    db = sqlite3.connect(tmp_path / "interviews.db")
    saved = json.loads(db.execute("select feedback_data from feedback").fetchone()[0])
    assert saved["status"] == "failed"


HOSTILE_TEXT = [
    "Yes \ud83d ready",  # half an emoji (a cut surrogate pair)
    "I am Ada \ud83d\ude00 and I like \x00 NULs, \x1b[31m escapes and \x7f deletes.",
    "Right-to-left \u202e text, zero\u200bwidth, and a lone low \udc00 surrogate.",
]


def _cleaned(lines: list[str]) -> list[str]:
    return [clean_text(line).strip() for line in lines]


async def test_lone_surrogates_and_control_characters_are_cleaned_and_saved(tmp_path):
    metadata = '{"candidate_name": "Ada \\ud83d", "job_role": "Data\\u0000 Analyst"}'
    result = await simulate(tmp_path, HOSTILE_TEXT, metadata)
    assert result.interview_id is not None
    assert candidate_lines(result.row) == _cleaned(HOSTILE_TEXT)
    assert result.row["candidate_name"] == "Ada \ufffd"
    assert result.row["job_role"] == "Data  Analyst"  # NUL replaced, never stored
    said = candidate_lines(result.row)
    assert "\ufffd" in said[0] and "\U0001f600" in said[1]  # a whole pair is kept
    assert not any(ch in "".join(said) for ch in "\x00\x1b\x7f")


@pytest.mark.stack
async def test_the_same_text_reaches_postgresql(supabase_stack, tmp_path):
    metadata = '{"candidate_name": "Ada \\ud83d", "job_role": "Backend Developer"}'
    store = SupabaseStore(supabase_stack.url, supabase_stack.service_key)
    result = await simulate(tmp_path, HOSTILE_TEXT, metadata, store=store)
    assert result.interview_id is not None
    name = supabase_stack.psql(
        f"select candidate_name from interviews where id = '{result.interview_id}'"
    )
    assert name == "Ada \ufffd"
    texts = supabase_stack.psql(
        "select string_agg(m->>'text', '|') from interviews, "
        "jsonb_array_elements(conversation->'messages') m "
        f"where id = '{result.interview_id}' and m->>'role' = 'candidate'"
    )
    assert texts.split("|") == _cleaned(HOSTILE_TEXT)


def test_metadata_that_is_not_utf8_is_cleaned_not_refused():
    raw = b'{"candidate_name": "Ad\xff\xfe", "job_role": "Nurse"}'
    md = parse_metadata(raw, require_user=False)
    assert md.candidate_name == "Ad\ufffd\ufffd" and md.job_role == "Nurse"
    assert "metadata was not valid UTF-8; invalid bytes replaced" in md.warnings
