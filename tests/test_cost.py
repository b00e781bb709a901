"""The cost estimate of an interview: priced from the dated table, said to be an estimate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.config import ConfigError, Settings, prices_for
from feedback import render
from interview.cost import PriceTableError, carried_items, estimate, load_prices, usage_items

ROOT = Path(__file__).resolve().parent.parent

INTERVIEW_USAGE = [
    {"type": "llm_usage", "provider": "openai", "model": "gpt-4.1-mini",
     "input_tokens": 10_000, "input_cached_tokens": 2_000, "output_tokens": 1_000},
    {"type": "stt_usage", "provider": "deepgram", "model": "nova-3", "audio_duration": 120.0},
    {"type": "tts_usage", "provider": "openai", "model": "gpt-4o-mini-tts",
     "characters_count": 900, "audio_duration": 60.0},
    {"type": "eot_usage", "provider": "livekit", "model": "turn-detector", "total_requests": 9},
]  # fmt: skip
ASSESSMENT_USAGE = [
    {"type": "llm_usage", "model": "gpt-4.1-mini-2025-04-14", "input_tokens": 3_000,
     "input_cached_tokens": 0, "output_tokens": 500},
]  # fmt: skip


def items() -> list[dict]:
    return [
        *usage_items(INTERVIEW_USAGE, "interview"),
        *usage_items(ASSESSMENT_USAGE, "assessment"),
    ]


def test_each_model_is_priced_from_the_bundled_table_by_hand() -> None:
    cost = estimate(items(), load_prices())
    by = {(i["kind"], i["purpose"]): i for i in cost["items"]}
    # 8 000 input at $0.40/M + 2 000 cached at $0.10/M + 1 000 output at $1.60/M
    assert by["llm", "interview"]["cost"] == pytest.approx(0.0032 + 0.0002 + 0.0016)
    assert by["stt", "interview"]["cost"] == pytest.approx(2 * 0.0077)  # two minutes
    assert by["tts", "interview"]["cost"] == pytest.approx(0.015)  # one minute of voice
    # a dated release is priced as its family
    assert by["llm", "assessment"]["cost"] == pytest.approx(0.0012 + 0.0008)
    assert cost["total"] == pytest.approx(0.005 + 0.0154 + 0.015 + 0.002)
    assert cost["estimate"] is True and cost["complete"] is True and cost["unpriced"] == []
    assert cost["currency"] == "USD"
    assert cost["prices"]["table"] == "bundled" and cost["prices"]["as_of"] == "2025-06-01"
    assert len(cost["items"]) == 4  # the end-of-turn model runs locally: nothing to price


def test_an_unknown_model_is_unpriced_not_guessed() -> None:
    usage = [
        {"type": "llm_usage", "model": "some-new-model", "input_tokens": 5, "output_tokens": 5}
    ]
    cost = estimate(usage_items(usage, "interview"), load_prices())
    assert cost["complete"] is False and cost["unpriced"] == ["llm:some-new-model"]
    assert cost["items"][0]["cost"] is None and cost["total"] == 0


def test_the_offline_interviewer_costs_nothing() -> None:
    usage = [{"type": "llm_usage", "model": "offline-question-bank", "input_tokens": 0}]
    cost = estimate(usage_items(usage, "interview"), load_prices())
    assert cost["items"] == [] and cost["total"] == 0 and cost["complete"] is True
    headline, lines = render.cost_lines({"metadata": {"cost": cost}})
    assert "offline" in headline and lines == []


def test_a_continued_interview_adds_the_earlier_jobs_use() -> None:
    earlier = estimate(usage_items(INTERVIEW_USAGE, "interview"), load_prices())
    both = estimate([*carried_items(earlier), *items()], load_prices())
    single = estimate(items(), load_prices())
    assert both["total"] == pytest.approx(single["total"] + earlier["total"])
    llm = next(i for i in both["items"] if i["kind"] == "llm" and i["purpose"] == "interview")
    assert llm["output_tokens"] == 2_000


def test_price_table_from_the_environment_replaces_the_bundled_one(tmp_path) -> None:
    table = tmp_path / "prices-2026-12.toml"
    table.write_text(
        'as_of = "2026-12-01"\ncurrency = "EUR"\n'
        '[llm."gpt-4.1-mini"]\ninput_per_million_tokens = 1.0\noutput_per_million_tokens = 2.0\n'
    )
    prices = prices_for(Settings(_env_file=None, price_table=table))
    cost = estimate(items(), prices)
    assert cost["prices"] == {"table": table.name, "as_of": "2026-12-01", "source": ""}
    assert cost["currency"] == "EUR" and set(cost["unpriced"]) == {
        "stt:nova-3",
        "tts:gpt-4o-mini-tts",
    }
    assert cost["total"] == pytest.approx((10_000 * 1.0 + 1_000 * 2.0 + 3_000 + 1_000) / 1e6)


@pytest.mark.parametrize(
    "text",
    [
        "not toml [",
        'currency = "USD"\n',
        'as_of = "x"\ncurrency = "USD"\n[llm.m]\ninput = -1\n',
        'as_of = "x"\ncurrency = "USD"\nllm = 3\n',
    ],
)
def test_a_malformed_price_table_is_a_clear_error_at_start(tmp_path, text) -> None:
    table = tmp_path / "bad.toml"
    table.write_text(text)
    with pytest.raises(ConfigError, match="PRICE_TABLE"):
        prices_for(Settings(_env_file=None, price_table=table))
    with pytest.raises(PriceTableError):
        load_prices(table)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "SUPABASE"))}
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "simulate", "--script", "-", "--offline"],
        input="", capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**env, "PRICE_TABLE": str(table), "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 2 and "PRICE_TABLE" in proc.stderr


def test_the_report_says_it_is_an_estimate_and_which_prices() -> None:
    cost = estimate(items(), load_prices())
    interview = {"metadata": {"cost": cost}, "room_name": "r", "ended_by": "completed"}
    headline, lines = render.cost_lines(interview)
    assert headline.startswith("About $0.0374") and "estimate" in headline
    assert "2025-06-01" in headline and "bundled" in headline
    assert any(line.startswith("speech-to-text nova-3: 2.0 min") for line in lines)
    assert any("assessment model" in line for line in lines)
    assert "interviewer model gpt-4.1-mini: 10,000 input (2,000 cached)" in "\n".join(lines)
    assert render.cost_lines({"metadata": {}}) is None  # saved before estimates: no section


usage_record = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("llm_usage"),
         "model": st.sampled_from(["gpt-4.1", "gpt-4.1-mini", "gpt-4o-mini-2024-07-18", "x"]),
         "input_tokens": st.integers(0, 10**7), "input_cached_tokens": st.integers(0, 10**5),
         "output_tokens": st.integers(-5, 10**6)}
    ),
    st.fixed_dictionaries(
        {"type": st.just("stt_usage"), "model": st.sampled_from(["nova-3", "nova-2", "whisper"]),
         "audio_duration": st.floats(0, 10_000)}
    ),
    st.fixed_dictionaries(
        {"type": st.just("tts_usage"), "model": st.sampled_from(["gpt-4o-mini-tts", "tts-1"]),
         "characters_count": st.integers(0, 10**6), "audio_duration": st.floats(0, 5_000)}
    ),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(usage_record, max_size=12), st.lists(usage_record, max_size=3))
def test_any_usage_gives_a_consistent_estimate(interview, assessment) -> None:
    cost = estimate(
        [*usage_items(interview, "interview"), *usage_items(assessment, "assessment")],
        load_prices(),
    )
    json.dumps(cost, allow_nan=False)
    priced = [i["cost"] for i in cost["items"] if i["cost"] is not None]
    assert all(c >= 0 for c in priced)
    assert cost["total"] == pytest.approx(sum(priced), abs=1e-5)
    assert cost["complete"] == (len(priced) == len(cost["items"]))
    assert len({(i["kind"], i["model"], i["purpose"]) for i in cost["items"]}) == len(cost["items"])
