"""The playground's web server (``agent/web_app.py``) and its command's safety checks:
bad or hostile input never gets a token, a token is for one room and short-lived, the user
id never comes from the page, other sites and rebound host names are refused, served
beyond loopback it wants the access code, and a report is only of its own interviews."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from livekit import api

from agent.config import load_settings
from agent.web_app import (
    COOKIE,
    FORM_FIELDS,
    Playground,
    PlaygroundConfig,
    Started,
    web_app,
)
from commands.main import main
from persistence.sqlite_store import SqliteStore
from stages.metadata import LIMITS, parse_metadata

ROOT = Path(__file__).resolve().parent.parent
KEY, SECRET = "page-test-key", "a-long-enough-secret-for-hs256-signing-page-0123"
USER = "0d3c6a51-6a55-4f47-9d7e-8f0a4f5d1c2b"
GOOD = {"candidate_name": "Ada", "job_role": "Backend Developer", "consent": True}


def _playground(db: Path, *, code: str | None = None) -> Playground:
    os.environ.pop("SUPABASE_URL", None)
    settings = load_settings().model_copy(update={"interview_db_path": db})
    config = PlaygroundConfig(
        livekit_url="ws://127.0.0.1:7880", api_key=KEY, api_secret=SECRET,
        agent_name="interviewer-page", user_id=USER, access_code=code,
    )  # fmt: skip
    return Playground(config, settings, lambda: SqliteStore(db))


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:
    playground = _playground(tmp_path / "interviews.db")
    async with TestClient(TestServer(web_app(playground), host="127.0.0.1")) as c:
        yield c


def _claims(token: str) -> Any:
    return api.TokenVerifier(KEY, SECRET).verify(token)


async def test_a_filled_in_form_gets_a_short_lived_token_for_one_new_room(
    client: TestClient,
) -> None:
    form = {**GOOD, "experience_level": "senior", "resume_text": "Python, Kafka",
            "job_description": "APIs", "record_audio": True,
            "user_id": "11111111-1111-4111-8111-111111111111"}  # fmt: skip
    r = await client.post("/api/interviews", json=form)
    assert r.status == 200, await r.text()
    body = await r.json()
    claims = _claims(body["token"])
    assert claims.video.room == body["room"] and claims.video.room_join
    assert claims.identity == body["identity"] and body["identity"].startswith("candidate-")
    assert body["url"] == "ws://127.0.0.1:7880"
    (dispatch,) = claims.room_config.agents
    assert dispatch.agent_name == "interviewer-page"
    md = json.loads(dispatch.metadata)
    assert md["user_id"] == USER  # the page's own user_id is ignored
    assert md["record_audio"] is True and md["experience_level"] == "senior"
    # a second form: another room, another identity
    other = await (await client.post("/api/interviews", json=GOOD)).json()
    assert other["room"] != body["room"] and other["identity"] != body["identity"]
    # rejoin: same room and identity, no second dispatch; a wrong ticket gets nothing
    r = await client.post("/api/rejoin", json={"room": body["room"], "ticket": body["ticket"]})
    again = _claims((await r.json())["token"])
    assert (again.video.room, again.identity) == (body["room"], body["identity"])
    assert not again.room_config or not again.room_config.agents
    for bad in ({"room": body["room"], "ticket": "x"}, {"room": "nope", "ticket": body["ticket"]},
                {"room": body["room"]}, {}):  # fmt: skip
        r = await client.post("/api/rejoin", json=bad)
        assert r.status == 410 and "token" not in await r.text()


def test_tokens_live_ten_minutes() -> None:
    assert PlaygroundConfig("ws://x", "k", "s", "a", USER).token_ttl == timedelta(minutes=10)


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({**GOOD, "consent": False}, "consent"),
        ({**GOOD, "consent": "yes"}, "consent"),
        ({k: v for k, v in GOOD.items() if k != "consent"}, "consent"),
        ({**GOOD, "candidate_name": "   "}, "candidate_name"),
        ({**GOOD, "job_role": ""}, "job_role"),
        ({**GOOD, "job_role": ["Backend"]}, "job_role"),
        ({**GOOD, "experience_level": "wizard"}, "experience_level"),
        ({**GOOD, "resume_text": "x" * (LIMITS["resume_text"] + 1)}, "resume_text"),
        ({**GOOD, "candidate_name": "A" * 101}, "candidate_name"),
        ({**GOOD, "record_audio": "true"}, "record_audio"),
    ],
)
async def test_bad_input_is_answered_at_the_form_never_with_a_token(
    client: TestClient, form: dict[str, Any], field: str
) -> None:
    r = await client.post("/api/interviews", json=form)
    body = await r.json()
    assert r.status == 400 and body["field"] == field and body["error"]
    assert "token" not in body


async def test_only_this_pages_json_is_taken(client: TestClient) -> None:
    # not JSON, not an object, a form post (what another site could send), too large
    r = await client.post("/api/interviews", data="{", headers={"Content-Type": "application/json"})
    assert r.status == 400
    r = await client.post("/api/interviews", json=[GOOD])
    assert r.status == 400
    r = await client.post("/api/interviews", data={"candidate_name": "Ada"})
    assert r.status == 415
    r = await client.post("/api/interviews", json={**GOOD, "resume_text": "x" * 300_000})
    assert r.status == 413
    # another site's page, and a DNS name rebound to this machine
    r = await client.post("/api/interviews", json=GOOD, headers={"Origin": "https://evil.example"})
    assert r.status == 403
    r = await client.post("/api/interviews", json=GOOD, headers={"Host": "evil.example:80"})
    assert r.status == 403
    r = await client.get("/", headers={"Host": "rebound.example"})
    assert r.status == 403
    page = await client.get("/")
    assert page.status == 200
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "ws://127.0.0.1:7880" in csp


FORM_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
    st.text(max_size=200), st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
    st.sampled_from(["entry", "mid", "senior", "executive", "junior", "", "  "]),
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    form=st.dictionaries(
        st.sampled_from([*FORM_FIELDS, "consent", "record_audio", "user_id", "stages"]),
        FORM_VALUES,
        max_size=9,
    )
)
def test_any_form_gets_a_clean_token_or_a_clear_error_never_a_failure(
    form: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    async def run() -> None:
        playground = _playground(tmp_path_factory.mktemp("page") / "i.db")
        async with TestClient(TestServer(web_app(playground), host="127.0.0.1")) as c:
            r = await c.post("/api/interviews", json=form)
            body = await r.json()
            assert r.status in (200, 400), body
            if r.status == 400:
                assert body["error"] and "token" not in body
                return
            (dispatch,) = _claims(body["token"]).room_config.agents
            md = parse_metadata(dispatch.metadata, require_user=True)
            assert md.user_id == USER and md.warnings == []
            assert set(json.loads(dispatch.metadata)) <= {*FORM_FIELDS, "record_audio", "user_id"}
            assert form.get("consent") is True

    asyncio.run(run())


async def test_beyond_loopback_the_access_code_is_asked_for_and_kept_in_a_cookie(
    tmp_path: Path,
) -> None:
    playground = _playground(tmp_path / "i.db", code="open-sesame-123")
    async with TestClient(TestServer(web_app(playground), host="127.0.0.1")) as c:
        info = await (await c.get("/api/config", headers={"Host": "interviews.example"})).json()
        assert info["access_code"] is True and info["signed_in"] is False
        r = await c.post("/api/interviews", json=GOOD)
        assert r.status == 401
        r = await c.post("/api/access", json={"code": "wrong"})
        assert r.status == 401 and COOKIE not in r.cookies
        r = await c.post("/api/access", json={"code": "open-sesame-123"})
        assert r.status == 200
        cookie = r.cookies[COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Strict"
        assert "open-sesame" not in cookie.value
        r = await c.post("/api/interviews", json=GOOD)
        assert r.status == 200


async def test_a_report_is_shown_only_for_an_interview_this_page_started(tmp_path: Path) -> None:
    db = tmp_path / "interviews.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "SUPABASE"))}
    env["INTERVIEW_DB_PATH"] = str(db)
    script = tmp_path / "script.txt"
    script.write_text("Yes, I'm ready.\nI build payment services in Python and PostgreSQL.\n")
    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "agent", "simulate", "--offline", "--json", "--room", "mine",
         "--script", str(script)],
        capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    interview_id = json.loads(out.stdout)["id"]
    playground = _playground(db)
    async with TestClient(TestServer(web_app(playground), host="127.0.0.1")) as c:
        # saved, but not by an interview of this page (someone else's, by its id)
        assert (await c.get(f"/report/{interview_id}")).status == 404
        playground.rooms["mine"] = Started("mine", "candidate-1", "t", "{}", time.monotonic())
        r = await c.get(f"/report/{interview_id}")
        assert r.status == 200 and "Interview feedback" in await r.text()
        assert "unsafe-inline" in r.headers["Content-Security-Policy"]
        assert (await c.get("/report/not-a-uuid")).status == 404
        assert (await c.get("/recordings/u/../../etc/passwd.wav")).status == 404


@pytest.fixture
def local_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No Supabase, no LiveKit server configured, and no .env of the checkout."""
    monkeypatch.chdir(tmp_path)
    for name in ("SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "LIVEKIT_URL"):
        monkeypatch.delenv(name, raising=False)


def test_the_command_refuses_to_serve_beyond_loopback_unasked_or_without_a_user(
    local_mode: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["playground", "--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err
    assert main(["playground", "--user-id", "me"]) == 2
    assert "UUID" in capsys.readouterr().err
    monkeypatch.setenv("SUPABASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", "service-role")
    assert main(["playground"]) == 2
    assert "--user-id" in capsys.readouterr().err


def test_a_missing_livekit_build_is_one_line_naming_what_installs_it(
    local_mode: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from agent import playground

    monkeypatch.setattr(playground, "LIVEKIT_BIN", tmp_path / "no-such-livekit-server")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["playground", "--port", "0"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "scripts/test-services" in err[0], err
