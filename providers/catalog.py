"""The providers an interview can use, as data: one entry per provider.

A provider is one kind of service (speech-to-text, the interviewer's model, the voice)
from one vendor, reached with one of the candidate's keys. Everything that asks "which
keys are there, which are needed, which mode does this interview run in, what does it
cost, how is its LiveKit plugin built" reads this table: the session's assembly
(``agent/session.py``), the keys commands, the key columns ``persistence`` reads, the
cost estimate and the docs' lists (checked by ``tests/test_provider_table.py``).

Nothing here imports LiveKit: ``build`` names the function (``module:function``) in
``agent/`` that makes the plugin, imported only when a session needs it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class Kind(StrEnum):
    """What a provider does in the interview (the price table's sections)."""

    STT = "stt"
    LLM = "llm"
    TTS = "tts"

    @property
    def title(self) -> str:
        return {"stt": "speech-to-text", "llm": "model", "tts": "voice"}[self.value]


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One vendor's key: how it is named, where it comes from, where it is sealed."""

    name: str
    """Short name: ``keys set`` input, the metadata's ``providers`` preference, messages."""
    label: str
    """The vendor as a person names it."""
    env: str
    """The environment variable (console, local mode, ``keys set`` from the environment)."""
    column: str
    """The ``user_api_keys`` column its sealed value lives in (the AAD names it)."""
    base_url_env: str | None = None
    """The environment variable of a compatible endpoint (gateway, proxy, stand-in)."""
    default_base_url: str | None = None
    """The vendor's endpoint when its plugin's own default is another vendor's (an
    OpenAI-compatible API reached through the OpenAI plugin)."""
    requires: tuple[str, ...] = ()
    """Settings the operator must give before this key is used at all (an endpoint of
    their own): without them a saved key of this name is set aside, never called."""


@dataclass(frozen=True, slots=True)
class Provider:
    """One provider: a kind of service from one vendor, with one key."""

    key: str
    """The :class:`KeySpec` name; also the provider's name within its kind."""
    kind: Kind
    plugin: str
    """The pinned distribution of LiveKit's plugin for it."""
    build: str
    """``module:function`` in ``agent/`` that builds the plugin (see ``agent/plugins.py``)."""
    default_model: str
    model_env: str
    """The environment variable that chooses another model."""
    models: tuple[str, ...]
    """The models documented and priced (``[kind."model"]`` in the price table); another
    model named in ``model_env`` is used and reported unpriced, never guessed."""
    voice_env: str | None = None
    default_voice: str | None = None
    """A voice provider's speaker, when chosen apart from the model."""
    openai_compatible: bool = False
    """A model reached through OpenAI's chat completions API (the assessment uses it)."""

    @property
    def id(self) -> str:
        return f"{self.key}-{self.kind.value}"


@dataclass(frozen=True, slots=True)
class Catalog:
    """The keys and providers known, with the default order of each kind."""

    keys: tuple[KeySpec, ...]
    providers: tuple[Provider, ...]
    order: Mapping[Kind, tuple[str, ...]] = field(default_factory=dict)
    """Per kind, the key names in the order they are chosen without a preference."""

    def __post_init__(self) -> None:
        names = [k.name for k in self.keys]
        if len(set(names)) != len(names):
            raise ValueError("a key is named twice")
        known = set(names)
        ids = [p.id for p in self.providers]
        if len(set(ids)) != len(ids):
            raise ValueError("a provider is listed twice")
        for p in self.providers:
            if p.key not in known:
                raise ValueError(f"provider {p.id}: no key named {p.key!r}")
        for kind, names_in_order in self.order.items():
            for name in names_in_order:
                if self.provider(kind, name) is None:
                    raise ValueError(f"order of {kind.value}: no provider {name!r}")
        object.__setattr__(self, "order", MappingProxyType(dict(self.order)))

    def key(self, name: str) -> KeySpec:
        for k in self.keys:
            if k.name == name:
                return k
        raise KeyError(name)

    def provider(self, kind: Kind, name: str) -> Provider | None:
        for p in self.providers:
            if p.kind is kind and p.key == name:
                return p
        return None

    def of_kind(self, kind: Kind) -> list[Provider]:
        """This kind's providers, in the default order (then as listed)."""
        ranked = list(self.order.get(kind, ()))
        listed = [p for p in self.providers if p.kind is kind]
        return sorted(listed, key=lambda p: ranked.index(p.key) if p.key in ranked else len(ranked))

    def vendors(self, kind: Kind) -> list[str]:
        return [self.key(p.key).label for p in self.of_kind(kind)]

    @property
    def columns(self) -> dict[str, str]:
        """Key name → sealed column, for every provider key."""
        return {k.name: k.column for k in self.keys}

    def with_entries(
        self, keys: Iterable[KeySpec] = (), providers: Iterable[Provider] = (),
        order: Mapping[Kind, tuple[str, ...]] | None = None,
    ) -> Catalog:  # fmt: skip
        """This catalog with more keys and providers (a deployment's own, a test's)."""
        return Catalog(
            keys=(*self.keys, *keys),
            providers=(*self.providers, *providers),
            order={**self.order, **(order or {})},
        )


OPENAI = KeySpec(
    name="openai",
    label="OpenAI",
    env="OPENAI_API_KEY",
    column="openai_key_encrypted",
    base_url_env="OPENAI_BASE_URL",
)
DEEPGRAM = KeySpec(
    name="deepgram",
    label="Deepgram",
    env="DEEPGRAM_API_KEY",
    column="deepgram_key_encrypted",
    base_url_env="DEEPGRAM_BASE_URL",
)
GROQ = KeySpec(
    name="groq",
    label="Groq",
    env="GROQ_API_KEY",
    column="groq_key_encrypted",
    base_url_env="GROQ_BASE_URL",
    default_base_url="https://api.groq.com/openai/v1",
)

ANTHROPIC = KeySpec(
    name="anthropic",
    label="Anthropic",
    env="ANTHROPIC_API_KEY",
    column="anthropic_key_encrypted",
    base_url_env="ANTHROPIC_BASE_URL",
)
GOOGLE = KeySpec(
    name="google",
    label="Google Gemini",
    env="GOOGLE_API_KEY",
    column="google_key_encrypted",
    base_url_env="GOOGLE_GEMINI_BASE_URL",
)
ELEVENLABS = KeySpec(
    name="elevenlabs",
    label="ElevenLabs",
    env="ELEVEN_API_KEY",
    column="elevenlabs_key_encrypted",
    base_url_env="ELEVENLABS_BASE_URL",
)
CARTESIA = KeySpec(
    name="cartesia",
    label="Cartesia",
    env="CARTESIA_API_KEY",
    column="cartesia_key_encrypted",
    base_url_env="CARTESIA_BASE_URL",
)
ASSEMBLYAI = KeySpec(
    name="assemblyai",
    label="AssemblyAI",
    env="ASSEMBLYAI_API_KEY",
    column="assemblyai_key_encrypted",
    base_url_env="ASSEMBLYAI_BASE_URL",
)
COMPATIBLE = KeySpec(
    name="compatible",
    label="the deployment's OpenAI-compatible endpoint",
    env="COMPATIBLE_API_KEY",
    column="compatible_key_encrypted",
    base_url_env="COMPATIBLE_BASE_URL",
    requires=("COMPATIBLE_BASE_URL", "COMPATIBLE_MODEL"),
)
"""A model server the operator runs or chose (vLLM, Ollama, Together, a gateway): its
address is the operator's setting, never a user's (a worker calling an address a user
typed could be made to reach the operator's own network)."""

CATALOG = Catalog(
    keys=(OPENAI, DEEPGRAM, GROQ, ANTHROPIC, GOOGLE, ELEVENLABS, CARTESIA, ASSEMBLYAI, COMPATIBLE),
    providers=(
        Provider(
            key="deepgram",
            kind=Kind.STT,
            plugin="livekit-plugins-deepgram",
            build="agent.plugins:deepgram_stt",
            default_model="nova-3",
            model_env="INTERVIEW_STT_MODEL",
            models=("nova-3", "nova-2"),
        ),
        Provider(
            key="openai",
            kind=Kind.STT,
            plugin="livekit-plugins-openai",
            build="agent.plugins:openai_stt",
            default_model="gpt-4o-mini-transcribe",
            model_env="OPENAI_STT_MODEL",
            models=("gpt-4o-mini-transcribe", "gpt-4o-transcribe"),
        ),
        Provider(
            key="assemblyai",
            kind=Kind.STT,
            plugin="livekit-plugins-assemblyai",
            build="agent.plugins:assemblyai_stt",
            default_model="universal-streaming-english",
            model_env="ASSEMBLYAI_MODEL",
            models=("universal-streaming-english", "universal-streaming-multilingual"),
        ),
        Provider(
            key="openai",
            kind=Kind.LLM,
            plugin="livekit-plugins-openai",
            build="agent.plugins:openai_llm",
            default_model="gpt-4.1-mini",
            model_env="INTERVIEW_LLM_MODEL",
            models=("gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini"),
            openai_compatible=True,
        ),
        Provider(
            key="groq",
            kind=Kind.LLM,
            plugin="livekit-plugins-openai",
            build="agent.plugins:openai_llm",
            default_model="llama-3.3-70b-versatile",
            model_env="GROQ_MODEL",
            models=("llama-3.3-70b-versatile", "llama-3.1-8b-instant"),
            openai_compatible=True,
        ),
        Provider(
            key="anthropic",
            kind=Kind.LLM,
            plugin="livekit-plugins-anthropic",
            build="agent.plugins:anthropic_llm",
            default_model="claude-sonnet-4-20250514",
            model_env="ANTHROPIC_MODEL",
            models=("claude-sonnet-4-20250514", "claude-3-5-haiku-20241022"),
        ),
        Provider(
            key="google",
            kind=Kind.LLM,
            plugin="livekit-plugins-google",
            build="agent.plugins:google_llm",
            default_model="gemini-2.0-flash-001",
            model_env="GOOGLE_GEMINI_MODEL",
            models=("gemini-2.0-flash-001", "gemini-2.0-flash-lite"),
        ),
        Provider(
            key="compatible",
            kind=Kind.LLM,
            plugin="livekit-plugins-openai",
            build="agent.plugins:openai_llm",
            default_model="",
            model_env="COMPATIBLE_MODEL",
            models=(),
            openai_compatible=True,
        ),
        Provider(
            key="openai",
            kind=Kind.TTS,
            plugin="livekit-plugins-openai",
            build="agent.plugins:openai_tts",
            default_model="gpt-4o-mini-tts",
            model_env="INTERVIEW_TTS_MODEL",
            models=("gpt-4o-mini-tts", "tts-1", "tts-1-hd"),
            voice_env="INTERVIEW_TTS_VOICE",
            default_voice="alloy",
        ),
        Provider(
            key="deepgram",
            kind=Kind.TTS,
            plugin="livekit-plugins-deepgram",
            build="agent.plugins:deepgram_tts",
            default_model="aura-2-thalia-en",
            model_env="DEEPGRAM_TTS_MODEL",
            models=("aura-2-thalia-en", "aura-2-andromeda-en", "aura-2-apollo-en"),
        ),
        Provider(
            key="elevenlabs",
            kind=Kind.TTS,
            plugin="livekit-plugins-elevenlabs",
            build="agent.plugins:elevenlabs_tts",
            default_model="eleven_flash_v2_5",
            model_env="ELEVENLABS_MODEL",
            models=("eleven_flash_v2_5", "eleven_turbo_v2_5", "eleven_multilingual_v2"),
            voice_env="ELEVENLABS_VOICE",
            default_voice="hpp4J3VqNfWAUOO0d1Us",
        ),
        Provider(
            key="cartesia",
            kind=Kind.TTS,
            plugin="livekit-plugins-cartesia",
            build="agent.plugins:cartesia_tts",
            default_model="sonic-2",
            model_env="CARTESIA_MODEL",
            models=("sonic-2", "sonic-turbo"),
            voice_env="CARTESIA_VOICE",
            default_voice="f786b574-daa5-4673-aa0c-cbe3e8534c02",
        ),
    ),
    order={
        Kind.STT: ("deepgram", "openai", "assemblyai"),
        Kind.LLM: ("openai", "anthropic", "google", "groq", "compatible"),
        Kind.TTS: ("openai", "elevenlabs", "cartesia", "deepgram"),
    },
)
"""The providers this worker knows, and the order each kind is chosen in."""
