"""BYOK against the real stack: keys CLI, rotation, per-session loading and its refusals."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid

import pytest

from agent.config import Settings
from agent.worker import session_provider_keys
from byok.sealing import Keyring, SecretDecryptionError
from byok.user_keys import KeyLoadError, load_user_keys
from persistence.supabase_store import SupabaseStore
from providers import choose
from stages.metadata import parse_metadata

pytestmark = pytest.mark.stack

OPENAI = "sk-proj-user-owned-0123456789abcdefghij"
DEEPGRAM = "dg-user-owned-0123456789abcdef"
K_OLD = "old:" + base64.b64encode(bytes(range(32))).decode()
K_NEW = "new:" + base64.b64encode(bytes(range(1, 33))).decode()


def agent(stack, *args, master=K_OLD, stdin=None, **extra_env):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI", "DEEPGRAM", "LIVEKIT", "BYOK"))
    }
    env.update(
        SUPABASE_URL=stack.url, SUPABASE_SERVICE_ROLE_KEY=stack.service_key, BYOK_MASTER_KEYS=master
    )
    env.update(extra_env)
    return subprocess.run([sys.executable, "-m", "agent", *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=60)  # fmt: skip


def set_keys(stack, user, lines):
    """``keys set`` for ``user`` with ``name=value`` lines on stdin."""
    return agent(stack, "keys", "set", "--user-id", user, "--stdin", stdin=lines)


@pytest.fixture
def user(supabase_stack):
    return supabase_stack.create_user(f"k-{uuid.uuid4().hex[:8]}@example.com")


def test_keys_set_check_never_show_secrets(supabase_stack, user):
    out = set_keys(supabase_stack, user, f"openai={OPENAI}\ndeepgram={DEEPGRAM}\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"saved 2 key(s) for user {user}: deepgram, openai"
    row = supabase_stack.psql(
        f"select openai_key_encrypted || ' ' || encryption_salt from user_api_keys where user_id='{user}'"
    )
    assert row.startswith("v1.old.") and OPENAI not in row
    check = agent(supabase_stack, "keys", "check", "--user-id", user)
    assert check.returncode == 0
    assert "openai          present, opens (key old)" in check.stdout
    assert "livekit_url     absent" in check.stdout
    for stream in (out.stdout, out.stderr, check.stdout, check.stderr):
        assert OPENAI not in stream and OPENAI[:12] not in stream and DEEPGRAM not in stream


def test_keys_from_environment_and_wrong_master(supabase_stack, user):
    out = agent(
        supabase_stack,
        "keys",
        "set",
        "--user-id",
        user,
        OPENAI_API_KEY=OPENAI,
        DEEPGRAM_API_KEY=DEEPGRAM,
    )
    assert out.returncode == 0, out.stderr
    bad = agent(
        supabase_stack,
        "keys",
        "check",
        "--user-id",
        user,
        master="old:" + base64.b64encode(os.urandom(32)).decode(),
    )
    assert bad.returncode == 1 and "does NOT open" in bad.stdout
    missing = agent(supabase_stack, "keys", "check", "--user-id", user, master="")
    assert (
        missing.returncode == 2 and missing.stderr.strip() == "error: BYOK_MASTER_KEYS is not set"
    )


def test_rotate_reseals_everything_and_is_rerunnable(supabase_stack, user):
    assert set_keys(supabase_stack, user, f"openai={OPENAI}\n").returncode == 0
    both = f"{K_NEW},{K_OLD}"
    first = agent(supabase_stack, "keys", "rotate", master=both)
    assert first.returncode == 0, first.stderr
    assert "failed 0" in first.stdout
    assert (
        supabase_stack.psql(
            "select count(*) from user_api_keys where openai_key_encrypted like 'v1.old.%'"
        )
        == "0"
    )
    again = agent(supabase_stack, "keys", "rotate", master=both)
    assert again.stdout.startswith("rotated 0, already on new")
    check = agent(supabase_stack, "keys", "check", "--user-id", user, master=K_NEW)
    assert "openai          present, opens (key new)" in check.stdout


async def test_session_loads_the_users_keys_and_refuses_clearly(supabase_stack, user):
    ring = Keyring.parse(K_OLD)
    store = SupabaseStore(supabase_stack.url, supabase_stack.service_key)
    settings = Settings(_env_file=None, supabase_url=supabase_stack.url,
                        supabase_service_role_key=supabase_stack.service_key, byok_master_keys=K_OLD)  # fmt: skip
    md = parse_metadata(f'{{"user_id": "{user}"}}', require_user=True)
    try:
        with pytest.raises(KeyLoadError) as err:
            await session_provider_keys(settings, store, md, console=False)
        assert err.value.code == "no_keys"

        # a row with no provider key (only the user's LiveKit project) cannot run a voice
        set_keys(supabase_stack, user, "livekit_url=wss://example.livekit.cloud\n")
        with pytest.raises(KeyLoadError) as err:
            await load_user_keys(store, ring, user)
        assert err.value.code == "missing_key"
        assert "speech-to-text key (Deepgram, OpenAI or AssemblyAI)" in str(err.value)
        assert "the user's keys: none" in str(err.value)

        # an OpenAI key alone is a voice interview (OpenAI hears, speaks and asks)
        set_keys(supabase_stack, user, f"openai={OPENAI}\n")
        alone = await load_user_keys(store, ring, user)
        assert dict(alone.providers) == {"openai": OPENAI}

        set_keys(supabase_stack, user, f"deepgram={DEEPGRAM}\n")
        keys = await session_provider_keys(settings, store, md, console=False)
        assert (keys["openai"], keys["deepgram"]) == (OPENAI, DEEPGRAM)
        assert OPENAI not in repr(keys)

        # a key of the provider table's own migration (Groq): sealed under its column,
        # opened, and named by `keys check` as standing by for the model
        groq = "gsk-test-stack-0123456789abcdef"
        set_keys(supabase_stack, user, f"groq={groq}\n")
        keys = await session_provider_keys(settings, store, md, console=False)
        assert keys["groq"] == groq and keys["openai"] == OPENAI
        sealed = supabase_stack.psql(
            f"select groq_key_encrypted from user_api_keys where user_id='{user}'"
        )
        assert sealed.startswith("v1.") and groq not in sealed
        check = agent(supabase_stack, "keys", "check", "--user-id", user, master=K_OLD)
        assert "Groq for the model" in check.stdout and groq not in check.stdout

        # the second migration's keys (here Anthropic's and ElevenLabs'), the user's saved
        # order (a plain column, applied where the metadata orders nothing), and a key
        # for an endpoint this deployment has not configured (set aside, said)
        claude, eleven = "sk-ant-test-stack-0123456789", "eleven-test-stack-0123456789"
        set_keys(
            supabase_stack, user,
            f"anthropic={claude}\nelevenlabs={eleven}\ncompatible=local-key-0123\n",
        )  # fmt: skip
        supabase_stack.psql(
            "update user_api_keys set provider_preference = "
            """'{"llm": "anthropic", "tts": ["elevenlabs"], "stt": "nobody"}'::jsonb, """
            f"max_cost_usd = 0.25 where user_id='{user}'"
        )
        md = parse_metadata(
            f'{{"user_id": "{user}", "providers": {{"tts": "openai"}}, "max_cost_usd": 0.5}}',
            require_user=True,
        )
        keys = await session_provider_keys(settings, store, md, console=False)
        assert (keys["anthropic"], keys["elevenlabs"]) == (claude, eleven)
        assert "compatible" not in keys  # no COMPATIBLE_BASE_URL here
        assert md.providers == {"tts": "openai", "llm": "anthropic", "stt": "nobody"}
        assert (md.max_cost_usd, md.cost_cap_source) == (0.25, "user_setting")  # the lower
        assert any("compatible key is set aside" in w for w in md.warnings)
        choice = choose(set(keys), md.providers)
        assert (choice.llm.key, choice.tts.key) == ("anthropic", "openai")  # type: ignore[union-attr]
        assert any("nobody" in note for note in choice.ignored)
        sealed = supabase_stack.psql(
            f"select anthropic_key_encrypted from user_api_keys where user_id='{user}'"
        )
        assert sealed.startswith("v1.") and claude not in sealed
        with pytest.raises(SecretDecryptionError):  # the AAD names the column
            ring.open(sealed, user_id=user, field="openai_key_encrypted",
                      salt=supabase_stack.psql(f"select encryption_salt from user_api_keys where user_id='{user}'"))  # fmt: skip
        check = agent(supabase_stack, "keys", "check", "--user-id", user, master=K_OLD)
        assert "anthropic       present, opens" in check.stdout and claude not in check.stdout
        md = parse_metadata(f'{{"user_id": "{user}"}}', require_user=True)

        # a ciphertext moved to another column (or user) does not open
        supabase_stack.psql(
            f"update user_api_keys set deepgram_key_encrypted = openai_key_encrypted where user_id='{user}'"
        )
        with pytest.raises(KeyLoadError) as err:
            await load_user_keys(store, ring, user)
        assert err.value.code == "key_decrypt_failed"
        assert OPENAI not in str(err.value)
    finally:
        await store.aclose()
    # nothing was written for sessions that never started
    assert supabase_stack.psql(f"select count(*) from interviews where user_id='{user}'") == "0"


def test_join_refuses_a_user_without_livekit_credentials(supabase_stack, user):
    set_keys(supabase_stack, user, f"openai={OPENAI}\ndeepgram={DEEPGRAM}\n")
    out = agent(supabase_stack, "join", "--user-id", user, "--room", "r1")
    assert out.returncode == 1
    assert (
        out.stderr.strip()
        == "error: the user's keys lack: livekit_url, livekit_key, livekit_secret (missing_key)"
    )
    bad = agent(supabase_stack, "join", "--user-id", "nope", "--room", "r1")
    assert bad.returncode == 2 and "UUID" in bad.stderr


def test_keys_on_stdin_and_in_the_environment_are_refused(supabase_stack, user):
    """An operator's own OPENAI_API_KEY must never be sealed into a user's row by accident."""
    operator = "sk-test-operator-own-key-0123456789"
    for flags in (["--stdin"], []):  # explicit, or piped in
        out = agent(supabase_stack, "keys", "set", "--user-id", user, *flags,
                    stdin=f"openai={OPENAI}\n", OPENAI_API_KEY=operator)  # fmt: skip
        assert out.returncode == 2
        assert out.stderr.strip().splitlines() == [
            "error: keys given on stdin and in the environment (OPENAI_API_KEY): unset those "
            "variables or pipe nothing, so it is clear which keys to seal"
        ]
        assert operator not in out.stdout + out.stderr
    assert supabase_stack.psql(f"select count(*) from user_api_keys where user_id='{user}'") == "0"
    # the environment alone is still a way to give keys
    out = agent(supabase_stack, "keys", "set", "--user-id", user, stdin="", OPENAI_API_KEY=OPENAI)
    assert out.returncode == 0, out.stderr
