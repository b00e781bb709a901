"""Schema, RLS and the Supabase store against a real PostgreSQL + PostgREST."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from persistence import FeedbackRecord, InterviewRecord
from persistence.supabase_store import SupabaseStore

from .stack.local_supabase import MIGRATIONS

pytestmark = pytest.mark.stack


def interview(room: str, user_id: str | None, **over) -> InterviewRecord:
    base = dict(
        id=str(uuid.uuid4()),
        revision=1,
        room_name=room,
        user_id=user_id,
        candidate_name="Ada",
        interview_date="2026-11-21T10:00:00+00:00",
        job_role="Backend Developer",
        experience_level="mid",
        final_stage="closing",
        ended_by="completed",
        skipped_stages=["technical"],
        has_resume=True,
        has_jd=False,
        conversation={"schema_version": 1, "messages": [], "stages": []},
        total_messages={"agent": 0, "candidate": 0, "by_stage": {}},
        metadata={"worker_version": "test", "room_name": room},
    )
    base.update(over)
    return InterviewRecord(**base)


def rest(stack, key: str, method: str, path: str, **kw) -> httpx.Response:
    headers = {"apikey": key, "Authorization": f"Bearer {key}", "Prefer": "return=representation"}
    return httpx.request(method, f"{stack.url}/rest/v1/{path}", headers=headers, timeout=10, **kw)


@pytest.fixture
def users(supabase_stack):
    tag = uuid.uuid4().hex[:8]
    a = supabase_stack.create_user(f"a-{tag}@example.com")
    b = supabase_stack.create_user(f"b-{tag}@example.com")
    return a, b


def test_migrations_are_named_and_ordered_like_the_supabase_cli():
    names = sorted(p.name for p in MIGRATIONS.glob("*.sql"))
    assert names and all(re.fullmatch(r"\d{14}_[a-z0-9_]+\.sql", n) for n in names)
    assert len({n[:14] for n in names}) == len(names)


def test_schema_is_complete(supabase_stack):
    tables = supabase_stack.psql(
        "select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname='public'"
    ).split(",")
    assert tables == [
        "feedback",
        "interview_questions",
        "interviews",
        "job_roles",
        "user_api_keys",
        "users",
    ]
    rls = supabase_stack.psql(
        "select bool_and(rowsecurity) from pg_tables where schemaname='public'"
    )
    assert rls == "t"
    indexes = supabase_stack.psql(
        "select string_agg(indexname, ',') from pg_indexes where schemaname='public'"
    )
    for name in (
        "idx_interviews_user_id",
        "idx_interviews_interview_date",
        "idx_interviews_room_name",
        "idx_feedback_interview_id",
        "idx_feedback_user_id",
        "idx_user_api_keys_user_id",
    ):
        assert name in indexes
    assert supabase_stack.psql("select count(*) from public.interview_questions") == "3"


def test_auth_signup_creates_profile_and_updated_at_moves(supabase_stack, users):
    a, _ = users
    before = supabase_stack.psql(f"select updated_at from public.users where id='{a}'")
    supabase_stack.psql(f"update public.users set full_name='Ada L' where id='{a}'")
    after = supabase_stack.psql(f"select updated_at from public.users where id='{a}'")
    assert after > before


async def test_saving_twice_leaves_one_row_each(supabase_stack, users):
    a, _ = users
    store = SupabaseStore(supabase_stack.url, supabase_stack.service_key)
    room = f"room-{uuid.uuid4().hex[:8]}"
    rec = interview(room, a)
    try:
        first = await store.save(rec, FeedbackRecord(a, {"status": "partial", "n": 1}))
        newer = interview(room, a, id=rec.id, revision=2, ended_by="client_request")
        second = await store.save(newer, FeedbackRecord(a, {"status": "partial", "n": 2}))
        replay = await store.save(newer, FeedbackRecord(a, {"status": "partial", "n": 2}))
        assert first.interview_id == second.interview_id == rec.id
        assert (first.applied, second.applied, replay.applied) == (True, True, False)
        assert first.room_name == room
        saved = await store.get(rec.id)
        assert saved.interview.ended_by == "client_request" and saved.interview.revision == 2
        assert saved.interview.skipped_stages == ["technical"]
        assert saved.feedback.feedback_data == {"status": "partial", "n": 2}
        assert (await store.latest_in_room(room)).interview_id == rec.id
    finally:
        await store.aclose()
    assert supabase_stack.psql(f"select count(*) from interviews where room_name='{room}'") == "1"
    assert (
        supabase_stack.psql(f"select count(*) from feedback where interview_id='{rec.id}'") == "1"
    )


async def test_rls_isolates_users(supabase_stack, users):
    a, b = users
    store = SupabaseStore(supabase_stack.url, supabase_stack.service_key)
    try:
        ra, rb = interview(f"ra-{a}", a), interview(f"rb-{b}", b)
        ia = (await store.save(ra, FeedbackRecord(a, {"overall_score": 7}))).interview_id
        ib = (await store.save(rb, FeedbackRecord(b, {"overall_score": 4}))).interview_id
    finally:
        await store.aclose()
    ka, kb, anon = supabase_stack.user_key(a), supabase_stack.user_key(b), supabase_stack.anon_key

    seen = rest(supabase_stack, ka, "GET", "interviews?select=id,user_id").json()
    assert {r["user_id"] for r in seen} == {a}
    assert rest(supabase_stack, ka, "GET", f"feedback?interview_id=eq.{ib}").json() == []
    assert rest(supabase_stack, ka, "GET", "users?select=id").json() == [{"id": a}]

    # A cannot change or delete B's rows (RLS filters them out: zero rows touched)
    assert (
        rest(supabase_stack, ka, "PATCH", f"users?id=eq.{b}", json={"full_name": "x"}).json() == []
    )
    assert rest(supabase_stack, ka, "DELETE", f"interviews?id=eq.{ib}").json() == []
    assert supabase_stack.psql(f"select count(*) from interviews where id='{ib}'") == "1"
    assert (
        rest(supabase_stack, ka, "PATCH", f"users?id=eq.{a}", json={"full_name": "Ada"}).json()[0][
            "full_name"
        ]
        == "Ada"
    )

    # users never write interviews or feedback
    r = rest(supabase_stack, ka, "POST", "interviews", json={"room_name": "forged", "user_id": a})
    assert r.status_code in (401, 403) and r.json()["code"] == "42501"
    r = rest(
        supabase_stack,
        ka,
        "POST",
        "feedback",
        json={"interview_id": ia, "user_id": a, "feedback_data": {}},
    )
    assert r.json()["code"] == "42501"
    r = rest(supabase_stack, ka, "PATCH", f"interviews?id=eq.{ia}", json={"ended_by": "forged"})
    assert r.json() == []

    # keys: own only
    salt = "c2FsdA=="
    r = rest(
        supabase_stack, ka, "POST", "user_api_keys", json={"user_id": a, "encryption_salt": salt}
    )
    assert r.status_code == 201
    r = rest(
        supabase_stack, ka, "POST", "user_api_keys", json={"user_id": b, "encryption_salt": salt}
    )
    assert r.json()["code"] == "42501"
    assert rest(supabase_stack, kb, "GET", "user_api_keys").json() == []

    # anon sees nothing private
    for table in ("interviews", "feedback", "users", "user_api_keys"):
        assert rest(supabase_stack, anon, "GET", table).json() == [], table
    assert len(rest(supabase_stack, anon, "GET", "job_roles").json()) == 6

    # progress view: own row only
    progress = rest(supabase_stack, ka, "GET", "user_progress").json()
    assert len(progress) == 1 and progress[0]["user_id"] == a
    assert progress[0]["interviews_taken"] == 1 and float(progress[0]["best_score"]) == 7
    assert rest(supabase_stack, anon, "GET", "user_progress").status_code in (401, 403)


async def test_deleting_a_user_cascades(supabase_stack, users):
    a, _ = users
    store = SupabaseStore(supabase_stack.url, supabase_stack.service_key)
    try:
        await store.save(interview(f"rc-{a}", a), FeedbackRecord(a, {}))
    finally:
        await store.aclose()
    supabase_stack.psql(f"insert into user_api_keys (user_id, encryption_salt) values ('{a}', 's')")
    supabase_stack.psql(f"delete from auth.users where id='{a}'")
    for table, col in (
        ("users", "id"),
        ("interviews", "user_id"),
        ("feedback", "user_id"),
        ("user_api_keys", "user_id"),
    ):
        assert supabase_stack.psql(f"select count(*) from {table} where {col}='{a}'") == "0", table


async def test_store_errors_are_clear_when_postgrest_is_down(supabase_stack):
    store = SupabaseStore(supabase_stack.url, supabase_stack.service_key, timeout_s=3)
    supabase_stack.stop_postgrest()
    try:
        from persistence import StoreError

        with pytest.raises(StoreError) as err:
            await store.save(interview(f"down-{uuid.uuid4().hex[:6]}", None), None)
        assert "supabase save failed" in str(err.value)
        assert "Ada" not in str(err.value)  # row contents never in errors
    finally:
        supabase_stack.start_postgrest()
        await store.aclose()


def test_a_user_cannot_take_someone_elses_email(supabase_stack, users):
    a, b = users
    ka = supabase_stack.user_key(a)
    b_email = supabase_stack.psql(f"select email from public.users where id='{b}'")
    future = f"future-{uuid.uuid4().hex[:8]}@example.com"
    for email in (b_email, future):
        r = rest(supabase_stack, ka, "PATCH", f"users?id=eq.{a}", json={"email": email})
        assert r.status_code in (401, 403) and r.json()["code"] == "42501"
    assert supabase_stack.psql(f"select email from public.users where id='{b}'") == b_email
    mine = rest(supabase_stack, supabase_stack.user_key(b), "GET", "users?select=email").json()
    assert mine == [{"email": b_email}]  # B, with B's own token, still sees their address
    # the person who owns that address can still sign up
    c = supabase_stack.create_user(future)
    assert supabase_stack.psql(f"select email from public.users where id='{c}'") == future
    # name and avatar stay editable; the email follows auth when it changes there
    r = rest(supabase_stack, ka, "PATCH", f"users?id=eq.{a}", json={"full_name": "Ada L"})
    assert r.status_code == 200 and r.json()[0]["full_name"] == "Ada L"
    moved = f"moved-{uuid.uuid4().hex[:8]}@example.com"
    supabase_stack.psql(f"update auth.users set email='{moved}' where id='{a}'")
    assert supabase_stack.psql(f"select email from public.users where id='{a}'") == moved
