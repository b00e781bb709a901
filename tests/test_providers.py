"""The voice pipeline is built as documented (no network: constructors only)."""

from __future__ import annotations

from agent.config import Settings
from agent.providers import ProviderKeys, build_stt, build_tts
from agent.session import TURN_HANDLING

KEYS = ProviderKeys(openai="sk-test-not-a-real-key-0123456789", deepgram="dg-test-0123456789abcdef")


def test_deepgram_keeps_filler_words_and_configured_model():
    settings = Settings(_env_file=None, interview_stt_model="nova-3-general")
    stt = build_stt(settings, KEYS)
    assert stt._opts.filler_words is True
    assert stt.model == "nova-3-general"


def test_tts_uses_configured_model_and_voice():
    settings = Settings(_env_file=None, interview_tts_model="tts-x", interview_tts_voice="sage")
    tts = build_tts(settings, KEYS)
    assert tts.model == "tts-x"
    assert tts._opts.voice == "sage"


def test_endpointing_leaves_room_to_think():
    assert TURN_HANDLING["endpointing"]["min_delay"] >= 0.8
    assert TURN_HANDLING["endpointing"]["max_delay"] >= 5.0


def test_keys_never_show_in_repr():
    assert "sk-test" not in repr(KEYS) and "dg-test" not in repr(KEYS)
    assert repr(KEYS) == "ProviderKeys(present=['openai', 'deepgram'])"
