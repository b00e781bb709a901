"""The worker's own paths against the real stack: questions from the database, and a
whole interview saved to Supabase through the outbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from agent.questions import stored_questions
from persistence.supabase_store import SupabaseStore

pytestmark = pytest.mark.stack

DB_QUESTION = "Describe how you would design rate limiting for a public API."


@pytest.fixture
def db_question(supabase_stack):
    supabase_stack.psql(
        "insert into interview_questions (job_role_id, question_text, question_type, difficulty_level, "
        "expected_answer_keywords) values ((select id from job_roles where title='Backend Developer'), "
        f"'{DB_QUESTION}', 'technical', 'medium', array['Token Bucket', 'quota', 'redis'])"
    )
    yield
    supabase_stack.psql(f"delete from interview_questions where question_text='{DB_QUESTION}'")


async def test_questions_come_from_the_database(supabase_stack, db_question):
    store = SupabaseStore(supabase_stack.url, supabase_stack.service_key)
    try:
        technical, behavioral = await stored_questions(store, "backend developer")
        unknown = await stored_questions(store, "Underwater basket weaver")
    finally:
        await store.aclose()
    texts = [q.text for q in technical]
    assert (
        DB_QUESTION in texts and "Explain the difference between SQL and NoSQL databases." in texts
    )
    q = technical[texts.index(DB_QUESTION)]
    assert q.keywords == ("token bucket", "quota", "redis") and "mid" in q.levels
    assert behavioral == [] and unknown == ([], [])


def test_simulate_saves_to_supabase_and_asks_database_questions(
    supabase_stack, db_question, tmp_path
):
    room = f"room-sim-{uuid.uuid4().hex[:8]}"
    user = supabase_stack.create_user(f"sim-{uuid.uuid4().hex[:6]}@example.com")
    (tmp_path / "md.json").write_text(
        json.dumps(
            {
                "user_id": user,
                "candidate_name": "Kim",
                "job_role": "Backend Developer",
                "experience_level": "mid",
            }
        )
    )
    (tmp_path / "s.txt").write_text(
        "\n".join(
            ["Ready."]
            + [f"Answer number {i} describes my recent backend work in detail." for i in range(8)]
        )
    )
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "DEEPGRAM", "LIVEKIT"))
    }
    env.update(
        SUPABASE_URL=supabase_stack.url,
        SUPABASE_SERVICE_ROLE_KEY=supabase_stack.service_key,
        INTERVIEW_OUTBOX_PATH=str(tmp_path / "outbox.db"),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "simulate", "--script", str(tmp_path / "s.txt"),
         "--metadata", str(tmp_path / "md.json"), "--room", room, "--json"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    technical = [
        m["text"]
        for m in out["conversation"]["messages"]
        if m["role"] == "agent" and m["stage"] == "technical"
    ]
    assert any(DB_QUESTION in t for t in technical), (technical, proc.stderr)
    assert supabase_stack.psql(f"select user_id from interviews where room_name='{room}'") == user
    assert (
        supabase_stack.psql(f"select ended_by from interviews where room_name='{room}'")
        == out["ended_by"]
    )
    assert (
        supabase_stack.psql(
            f"select count(*) from feedback f join interviews i on i.id=f.interview_id where i.room_name='{room}'"
        )
        == "1"
    )
