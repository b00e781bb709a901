"""Providers are data: one table, read by everything that asks about providers.

The choice rule over every set of keys and preferences; an interview run with a provider
that exists only in this test's data (its key, its column, its builder here); the docs'
list, the price table, the plugin pins, the keys commands and the stored columns all
follow the table.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from livekit.agents import llm
from livekit.plugins import openai

from agent.config import Settings
from agent.plugins import PluginContext, env_keys
from agent.runtime import InterviewRuntime
from agent.session import InterviewSession, providers_for
from commands import keys as keys_cli
from interview.cost import load_prices
from persistence import KEY_NAMES
from persistence.outbox import Outbox
from persistence.sqlite_store import SqliteStore
from providers import (
    CATALOG,
    KeySpec,
    Kind,
    Provider,
    ProviderKeys,
    choose,
    usable,
    voice_requirement,
)
from providers import docs as provider_docs
from stages.metadata import adopt_saved_preference, parse_metadata

from .fake_openai import FakeOpenAI, last_user_text

ROOT = Path(__file__).resolve().parent.parent
ACME_KEY = "acme-test-0123456789abcdef"

# ---------------------------------------------------------------- the choice rule

KEY_NAMES_ANY = st.sets(st.sampled_from([k.name for k in CATALOG.keys] + ["other"]))
NAME = st.sampled_from([k.name for k in CATALOG.keys] + ["nobody"])
PREFERENCES = st.dictionaries(
    st.sampled_from(["stt", "llm", "tts"]), NAME | st.lists(NAME, min_size=1, max_size=3)
)


@settings(max_examples=300, deadline=None)
@given(present=KEY_NAMES_ANY, preference=PREFERENCES)
def test_the_choice_follows_one_rule_for_any_keys_and_preference(present, preference):
    choice = choose(present, preference)
    for kind in Kind:
        chain = list(choice.chain(kind))
        offered = [p for p in CATALOG.of_kind(kind) if p.key in present]  # the default order
        wanted = preference.get(kind.value)
        names = [wanted] if isinstance(wanted, str) else list(wanted or [])
        valid = list(dict.fromkeys(
            p for n in names if n in present and (p := CATALOG.provider(kind, n)) is not None
        ))  # fmt: skip
        if not valid:
            assert chain == offered  # no preference that can be followed: the default order
        elif isinstance(wanted, str):
            assert chain == [*valid, *(p for p in offered if p not in valid)]  # it goes first
        else:
            assert chain == valid  # a list: exactly those, in that order
        assert all(p.key in present for p in chain)  # never a provider without its key
        if any(n not in present or CATALOG.provider(kind, n) is None for n in names):
            assert any(n.startswith(f"{kind.value}:") for n in choice.ignored)
    assert choice.voice == (choice.stt is not None and choice.tts is not None)
    assert choice.offline == (choice.llm is None)
    summary = choice.summary()
    assert summary["mode"] == ("voice" if choice.voice else "text")
    assert summary["interviewer"] == ("offline" if choice.offline else "model")
    reason = str(summary["reason"])
    assert reason.startswith("a voice interview" if choice.voice else "a typed interview")
    for kind in choice.used():
        for p in choice.chain(kind):
            assert CATALOG.key(p.key).label in reason
        standing = [p.key for p in choice.fallbacks.get(kind, ())]
        assert summary["fallback"].get(kind.value, []) == standing  # type: ignore[union-attr]
    typed = choice.typed("a test")
    assert typed.mode == "text" and typed.llm == choice.llm and "a test" in typed.reason
    assert "speech-to-text" not in typed.reason.partition("; ")[2]


def test_one_key_of_either_vendor_is_a_voice_interview():
    assert choose({"openai"}).summary() | {"reason": ""} == {
        "mode": "voice", "interviewer": "model", "stt": "openai", "llm": "openai",
        "tts": "openai", "fallback": {}, "reason": "",
    }  # fmt: skip
    assert choose({"deepgram"}).summary() | {"reason": ""} == {
        "mode": "voice", "interviewer": "offline", "stt": "deepgram", "llm": None,
        "tts": "deepgram", "fallback": {}, "reason": "",
    }  # fmt: skip
    both = choose({"openai", "deepgram"})
    assert (both.stt.key, both.llm.key, both.tts.key) == ("deepgram", "openai", "openai")  # type: ignore[union-attr]
    assert both.summary()["fallback"] == {"stt": ["openai"], "tts": ["deepgram"]}
    assert voice_requirement() == (
        "a speech-to-text key (Deepgram, OpenAI or AssemblyAI) and a voice key (OpenAI, ElevenLabs, Cartesia or Deepgram)"
    )


def test_a_preference_in_the_metadata_is_parsed_and_a_bad_one_warned_about():
    md = parse_metadata('{"providers": {"stt": "openai", "tts": "deepgram"}}', require_user=False)
    assert md.providers == {"stt": "openai", "tts": "deepgram"} and not md.warnings
    md = parse_metadata('{"providers": {"stt": ["deepgram", "openai"]}}', require_user=False)
    assert md.providers == {"stt": ["deepgram", "openai"]} and not md.warnings
    for bad in ('"openai"', '{"voice": "openai"}', '{"stt": 3}', '{"stt": "Open AI!"}',
                '{"stt": []}', '{"stt": ["openai", 4]}'):  # fmt: skip
        md = parse_metadata(f'{{"providers": {bad}}}', require_user=False)
        assert md.providers == {} and len(md.warnings) == 1, bad
    rt = InterviewRuntime(
        parse_metadata('{"providers": {"stt": "openai", "tts": "eleven"}}', require_user=False),
        room_name="pref",
    )
    settings_ = Settings(_env_file=None)
    chosen = providers_for(settings_, ProviderKeys(openai="sk-1", deepgram="dg-1"), rt, vad=None)
    assert chosen.choice is not None and chosen.choice.stt.key == "openai"  # type: ignore[union-attr]
    assert chosen.choice.tts.key == "openai"  # type: ignore[union-attr]
    assert any("eleven" in w for w in rt.md.warnings)


# ---------------------------------------------------------------- a provider from data


def acme_llm(ctx: PluginContext) -> llm.LLM:
    """The builder of the test's provider: an OpenAI-compatible model at its own URL."""
    return openai.LLM(model=ctx.model, api_key=ctx.key, base_url=ctx.base_url)


