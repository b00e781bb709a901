"""Build the speech and language plugins for one session from keys held in memory.

Keys are passed straight to each plugin's constructor: never through the process
environment, so a child process can never inherit them.
"""

from __future__ import annotations

import importlib
import ssl
from dataclasses import dataclass
from functools import cache

import httpx
import openai as oai
from livekit.agents import llm, stt, tts
from livekit.plugins import deepgram, openai

from interview.assessor import Assessor

from .audio import VAD_NAMES
from .config import Settings
from .offline_llm import OFFLINE_MODEL


@dataclass(frozen=True, slots=True, repr=False)
class ProviderKeys:
    """Decrypted provider keys for one session. ``repr`` never shows them."""

    openai: str | None = None
    deepgram: str | None = None

    def __repr__(self) -> str:
        present = [n for n in ("openai", "deepgram") if getattr(self, n)]
        return f"ProviderKeys(present={present})"


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


def openai_client(settings: Settings, keys: ProviderKeys) -> oai.AsyncClient:
    """One OpenAI client per session, shared by the interviewer model, the voice and the
    assessment (the same settings LiveKit's plugins use for their own clients)."""
    if not keys.openai:
        raise ValueError("no OpenAI key for this session")
    return oai.AsyncClient(
        api_key=keys.openai,
        base_url=settings.openai_base_url,
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


def build_llm(
    settings: Settings, keys: ProviderKeys, client: oai.AsyncClient | None = None
) -> llm.LLM:
    if not keys.openai:
        raise ValueError("no OpenAI key for the interviewer model")
    return openai.LLM(
        model=settings.interview_llm_model,
        client=client or openai_client(settings, keys),
        temperature=0.6,
        parallel_tool_calls=False,
    )


def build_stt(settings: Settings, keys: ProviderKeys, *, language: str = "en") -> stt.STT:
    if not keys.deepgram:
        raise ValueError("no Deepgram key for speech-to-text")
    extra = {"base_url": settings.deepgram_base_url} if settings.deepgram_base_url else {}
    return deepgram.STT(
        model=settings.interview_stt_model,
        language="en-US" if language == "en" else language,
        api_key=keys.deepgram,
        filler_words=True,
        punctuate=True,
        smart_format=True,
        interim_results=True,
        endpointing_ms=300,
        **extra,
    )


def build_tts(
    settings: Settings, keys: ProviderKeys, client: oai.AsyncClient | None = None
) -> tts.TTS:
    if not keys.openai:
        raise ValueError("no OpenAI key for text-to-speech")
    return openai.TTS(
        model=settings.interview_tts_model,
        voice=settings.interview_tts_voice,
        client=client or openai_client(settings, keys),
        instructions="Speak as a calm, friendly, professional job interviewer.",
    )


def model_names(settings: Settings, *, offline: bool, voice: bool) -> dict[str, str | None]:
    return {
        "llm": OFFLINE_MODEL if offline else settings.interview_llm_model,
        "stt": settings.interview_stt_model if voice else None,
        "tts": settings.interview_tts_model if voice else None,
        "tts_voice": settings.interview_tts_voice if voice else None,
        "vad": VAD_NAMES[settings.vad_engine] if voice else None,
    }


def assessor_for(settings: Settings, keys: ProviderKeys) -> Assessor | None:
    """The model's assessment with the user's own key (none without an OpenAI key)."""
    if not keys.openai:
        return None
    return Assessor(openai_client(settings, keys), model=settings.interview_llm_model)
