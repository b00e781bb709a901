"""The voice pipeline is built as documented (no network: constructors only)."""

from __future__ import annotations

from agent.config import Settings
from agent.plugins import build_first
from agent.runtime import InterviewRuntime
from agent.session import providers_for
from agent.turn_taking import InterviewTurnDetector
from providers import Kind, ProviderKeys
from stages.metadata import parse_metadata

KEYS = ProviderKeys(openai="sk-test-not-a-real-key-0123456789", deepgram="dg-test-0123456789abcdef")


def test_deepgram_keeps_filler_words_and_configured_model():
    settings = Settings(_env_file=None, interview_stt_model="nova-3-general")
    stt = build_first(settings, KEYS, Kind.STT)
    assert stt._opts.filler_words is True
    assert stt.model == "nova-3-general"


def test_tts_uses_configured_model_and_voice():
    settings = Settings(_env_file=None, interview_tts_model="tts-x", interview_tts_voice="sage")
    tts = build_first(settings, KEYS, Kind.TTS)
    assert tts.model == "tts-x"
    assert tts._opts.voice == "sage"


def test_a_voice_interview_chooses_its_waits_and_stops_for_the_candidate():
    rt = InterviewRuntime(parse_metadata("{}", require_user=False), room_name="r")
    providers = providers_for(Settings(_env_file=None), KEYS, rt, vad=None)
    handling = providers.turn_handling
    assert isinstance(handling["turn_detection"], InterviewTurnDetector)
    assert handling["turn_detection"].watch is providers.turns
    assert handling["endpointing"]["mode"] == "fixed"  # the watch sets it pause by pause
    assert handling["interruption"]["min_duration"] <= 0.3


def test_keys_never_show_in_repr():
    assert "sk-test" not in repr(KEYS) and "dg-test" not in repr(KEYS)
    assert repr(KEYS) == "ProviderKeys(present=['openai', 'deepgram'])"
