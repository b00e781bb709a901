"""Build each provider's LiveKit plugin for one session, from keys held in memory.

Which providers a session uses is decided from data (``providers/``); the functions
named by the catalog's ``build`` entries live here, the one place that knows the
plugins. Keys are passed straight to each plugin's constructor: never through the
process environment, so a child process can never inherit them. Every plugin is imported
here, once, in the worker's forkserver (``agent/preload.py``): LiveKit registers plugins
on the main thread, and no session pays for an import on its event loop (~1.5 s, ~70 MB
for the five vendors beyond OpenAI and Deepgram, shared copy-on-write by the jobs).
"""

from __future__ import annotations

import importlib
import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx
import openai as oai
from google import genai
from google.genai import types as genai_types
from livekit.agents import llm, stt, tts
from livekit.plugins import anthropic, assemblyai, cartesia, deepgram, elevenlabs, google, openai

from interview.assessor import Assessor
from providers import CATALOG, Catalog, Choice, Kind, Provider, ProviderKeys, usable

from .audio import VAD_NAMES
from .config import Settings
from .log import register_secret
from .offline_llm import OFFLINE_MODEL

logger = logging.getLogger("interview.providers")


def env_keys(settings: Settings, catalog: Catalog = CATALOG) -> ProviderKeys:
    """The keys in the environment (console, local mode, ``simulate``): each catalog
    key's variable. Each is registered for redaction from the logs."""
    keys = ProviderKeys({k.name: settings.setting(k.env) for k in catalog.keys})
    for secret in keys.values():
        register_secret(secret)
    kept, notes = usable(keys, settings.setting, catalog)
    for note in notes:
        logger.warning("%s", note)
    return kept


LAZY_IMPORTS = (
    "openai.resources.models",
    "openai.pagination",
    "openai.lib.streaming.chat",
    "livekit.agents.llm.async_toolset",
)
"""Modules the first session imports on its event loop (seen blocking it for 130-290 ms
each in a real room): imported in the prewarm instead."""


