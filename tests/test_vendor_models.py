"""Interviews asked by Anthropic's and Google's models, through the real plugins.

The worker's own wiring (``providers_for`` over the candidate's keys, ``InterviewSession``,
typed answers through ``session.run``) with LiveKit's Anthropic plugin (the ``anthropic``
SDK) and Google plugin (the ``google-genai`` SDK), built by the catalog's builders, each
at a local stand-in of its vendor's API (``tests/fake_anthropic.py``,
``tests/fake_gemini.py``) named by the provider's base-URL variable. The stand-ins'
words are the transcript's, every request carries the candidate's own key and the
conversation so far, the catalog's default model is asked and priced; when OpenAI's
model fails mid-interview, Anthropic's takes over.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from google.genai import _api_client
from livekit.agents import APIConnectOptions, APIStatusError
from livekit.agents import llm as lk_llm

from agent.config import Settings
from agent.plugins import build_first
from agent.runtime import InterviewRuntime
from agent.session import InterviewSession, choice_for, providers_for
from interview.cost import MILLION, load_prices
from persistence import SqliteStore
from persistence.outbox import Outbox
from persistence.records import InterviewRecord
from providers import CATALOG, Kind, ProviderKeys
from stages.metadata import parse_metadata

from . import fake_anthropic, fake_gemini
from .fake_anthropic import FakeAnthropic
from .fake_gemini import FakeGemini
from .fake_openai import FakeOpenAI
from .rooms.harness import OPENAI_KEY
from .rooms.harness import interviewer as openai_interviewer

ANTHROPIC_KEY = "sk-test-anthropic-0123456789abcdef"
GOOGLE_KEY = "sk-test-google-gemini-0123456789abcdef"
"""Test keys start with a marker ``tests/conftest.py`` looks for in every log record."""

GREETING = "Hello! Are you ready to begin?"
FOLLOW_UP = "Thank you. Could you tell me more about that?"
ANSWER = "Yes, I am ready. I have built payment services in Go for five years."
TAKEOVER = "Thank you. Which of those payment services are you proudest of?"
INTERVIEW_TOOLS = {"not_an_answer", "ask_follow_up", "skip_stage", "end_interview"}


def _default(name: str) -> str:
    """The catalog's default model of the model provider ``name``."""
    provider = CATALOG.provider(Kind.LLM, name)
    assert provider is not None
    return provider.default_model


def _no_stray_settings(monkeypatch: pytest.MonkeyPatch, work: Path) -> None:
    """The catalog's default models and the SDKs' default API version, whatever the
    environment running the tests or a ``.env`` where they run says (the settings read a
    provider's own variables from ``./.env``: here ``work``'s)."""
    monkeypatch.chdir(work)
    for name in ("openai", "anthropic", "google"):
        provider = CATALOG.provider(Kind.LLM, name)
        assert provider is not None
        monkeypatch.delenv(provider.model_env, raising=False)
    monkeypatch.delenv("GOOGLE_GENAI_API_VERSION", raising=False)


def _gemini_urls(monkeypatch: pytest.MonkeyPatch, allowed: str) -> list[str]:
    """Every URL google-genai builds a request for; one outside ``allowed`` is refused
    before it leaves (the plugin's prewarm swallows the error)."""
    built: list[str] = []
    build = _api_client.BaseApiClient._build_request

    def spy(self: _api_client.BaseApiClient, *args: Any, **kwargs: Any) -> Any:
        request = build(self, *args, **kwargs)
        built.append(request.url)
        if not request.url.startswith(allowed + "/"):
            raise ConnectionError(f"not the stand-in: {request.url}")
        return request

    monkeypatch.setattr(_api_client.BaseApiClient, "_build_request", spy)
    return built