ACME = KeySpec(
    name="acme", label="Acme", env="ACME_API_KEY", column="acme_key_encrypted",
    base_url_env="ACME_BASE_URL",
)  # fmt: skip
ACME_MODEL = Provider(
    key="acme", kind=Kind.LLM, plugin="livekit-plugins-openai",
    build=f"{__name__}:acme_llm", default_model="acme-chat-1", model_env="ACME_MODEL",
    models=("acme-chat-1",),
)  # fmt: skip


def _reply(body: dict[str, Any]) -> dict[str, Any]:
    if last_user_text(body) is None:
        return {"content": "Hello from Acme. Are you ready to begin?"}
    return {"content": "Thank you. Tell me about a project you are proud of."}


async def test_a_provider_defined_only_in_this_test_runs_an_interview(tmp_path, monkeypatch):
    catalog = CATALOG.with_entries(keys=[ACME], providers=[ACME_MODEL],
                                   order={Kind.LLM: ("acme", "openai")})  # fmt: skip
    async with FakeOpenAI(_reply) as acme:
        monkeypatch.setenv("ACME_BASE_URL", acme.base_url)
        monkeypatch.setenv("ACME_API_KEY", ACME_KEY)
        settings_ = Settings(_env_file=None)
        keys = env_keys(settings_, catalog)
        assert dict(keys) == {"acme": ACME_KEY}
        rt = InterviewRuntime(parse_metadata("{}", require_user=False), room_name="acme")
        providers = providers_for(settings_, keys, rt, vad=None, catalog=catalog)
        interview = InterviewSession(
            rt, providers, store=SqliteStore(tmp_path / "s.db"),
            outbox=Outbox(tmp_path / "o.db"), mode="test", checkpoints=False,
        )  # fmt: skip
        try:
            await interview.start()
            await interview.wait_for_greeting(10)
            await interview.session.run(user_input="Yes, I am ready.")
            await interview.driver.settle(10)
            rt.candidate_left(final=True)
            row, _ = await interview.finish()
        finally:
            await interview.aclose()
    assert rt.transcript.messages[0].text == "Hello from Acme. Are you ready to begin?"
    assert acme.requests and all(r["model"] == "acme-chat-1" for r in acme.requests)
    assert set(acme.auth_headers) == {f"Bearer {ACME_KEY}"}  # the candidate's own Acme key
    chosen = row.metadata["providers"]
    assert chosen["llm"] == "acme" and chosen["mode"] == "text"
    assert "Acme's model" in chosen["reason"]
    assert row.metadata["models"]["llm"] == "acme-chat-1"
    assert "acme-chat-1" in row.metadata["cost"]["unpriced"][0]  # not in the table: not guessed


