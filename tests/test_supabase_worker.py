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


def simulate_env(stack, tmp_path) -> dict[str, str]:
    """``simulate`` against the stack: no provider keys, the stack's URL and service key."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "DEEPGRAM", "LIVEKIT"))
    }
    env.update(
        SUPABASE_URL=stack.url,
        SUPABASE_SERVICE_ROLE_KEY=stack.service_key,
        INTERVIEW_OUTBOX_PATH=str(tmp_path / "outbox.db"),
    )
    return env


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
    env = simulate_env(supabase_stack, tmp_path)
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


def test_progress_across_interviews_from_supabase_and_the_user_progress_view(
    supabase_stack, tmp_path
):
    """The second interview of a user is compared with the first (read back through
    PostgREST), and ``user_progress`` shows the same figures."""
    user = supabase_stack.create_user(f"progress-{uuid.uuid4().hex[:6]}@example.com")
    (tmp_path / "md.json").write_text(json.dumps({"user_id": user, "job_role": "Teacher"}))
    env = simulate_env(supabase_stack, tmp_path)
    runs = []
    for script in ("Ready.\nI, um, teach maths to year nine.\n",
                   "Ready.\nI teach maths; I led the department's new assessment plan.\n"):  # fmt: skip
        (tmp_path / "s.txt").write_text(script)
        proc = subprocess.run(
            [sys.executable, "-m", "agent", "simulate", "--script", str(tmp_path / "s.txt"),
             "--metadata", str(tmp_path / "md.json"), "--json"],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads(proc.stdout))
    first, second = (r["feedback"]["progress"] for r in runs)
    assert first["first"] is True
    assert second["first"] is False and second["compared_with"]["same_role"] is True
    assert [h["interview_id"] for h in second["history"]] == [runs[0]["id"], runs[1]["id"]]
    fillers = second["figures"]["fillers_per_100_words"]
    assert fillers["before"] > 0 and fillers["now"] == 0 and fillers["better"] is True
    saved = json.loads(supabase_stack.psql(
        f"select feedback_data -> 'progress' from feedback where interview_id = '{runs[1]['id']}'"
    ))  # fmt: skip
    assert saved == second
    view = json.loads(supabase_stack.psql(
        "select row_to_json(p) from user_progress p where user_id = '" + user + "'"
    ))  # fmt: skip
    assert view["interviews_taken"] == 2
    assert float(view["latest_fillers_per_100_words"]) == 0
    assert float(view["average_fillers_per_100_words"]) == pytest.approx(
        fillers["before"] / 2, abs=0.01
    )
    assert float(view["latest_words_per_answer"]) == second["now"]["words_per_answer"]