async def _interview(
    tmp_path: Path, settings: Settings, keys: ProviderKeys, *, typed: bool = False,
    on_greeted: Callable[[], None] | None = None,
) -> tuple[InterviewRuntime, InterviewRecord]:  # fmt: skip
    """A typed interview through the worker's wiring: the model's greeting, the
    candidate's answer, the model's next question; then the candidate leaves for good."""
    rt = InterviewRuntime(parse_metadata("{}", require_user=False), room_name="vendor-model")
    choice = choice_for(keys, rt)
    if typed:
        choice = choice.typed("a test of the model")
    interview = InterviewSession(
        rt, providers_for(settings, keys, rt, vad=None, choice=choice),
        store=SqliteStore(tmp_path / "s.db"), outbox=Outbox(tmp_path / "o.db"),
        mode="test", checkpoints=False,
    )  # fmt: skip
    try:
        await interview.start()
        await interview.wait_for_greeting(10)
        if on_greeted is not None:
            on_greeted()
        await interview.session.run(user_input=ANSWER)
        await interview.driver.settle(15)
        assert not rt.terminal, "the interview ended with the model"
        rt.candidate_left(final=True)
        row, _ = await interview.finish()
    finally:
        await interview.aclose()
    return rt, row


def _agent_lines(rt: InterviewRuntime) -> list[str]:
    return [m.text for m in rt.transcript.messages if m.role == "agent"]


def _switches(errors: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["source"], e["from"], e["to"]) for e in errors if e.get("type") == "fallback"]


def _priced(row: InterviewRecord, model: str) -> dict[str, Any]:
    """The cost estimate's model item for ``model``, checked against the price table."""
    cost = row.metadata["cost"]
    assert not any(model in u for u in cost["unpriced"]), cost["unpriced"]
    item = next(i for i in cost["items"] if i["kind"] == "llm" and i["model"] == model)
    price = load_prices().price("llm", model)
    assert price is not None
    expected = (
        item["input_tokens"] * price["input_per_million_tokens"]
        + item["output_tokens"] * price["output_per_million_tokens"]
    ) / MILLION
    assert item["cost"] > 0 and item["cost"] == pytest.approx(expected, abs=1e-6)
    return item