def test_a_catalog_refuses_a_provider_without_its_key_or_twice():
    with pytest.raises(ValueError, match="no key named"):
        CATALOG.with_entries(providers=[ACME_MODEL])
    with pytest.raises(ValueError, match="listed twice"):
        CATALOG.with_entries(keys=[ACME], providers=[ACME_MODEL, ACME_MODEL])
    with pytest.raises(ValueError, match="no provider"):
        CATALOG.with_entries(order={Kind.TTS: ("acme",)})


# ---------------------------------------------------------------- everything reads the table


def test_the_docs_list_is_the_table():
    assert provider_docs.main(["--check"]) == 0, "run python -m providers.docs"
    text = (ROOT / "docs" / "PROVIDERS.md").read_text()
    for p in CATALOG.providers:
        assert f"`{p.model_env}`" in text and f"`{CATALOG.key(p.key).column}`" in text


def test_every_model_of_the_table_has_a_dated_price():
    prices = load_prices()
    for p in CATALOG.providers:
        for model in (p.default_model, *p.models):
            if not model:  # the operator's own (the deployment's endpoint): their table's
                assert CATALOG.key(p.key).requires, f"{p.id}: no default model"
                continue
            assert prices.price(p.kind.value, model) is not None, f"{p.id}: {model} unpriced"


def _pins(text: str) -> dict[str, str]:
    return dict(re.findall(r"^\s*\"?([A-Za-z0-9_.-]+)==([0-9][^\",\s]*)", text, re.M))


def test_every_plugin_is_pinned_and_every_builder_is_in_agent():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = _pins("\n".join(pyproject["project"]["dependencies"]))
    constraints = _pins((ROOT / "constraints.txt").read_text())
    for p in CATALOG.providers:
        assert p.plugin in deps and deps[p.plugin] == constraints.get(p.plugin), p.plugin
        module, _, name = p.build.partition(":")
        assert module == "agent.plugins", p.build  # agent/ is the only place knowing LiveKit
        assert callable(getattr(__import__(module, fromlist=[name]), name))


def test_keys_commands_and_stored_columns_follow_the_table():
    for k in CATALOG.keys:
        assert KEY_NAMES[k.name] == k.column
        assert keys_cli.ENV[k.name] == k.env
        assert keys_cli._secrets_from_stdin(f"{k.name}=secret-value\n") == {k.name: "secret-value"}
    migrations = "\n".join(
        p.read_text() for p in sorted((ROOT / "supabase" / "migrations").glob("*.sql"))
    )
    for k in CATALOG.keys:
        assert k.column in migrations, f"{k.column}: no migration adds it"


