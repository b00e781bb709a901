"""Adopting the worker on an existing Supabase project: the migrations apply on an empty
project and on one built from the seed schema with rows in it (kept as they were), twice
over; then an interview runs through the worker and reads back, and the earlier app's
Fernet-sealed keys open and re-seal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from byok.sealing import Keyring, is_legacy
from byok.user_keys import load_user_keys
from persistence.supabase_store import SupabaseStore

from .services import start_or_skip
from .stack.local_supabase import SEED_000, LocalSupabase

pytestmark = pytest.mark.stack

LEGACY_KEY = Fernet.generate_key().decode()
MASTER = "k2026:" + "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
OPENAI = "sk-test-legacy-owner-0123456789abcdef"
DEEPGRAM = "dg-test-legacy-owner-0123456789abc"
SNAPSHOT = {  # the seed schema's own columns, which the migrations must leave as they were
    "users": "id, email, full_name, avatar_url, created_at, updated_at",
    "user_api_keys": "id, user_id, openai_key_encrypted, deepgram_key_encrypted, "
    "livekit_url_encrypted, livekit_key_encrypted, livekit_secret_encrypted, encryption_salt, "
    "updated_at",
    "interviews": "id, user_id, candidate_name, interview_date, room_name, job_role, "
    "experience_level, final_stage, ended_by, skipped_stages, has_resume, has_jd, "
    "conversation, total_messages, created_at",
    "feedback": "id, user_id, interview_id, feedback_data, created_at",
}


def snapshot(stack: LocalSupabase) -> dict[str, str]:
    return {
        table: stack.psql(
            f"select coalesce(string_agg(r::text, E'\\n' order by r::text), '') "
            f"from (select {cols} from public.{table}) r"
        )
        for table, cols in SNAPSHOT.items()
    }


def seed_rows(stack: LocalSupabase) -> dict[str, str]:
    """What an adopter's project holds: two users (profiles made by their own trigger),
    keys sealed by their app (Fernet, constant salt; the second user's under another
    key), and a finished interview with its feedback."""
    owner = stack.create_user(f"owner-{uuid.uuid4().hex[:6]}@example.com")
    other = stack.create_user(f"other-{uuid.uuid4().hex[:6]}@example.com")
    mine, theirs = Fernet(LEGACY_KEY.encode()), Fernet(Fernet.generate_key())
    for user, f in ((owner, mine), (other, theirs)):
        openai = f.encrypt(OPENAI.encode()).decode()
        deepgram = f.encrypt(DEEPGRAM.encode()).decode()
        stack.psql(
            "insert into user_api_keys (user_id, openai_key_encrypted, deepgram_key_encrypted, "
            f"encryption_salt) values ('{user}', '{openai}', '{deepgram}', 'salt_v1')"
        )
    interview = stack.psql(
        "insert into interviews (user_id, candidate_name, room_name, job_role, experience_level, "
        "final_stage, ended_by, conversation, total_messages) values "
        f"('{owner}', 'Ada', 'old-room-{owner[:8]}', 'Backend Developer', 'mid', 'closing', "
        '\'completed\', \'[{"role": "agent", "text": "Hello"}]\', \'{"agent": 1}\') returning id'
    )
    stack.psql(
        "insert into feedback (user_id, interview_id, feedback_data) values "
        f"('{owner}', '{interview}', '{{\"overall_score\": 7}}')"
    )
    return {"owner": owner, "other": other}


def agent(stack: LocalSupabase, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI", "DEEPGRAM", "LIVEKIT", "BYOK", "LEGACY"))
    }
    env.update(
        SUPABASE_URL=stack.url,
        SUPABASE_SERVICE_ROLE_KEY=stack.service_key,
        BYOK_MASTER_KEYS=MASTER,
        LEGACY_FERNET_KEY=LEGACY_KEY,
        INTERVIEW_OUTBOX_PATH=str(cwd / "outbox.db"),
    )
    return subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=120)  # fmt: skip


PROJECTS = {
    "empty project": [],
    "seed-000 project with rows": [SEED_000],
    "seed-000 without interviews.metadata": [
        SEED_000,
        "alter table interviews drop column metadata",
    ],
}


@pytest.fixture(params=list(PROJECTS), scope="module")
def project(request, tmp_path_factory):
    work = tmp_path_factory.mktemp("project")
    before = []
    for n, item in enumerate(PROJECTS[request.param]):
        if isinstance(item, str):
            (work / f"{n}.sql").write_text(item + ";\n")
            item = work / f"{n}.sql"
        before.append(item)
    stack = start_or_skip(
        lambda: LocalSupabase().start(before, migrate=False), "the adoption stack tests"
    )
    rows = seed_rows(stack) if before else {}
    yield request.param, stack, rows
    stack.stop()


def test_migrations_apply_twice_keep_rows_and_the_worker_saves(project, tmp_path):
    name, stack, rows = project
    before = snapshot(stack) if rows else None
    stack.migrate()
    stack.migrate()  # re-runnable
    if before is not None:
        assert snapshot(stack) == before, name
    stack.stop_postgrest()
    stack.start_postgrest()  # PostgREST reads the new schema
    functions = stack.psql("select count(*) from pg_proc where proname = 'save_interview'")
    assert functions == "1"
    assert stack.psql("select count(*) from job_roles where title = 'Backend Developer'") == "1"
    assert stack.psql("select count(*) from interview_questions") == "3"
    newcomer = stack.create_user(f"new-{uuid.uuid4().hex[:6]}@example.com")  # one profile
    assert stack.psql(f"select count(*) from users where id = '{newcomer}'") == "1"
    user = rows.get("owner") or newcomer

    room = f"adopt-{uuid.uuid4().hex[:8]}"
    md = {"user_id": user, "candidate_name": "Kim", "job_role": "Nurse", "experience_level": "mid"}
    (tmp_path / "md.json").write_text(json.dumps(md))
    (tmp_path / "s.txt").write_text(
        "\n".join(
            ["Ready."] + [f"Answer {i}: I triaged patients on a busy ward." for i in range(8)]
        )
    )
    sim = agent(stack, "simulate", "--script", str(tmp_path / "s.txt"), "--metadata",
                str(tmp_path / "md.json"), "--room", room, "--json", cwd=tmp_path)  # fmt: skip
    assert sim.returncode == 0, sim.stderr
    out = json.loads(sim.stdout)
    saved = stack.psql(
        "select json_build_object('user', user_id, 'ended_by', ended_by, 'messages', "
        "jsonb_array_length(conversation -> 'messages'), 'room', metadata ->> 'room_name') "
        f"from interviews where id = '{out['id']}'"
    )
    assert json.loads(saved) == {
        "user": user,
        "ended_by": out["ended_by"],
        "messages": len(out["conversation"]["messages"]),
        "room": room,
    }
    assert stack.psql(f"select count(*) from feedback where interview_id = '{out['id']}'") == "1"
    if before is not None:  # the earlier rows are still there, untouched by the new one
        after = snapshot(stack)
        for table, kept in before.items():
            assert set(kept.splitlines()) <= set(after[table].splitlines()), table


async def test_the_earlier_apps_keys_open_and_reseal(project, tmp_path):
    _, stack, rows = project
    if not rows:
        pytest.skip("an empty project has no earlier keys")
    if stack.psql("select count(*) from pg_proc where proname = 'save_interview'") == "0":
        stack.migrate()
        stack.stop_postgrest()
        stack.start_postgrest()
    owner, other = rows["owner"], rows["other"]
    store = SupabaseStore(stack.url, stack.service_key)
    try:
        keys = await load_user_keys(store, Keyring.parse(MASTER, LEGACY_KEY), owner)
    finally:
        await store.aclose()
    assert (keys.providers["openai"], keys.providers["deepgram"]) == (OPENAI, DEEPGRAM)

    other_before = stack.psql(
        f"select user_api_keys::text from user_api_keys where user_id = '{other}'"
    )
    rotate = agent(stack, "keys", "rotate", cwd=tmp_path)
    assert rotate.returncode == 1 and "rotated 1," in rotate.stdout and "failed 1" in rotate.stdout
    assert f"user {other}: not rotated: legacy Fernet value does not open" in rotate.stderr
    assert OPENAI not in rotate.stdout + rotate.stderr and LEGACY_KEY not in rotate.stderr
    row = stack.psql(
        "select json_build_object('salt', encryption_salt, 'openai', openai_key_encrypted, "
        f"'deepgram', deepgram_key_encrypted) from user_api_keys where user_id = '{owner}'"
    )
    resealed = json.loads(row)
    assert resealed["salt"] != "salt_v1"
    assert all(resealed[c].startswith("v1.k2026.") for c in ("openai", "deepgram"))
    assert not any(is_legacy(resealed[c]) for c in ("openai", "deepgram"))
    assert (
        stack.psql(f"select user_api_keys::text from user_api_keys where user_id = '{other}'")
        == other_before
    )
    check = agent(stack, "keys", "check", "--user-id", owner, cwd=tmp_path)
    assert "openai          present, opens (key k2026)" in check.stdout, check.stdout
    again = agent(stack, "keys", "rotate", cwd=tmp_path)
    assert again.stdout.startswith("rotated 0, already on k2026 1,"), again.stdout