async def test_an_interview_with_only_an_anthropic_key_is_asked_by_claude(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The candidate's only key is Anthropic's: a typed interview, Anthropic's model
    asks through LiveKit's Anthropic plugin at ``ANTHROPIC_BASE_URL``."""
    _no_stray_settings(monkeypatch, tmp_path)
    default = _default("anthropic")
    async with FakeAnthropic(fake_anthropic.interviewer, key=ANTHROPIC_KEY) as vendor:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", vendor.base_url)
        rt, row = await _interview(
            tmp_path, Settings(_env_file=None), ProviderKeys(anthropic=ANTHROPIC_KEY)
        )
    assert _agent_lines(rt) == [GREETING, FOLLOW_UP]  # the stand-in's words, verbatim
    assert len(vendor.requests) == 2 and vendor.refused == 0
    assert set(vendor.api_keys) == {ANTHROPIC_KEY}  # every request: the candidate's own key
    assert all(r["model"] == default and r["stream"] for r in vendor.requests)
    opening, answered = vendor.requests
    assert fake_anthropic.last_user_text(opening) is None
    assert fake_anthropic.last_user_text(answered) == ANSWER  # the answer reached the model
    said = [(m["role"], fake_anthropic.block_text(m["content"])) for m in answered["messages"]]
    assert said[-2:] == [("assistant", GREETING), ("user", ANSWER)]  # the conversation so far
    for body in vendor.requests:  # the instructions apart, the interviewer's tools offered
        assert "interviewer" in fake_anthropic.block_text(body["system"])
        assert INTERVIEW_TOOLS <= {t["name"] for t in body["tools"]}
    chosen = row.metadata["providers"]
    assert chosen["llm"] == "anthropic" and chosen["mode"] == "text" and chosen["fallback"] == {}
    assert "Anthropic's model" in chosen["reason"]
    assert row.metadata["models"]["llm"] == default
    item = _priced(row, default)
    assert item["input_tokens"] == sum(u["input_tokens"] for u in vendor.usage)
    assert item["output_tokens"] >= sum(u["output_tokens"] for u in vendor.usage)
    assert row.ended_by != "error"


async def test_an_interview_with_only_a_google_key_is_asked_by_gemini(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The candidate's only key is Google's: a typed interview, Gemini asks through
    LiveKit's Google plugin at ``GOOGLE_GEMINI_BASE_URL``; no request of its SDK (the
    prewarm's model list included) goes anywhere else."""
    _no_stray_settings(monkeypatch, tmp_path)
    default = _default("google")
    async with FakeGemini(fake_gemini.interviewer, key=GOOGLE_KEY) as vendor:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", vendor.base_url)
        urls = _gemini_urls(monkeypatch, vendor.base_url)
        rt, row = await _interview(
            tmp_path, Settings(_env_file=None), ProviderKeys(google=GOOGLE_KEY)
        )
    assert _agent_lines(rt) == [GREETING, FOLLOW_UP]  # the stand-in's words, verbatim
    assert urls and all(u.startswith(vendor.base_url + "/") for u in urls), urls
    assert len(vendor.requests) == 2 and vendor.refused == 0
    assert set(vendor.api_keys) == {GOOGLE_KEY}  # every request: the candidate's own key
    assert vendor.models == [default, default]
    opening, answered = vendor.requests
    assert fake_gemini.last_user_text(opening) is None
    assert fake_gemini.last_user_text(answered) == ANSWER  # the answer reached the model
    said = [(c["role"], fake_gemini.parts_text(c)) for c in answered["contents"]]
    assert said[-2:] == [("model", GREETING), ("user", ANSWER)]  # the conversation so far
    for body in vendor.requests:  # the instructions apart, the interviewer's tools offered
        assert "interviewer" in fake_gemini.parts_text(body["systemInstruction"])
        offered = {f["name"] for t in body["tools"] for f in t.get("functionDeclarations", [])}
        assert INTERVIEW_TOOLS <= offered
        assert body["generationConfig"]["temperature"] == 0.6
    chosen = row.metadata["providers"]
    assert chosen["llm"] == "google" and chosen["mode"] == "text" and chosen["fallback"] == {}
    assert "Google Gemini's model" in chosen["reason"]
    assert row.metadata["models"]["llm"] == default
    item = _priced(row, default)
    assert item["input_tokens"] == sum(u["prompt_tokens"] for u in vendor.usage)
    assert item["output_tokens"] == sum(u["candidates_tokens"] for u in vendor.usage)
    assert row.ended_by != "error"


async def test_a_gemini_base_url_from_dotenv_is_the_only_address_called(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The base URL given in ``.env`` (the settings read it; the SDK reads only the
    environment): every request of the Google model still goes to that address."""
    _no_stray_settings(monkeypatch, tmp_path)
    monkeypatch.delenv("GOOGLE_GEMINI_BASE_URL", raising=False)
    async with FakeGemini(fake_gemini.interviewer, key=GOOGLE_KEY) as vendor:
        (tmp_path / ".env").write_text(f"GOOGLE_GEMINI_BASE_URL={vendor.base_url}\n")
        urls = _gemini_urls(monkeypatch, vendor.base_url)
        rt, _ = await _interview(tmp_path, Settings(), ProviderKeys(google=GOOGLE_KEY))
    assert _agent_lines(rt) == [GREETING, FOLLOW_UP]
    assert all(u.startswith(vendor.base_url + "/") for u in urls), urls


async def test_openai_fails_mid_interview_and_anthropic_takes_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys for OpenAI and Anthropic: OpenAI's model greets, then answers 500; Anthropic's
    (standing by, with the candidate's Anthropic key) asks the next question, given the
    conversation so far."""
    _no_stray_settings(monkeypatch, tmp_path)
    failing = {"now": False}
    failed: list[dict[str, Any]] = []

    def openai_reply(body: dict[str, Any]) -> dict[str, Any]:
        if not failing["now"]:
            return openai_interviewer(body)
        failed.append(body)
        return {"status": 500}

    def anthropic_reply(body: dict[str, Any]) -> dict[str, Any]:
        if fake_anthropic.last_user_text(body) is None:
            return {"content": "Hello from the model standing by."}
        return {"content": TAKEOVER}

    claude = _default("anthropic")
    gpt = _default("openai")
    async with (
        FakeOpenAI(openai_reply) as openai,
        FakeAnthropic(anthropic_reply, key=ANTHROPIC_KEY) as anthropic,
    ):
        monkeypatch.setenv("ANTHROPIC_BASE_URL", anthropic.base_url)
        settings = Settings(_env_file=None, openai_base_url=openai.base_url)
        keys = ProviderKeys(openai=OPENAI_KEY, anthropic=ANTHROPIC_KEY)
        rt, row = await _interview(
            tmp_path, settings, keys, typed=True, on_greeted=lambda: failing.update(now=True)
        )
    assert _agent_lines(rt) == [GREETING, TAKEOVER]  # OpenAI's greeting, then Anthropic's
    assert failed, "OpenAI's model was never asked again"
    assert len(anthropic.requests) == 1 and set(anthropic.api_keys) == {ANTHROPIC_KEY}
    (took_over,) = anthropic.requests
    assert took_over["model"] == claude
    assert fake_anthropic.last_user_text(took_over) == ANSWER  # the answer reached Claude
    said = [(m["role"], fake_anthropic.block_text(m["content"])) for m in took_over["messages"]]
    assert said[-2:] == [("assistant", GREETING), ("user", ANSWER)]  # OpenAI's words passed on
    assert ("llm", "openai", "anthropic") in _switches(row.metadata["errors"])
    chosen = row.metadata["providers"]
    assert chosen["llm"] == "openai" and chosen["fallback"] == {"llm": ["anthropic"]}
    assert row.ended_by != "error"
    _priced(row, gpt)  # each model's use priced under its own name
    _priced(row, claude)


VENDORS = {
    "anthropic": (FakeAnthropic, fake_anthropic.interviewer, ANTHROPIC_KEY, "ANTHROPIC_BASE_URL"),
    "google": (FakeGemini, fake_gemini.interviewer, GOOGLE_KEY, "GOOGLE_GEMINI_BASE_URL"),
}


@pytest.mark.parametrize(("vendor", "refused_with"), [("anthropic", 401), ("google", 400)])
async def test_a_wrong_key_is_refused_and_a_failure_is_one_to_retry(
    vendor: str, refused_with: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each stand-in refuses another key as its vendor does (Anthropic 401, Google 400
    ``API_KEY_INVALID``): the plugin reports it as final. A 500 is reported as one to
    try again (the fallback's cue)."""
    _no_stray_settings(monkeypatch, tmp_path)
    fake, reply, key, base_url_env = VENDORS[vendor]
    failing = {"now": False}

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        return {"status": 500} if failing["now"] else reply(body)

    chat_ctx = lk_llm.ChatContext()
    chat_ctx.add_message(role="user", content=ANSWER)
    once = APIConnectOptions(max_retry=0, timeout=5)

    async def ask(with_key: str) -> APIStatusError:
        model = build_first(Settings(_env_file=None), ProviderKeys({vendor: with_key}), Kind.LLM)
        try:
            with pytest.raises(APIStatusError) as failed:
                async with model.chat(chat_ctx=chat_ctx, conn_options=once) as stream:
                    async for _ in stream:
                        pass
        finally:
            await model.aclose()
        return failed.value

    async with fake(answer, key=key) as stand_in:
        monkeypatch.setenv(base_url_env, stand_in.base_url)
        wrong = await ask("sk-test-not-the-candidates-key")
        failing["now"] = True
        down = await ask(key)
    assert (wrong.status_code, wrong.retryable) == (refused_with, False)
    assert stand_in.refused == 1 and len(stand_in.requests) == 1  # the key's one request: 500
    assert (down.status_code, down.retryable) == (500, True)