def test_a_providers_own_setting_comes_from_the_environment_then_dotenv_read_once(
    tmp_path, monkeypatch
):
    """A setting the catalog names but ``Settings`` does not declare (``GROQ_MODEL``):
    the environment first, then ``.env`` as read when the settings were made (a session
    never reads the file), and never in the settings' repr."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GROQ_MODEL", raising=False)
    (tmp_path / ".env").write_text("GROQ_MODEL=llama-from-dotenv\nGROQ_API_KEY=gsk-dotenv-secret\n")
    settings_ = Settings()
    (tmp_path / ".env").write_text("GROQ_MODEL=changed-later\n")
    assert settings_.setting("GROQ_MODEL") == "llama-from-dotenv"
    assert env_keys(settings_)["groq"] == "gsk-dotenv-secret"
    assert "gsk-dotenv-secret" not in repr(settings_)
    monkeypatch.setenv("GROQ_MODEL", "llama-from-env")
    assert settings_.setting("GROQ_MODEL") == "llama-from-env"


# ---------------------------------------------------------------- the operator's endpoint


async def test_the_deployments_own_endpoint_is_used_only_once_the_operator_names_it(
    tmp_path, monkeypatch
):
    """A ``compatible`` key without the operator's endpoint is set aside (never called,
    and said); with ``COMPATIBLE_BASE_URL`` and ``COMPATIBLE_MODEL`` it is the model."""
    for name in ("COMPATIBLE_BASE_URL", "COMPATIBLE_MODEL"):
        monkeypatch.delenv(name, raising=False)
    keys = ProviderKeys(compatible="local-secret-key")
    kept, notes = usable(keys, Settings(_env_file=None).setting)
    assert dict(kept) == {}
    assert notes == [
        "the compatible key is set aside: this deployment has no COMPATIBLE_BASE_URL, "
        "COMPATIBLE_MODEL"
    ]
    assert "local-secret-key" not in " ".join(notes)
    async with FakeOpenAI(_reply) as local:
        monkeypatch.setenv("COMPATIBLE_BASE_URL", local.base_url)
        monkeypatch.setenv("COMPATIBLE_MODEL", "llama3.1")
        monkeypatch.setenv("COMPATIBLE_API_KEY", "local-secret-key")
        settings_ = Settings(_env_file=None)
        keys = env_keys(settings_)
        assert dict(keys) == {"compatible": "local-secret-key"}
        rt = InterviewRuntime(parse_metadata("{}", require_user=False), room_name="own")
        providers = providers_for(settings_, keys, rt, vad=None)
        interview = InterviewSession(
            rt, providers, store=SqliteStore(tmp_path / "s.db"),
            outbox=Outbox(tmp_path / "o.db"), mode="test", checkpoints=False,
        )  # fmt: skip
        try:
            await interview.start()
            await interview.wait_for_greeting(10)
            rt.candidate_left(final=True)
            row, _ = await interview.finish()
        finally:
            await interview.aclose()
    assert rt.transcript.messages[0].text == "Hello from Acme. Are you ready to begin?"
    assert {r["model"] for r in local.requests} == {"llama3.1"}
    assert set(local.auth_headers) == {"Bearer local-secret-key"}
    assert row.metadata["providers"]["llm"] == "compatible"
    assert row.metadata["cost"]["unpriced"] == ["llm:llama3.1"]  # the operator's to price


def test_a_saved_order_applies_to_the_kinds_the_metadata_leaves_open():
    md = parse_metadata('{"providers": {"tts": "deepgram"}}', require_user=False)
    adopt_saved_preference(md, {"tts": "elevenlabs", "llm": ["anthropic", "openai"]})
    assert md.providers == {"tts": "deepgram", "llm": ["anthropic", "openai"]}
    for hostile in ("anthropic", ["x"], {"llm": {"a": 1}}, {"stt": "../etc"}, 7):
        md = parse_metadata("{}", require_user=False)
        adopt_saved_preference(md, hostile)
        assert md.providers == {}
        assert md.warnings and md.warnings[0].startswith("saved providers")
    choice = choose({"openai", "anthropic", "deepgram"}, {"llm": ["anthropic", "openai"]})
    assert [p.key for p in choice.chain(Kind.LLM)] == ["anthropic", "openai"]