def warm() -> None:
    """Build the per-process TLS context and import what the first session would (prewarm),
    not during the first job."""
    _tls()
    for name in LAZY_IMPORTS:
        importlib.import_module(name)
    # LiveKit's per-job http session (the Deepgram plugin's) builds its TLS context, cached
    # per process, when the first stream opens: seen blocking a real room's loop ~130 ms
    from livekit.agents.utils import http_context

    shared_tls = getattr(http_context, "_create_ssl_context", None)
    if shared_tls is not None:
        shared_tls()


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process: building it is most of the cost of a new client."""
    return httpx.create_ssl_context()


def _openai_client(key: str, base_url: str | None) -> oai.AsyncClient:
    return oai.AsyncClient(
        api_key=key,
        base_url=base_url,
        max_retries=0,
        http_client=httpx.AsyncClient(
            verify=_tls(),
            timeout=httpx.Timeout(connect=15.0, read=5.0, write=5.0, pool=5.0),
            follow_redirects=True,
            limits=httpx.Limits(
                max_connections=50, max_keepalive_connections=50, keepalive_expiry=120
            ),
        ),
    )


def openai_client(settings: Settings, keys: ProviderKeys) -> oai.AsyncClient:
    """An OpenAI client with the session's OpenAI key (the settings LiveKit's plugins use
    for their own clients)."""
    if not keys.get("openai"):
        raise ValueError("no OpenAI key for this session")
    return _openai_client(keys["openai"], settings.openai_base_url)


@dataclass(slots=True, repr=False)
class PluginContext:
    """What a builder gets: the provider's key, model and endpoint, and the session's
    shared clients (one OpenAI client for the model, the voice and the assessment)."""

    settings: Settings
    provider: Provider
    key: str
    model: str
    base_url: str | None
    language: str = "en"
    voice: str | None = None
    shared: dict[tuple[str, str | None], Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"PluginContext({self.provider.id}, model={self.model!r})"

    def endpoint(self) -> dict[str, Any]:
        """``{"base_url": ...}`` for a plugin when an endpoint is set, else nothing (the
        plugin's own default)."""
        return {"base_url": self.base_url} if self.base_url else {}

    def openai_client(self) -> oai.AsyncClient:
        """One OpenAI-compatible client per key and endpoint in this session."""
        at = (self.key, self.base_url)
        if at not in self.shared:
            self.shared[at] = _openai_client(self.key, self.base_url)
        client: oai.AsyncClient = self.shared[at]
        return client


Builder = Callable[[PluginContext], Any]


def openai_llm(ctx: PluginContext) -> llm.LLM:
    """OpenAI's chat completions, or any API compatible with them at the key's endpoint
    (Groq: its own base URL)."""
    return openai.LLM(
        model=ctx.model, client=ctx.openai_client(), temperature=0.6, parallel_tool_calls=False
    )


def openai_stt(ctx: PluginContext) -> stt.STT:
    """OpenAI's streaming speech-to-text (the realtime transcription WebSocket)."""
    return openai.STT(
        model=ctx.model,
        language=ctx.language,
        client=ctx.openai_client(),
        use_realtime=True,
        prompt="A job interview: the candidate answers the interviewer's questions.",
    )


def openai_tts(ctx: PluginContext) -> tts.TTS:
    return openai.TTS(
        model=ctx.model,
        voice=ctx.voice or "alloy",
        client=ctx.openai_client(),
        instructions="Speak as a calm, friendly, professional job interviewer.",
    )


def deepgram_stt(ctx: PluginContext) -> stt.STT:
    extra = ctx.endpoint()
    return deepgram.STT(
        model=ctx.model,
        language="en-US" if ctx.language == "en" else ctx.language,
        api_key=ctx.key,
        filler_words=True,
        punctuate=True,
        smart_format=True,
        interim_results=True,
        endpointing_ms=300,
        **extra,
    )


def deepgram_tts(ctx: PluginContext) -> tts.TTS:
    """Deepgram's Aura voice. ``DEEPGRAM_BASE_URL`` names the live transcription endpoint
    (``.../v1/listen``); the voice is at ``.../v1/speak`` beside it."""
    extra = {"base_url": deepgram_speak_url(ctx.base_url)} if ctx.base_url else {}
    return deepgram.TTS(model=ctx.model, api_key=ctx.key, **extra)


def deepgram_speak_url(listen_url: str) -> str:
    base = listen_url.rstrip("/")
    if base.endswith("/listen"):
        return base[: -len("/listen")] + "/speak"
    return base + "/speak"


def assemblyai_stt(ctx: PluginContext) -> stt.STT:
    """AssemblyAI's streaming speech-to-text (its v3 WebSocket). Turns are formatted
    (punctuation and capitals): unformatted, the transcript is saved in lowercase without
    punctuation, and the turn-taking reads the words' punctuation."""
    extra = ctx.endpoint()
    return assemblyai.STT(api_key=ctx.key, model=ctx.model, format_turns=True, **extra)  # type: ignore[arg-type]


def anthropic_llm(ctx: PluginContext) -> llm.LLM:
    """Anthropic's Messages API (streamed)."""
    extra = ctx.endpoint()
    return anthropic.LLM(
        model=ctx.model, api_key=ctx.key, temperature=0.6, parallel_tool_calls=False,
        max_retries=0, **extra,
    )  # fmt: skip


def google_llm(ctx: PluginContext) -> llm.LLM:
    """Google's Gemini API (with an API key; Vertex AI is not used)."""
    options: dict[str, Any] = {}
    if ctx.base_url:
        options["http_options"] = genai_types.HttpOptions(base_url=ctx.base_url)
    plugin = google.LLM(
        model=ctx.model, api_key=ctx.key, vertexai=False, temperature=0.6, **options
    )
    if ctx.base_url and hasattr(plugin, "_client"):
        # the plugin makes its client without these options (each chat request gets them,
        # its prewarm's model listing does not): the key would go to Google's endpoint
        plugin._client = genai.Client(
            api_key=ctx.key, vertexai=False, http_options=options["http_options"]
        )
    return plugin


def elevenlabs_tts(ctx: PluginContext) -> tts.TTS:
    """ElevenLabs' streaming voice (its WebSocket input stream)."""
    extra = ctx.endpoint()
    if ctx.voice:
        extra["voice_id"] = ctx.voice
    return elevenlabs.TTS(api_key=ctx.key, model=ctx.model, **extra)


def cartesia_tts(ctx: PluginContext) -> tts.TTS:
    """Cartesia's streaming voice (its WebSocket)."""
    extra = ctx.endpoint()
    if ctx.voice:
        extra["voice"] = ctx.voice
    return cartesia.TTS(api_key=ctx.key, model=ctx.model, language=ctx.language, **extra)


def _builder(provider: Provider) -> Builder:
    module, _, name = provider.build.partition(":")
    found = getattr(importlib.import_module(module), name, None)
    if not callable(found):
        raise ValueError(f"provider {provider.id}: {provider.build} is not a builder")
    return found  # type: ignore[no-any-return]


def model_of(settings: Settings, provider: Provider) -> str:
    return settings.setting(provider.model_env) or provider.default_model


def voice_of(settings: Settings, provider: Provider) -> str | None:
    if provider.voice_env is None:
        return provider.default_voice
    return settings.setting(provider.voice_env) or provider.default_voice


def context_for(
    settings: Settings,
    keys: ProviderKeys,
    provider: Provider,
    *,
    catalog: Catalog = CATALOG,
    language: str = "en",
    shared: dict[tuple[str, str | None], Any] | None = None,
) -> PluginContext:
    key = keys.get(provider.key)
    if not key:
        raise ValueError(f"no {catalog.key(provider.key).label} key for {provider.kind.title}")
    spec = catalog.key(provider.key)
    return PluginContext(
        settings=settings,
        provider=provider,
        key=key,
        model=model_of(settings, provider),
        base_url=(settings.setting(spec.base_url_env) if spec.base_url_env else None)
        or spec.default_base_url,
        language=language,
        voice=voice_of(settings, provider),
        shared=shared if shared is not None else {},
    )


Switched = Callable[[Kind, str, str | None], None]
"""Told ``(kind, failed provider, provider now serving or None)`` when one fails."""

FALLBACK_EVENTS = {
    Kind.STT: ("stt_availability_changed", "stt"),
    Kind.LLM: ("llm_availability_changed", "llm"),
    Kind.TTS: ("tts_availability_changed", "tts"),
}


def build_chain(
    settings: Settings,
    keys: ProviderKeys,
    chain: Sequence[Provider],
    *,
    catalog: Catalog = CATALOG,
    language: str = "en",
    shared: dict[tuple[str, str | None], Any] | None = None,
    on_switch: Switched | None = None,
    made: list[Any] | None = None,
) -> Any:
    """The plugin serving a kind: the first provider's, or with providers standing by,
    LiveKit's fallback adapter over them all (in order). ``on_switch`` hears each switch
    (a provider failed and another serves) and each recovery (``failed`` serves again)."""
    shared = shared if shared is not None else {}
    built = [
        _builder(p)(
            context_for(settings, keys, p, catalog=catalog, language=language, shared=shared)
        )
        for p in chain
    ]
    if made is not None:  # closing an adapter leaves the plugins under it open
        made.extend(built)
    if len(built) == 1:
        return built[0]
    kind = chain[0].kind
    adapter: Any
    if kind is Kind.STT:
        # one reconnection half a second after a drop, then the next provider: the
        # candidate may be speaking, and what is not heard meanwhile is lost
        adapter = stt.FallbackAdapter(
            built, attempt_timeout=10.0, max_retry_per_stt=1, retry_interval=0.5
        )
    elif kind is Kind.TTS:
        adapter = tts.FallbackAdapter(built, max_retry_per_tts=1)
    else:
        adapter = llm.FallbackAdapter(built, attempt_timeout=15.0, max_retry_per_llm=1)
    event, field_name = FALLBACK_EVENTS[kind]
    up = dict.fromkeys(range(len(built)), True)

    def changed(ev: Any) -> None:
        instance = getattr(ev, field_name)
        at = next((i for i, b in enumerate(built) if b is instance), None)
        if at is None:
            return
        up[at] = bool(ev.available)
        serving = next((chain[i].key for i in range(len(built)) if up[i]), None)
        if on_switch is not None:
            on_switch(kind, chain[at].key, serving)

    adapter.on(event, changed)
    return adapter


def build_first(
    settings: Settings, keys: ProviderKeys, kind: Kind, *, catalog: Catalog = CATALOG
) -> Any:
    """The plugin of the first provider of ``kind`` the keys allow, alone (nothing
    standing by): for the tests and benchmarks that exercise one plugin."""
    chain = [p for p in catalog.of_kind(kind) if keys.get(p.key)][:1]
    if not chain:
        raise ValueError(f"no key for a {kind.title} provider ({', '.join(catalog.vendors(kind))})")
    return build_chain(settings, keys, chain, catalog=catalog)


def model_names(settings: Settings, choice: Choice, *, vad: bool = True) -> dict[str, str | None]:
    """``interviews.metadata.models``: each model the session uses (``None``: not used)."""
    voice = choice.voice
    tts_provider = choice.tts if voice else None
    return {
        "llm": model_of(settings, choice.llm) if choice.llm else OFFLINE_MODEL,
        "stt": model_of(settings, choice.stt) if voice and choice.stt else None,
        "tts": model_of(settings, tts_provider) if tts_provider else None,
        "tts_voice": voice_of(settings, tts_provider) if tts_provider else None,
        "vad": VAD_NAMES[settings.vad_engine] if voice and vad else None,
    }


def assessor_for(
    settings: Settings, keys: ProviderKeys, choice: Choice, *, catalog: Catalog = CATALOG
) -> Assessor | None:
    """The model's assessment with the user's own key: with an interviewer model reached
    through OpenAI's API (none with the offline interviewer)."""
    provider = choice.llm
    if provider is None or not provider.openai_compatible or not keys.get(provider.key):
        return None
    ctx = context_for(settings, keys, provider, catalog=catalog)
    return Assessor(ctx.openai_client(), model=ctx.model)
