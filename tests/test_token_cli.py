"""``python -m agent token``: a token that joins the room and dispatches this agent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from livekit import api

from commands.main import main

KEY, SECRET = "devkey-token-test", "a-long-enough-secret-for-hs256-signing-0123"


@pytest.fixture
def livekit_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    for name in ("SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "LIVEKIT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LIVEKIT_API_KEY", KEY)
    monkeypatch.setenv("LIVEKIT_API_SECRET", SECRET)
    monkeypatch.setenv("AGENT_NAME", "interviewer-dev")


def test_the_token_joins_the_room_and_dispatches_the_agent_with_the_metadata(
    livekit_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    metadata = {"job_role": "Registered Nurse", "experience_level": "mid",
                "candidate_name": "Ada", "user_id": "6f1c1f3e-3f57-4d2e-9a51-3c1c1b0e0d2a"}  # fmt: skip
    (tmp_path / "md.json").write_text(json.dumps(metadata))
    code = main(["token", "--room", "practice-1", "--identity", "ada",
                 "--metadata", str(tmp_path / "md.json")])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    claims = api.TokenVerifier(KEY, SECRET).verify(out.strip())
    assert claims.identity == "ada"
    assert claims.video is not None and claims.video.room_join and claims.video.room == "practice-1"
    assert claims.room_config is not None
    (dispatch,) = claims.room_config.agents
    assert dispatch.agent_name == "interviewer-dev"
    assert json.loads(dispatch.metadata) == metadata
    assert SECRET not in out + err and "interviewer-dev" in err


def test_bad_metadata_or_missing_keys_make_no_token(
    livekit_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    (tmp_path / "bad.json").write_text("[1, 2]")
    assert main(["token", "--room", "r", "--identity", "a", "--metadata",
                 str(tmp_path / "bad.json")]) == 2  # fmt: skip
    out, err = capsys.readouterr()
    assert out == "" and "metadata" in err
    # the worker refuses a dispatch that does not say whose interview it is: no user_id,
    # no token, with the local store as with Supabase
    assert main(["token", "--room", "r", "--identity", "a"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "user_id" in err
    monkeypatch.setenv("SUPABASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", "service-role")
    assert main(["token", "--room", "r", "--identity", "a"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "user_id" in err
    monkeypatch.delenv("LIVEKIT_API_SECRET")
    assert main(["token", "--room", "r", "--identity", "a"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "LIVEKIT_API_SECRET" in err
