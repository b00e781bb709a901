"""The candidate's spending cap: the meter, the machine's rule, and an interview that
closes at its cap with the real ``AgentSession`` and the OpenAI plugin on the local
OpenAI-compatible server (which reports each reply's tokens, priced from the dated table).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import Settings
from agent.runtime import InterviewRuntime
from agent.session import choice_for, providers_for
from interview.cost import load_prices
from interview.spending import SpendingMeter, usd
from persistence.outbox import Outbox
from persistence.sqlite_store import SqliteStore
from prompts import render
from providers import ProviderKeys
from stages.definitions import DEFAULT_PLAN
from stages.machine import InterviewMachine, Limits, StageChanged
from stages.metadata import adopt_spending_cap, parse_metadata

from .fake_openai import FakeOpenAI
from .fakes import typed_interview
from .rooms.harness import OPENAI_KEY, interviewer

REPLY_USD = (100 * 0.40 + 10 * 1.60) / 1_000_000
"""What one reply of the local server costs on gpt-4.1-mini (100 tokens in, 10 out)."""


def _llm(prompt: int, completion: int) -> dict:
    return {
        "type": "llm_usage", "provider": "openai", "model": "gpt-4.1-mini",
        "input_tokens": prompt, "output_tokens": completion,
    }  # fmt: skip


# ---------------------------------------------------------------- the meter


def test_the_meter_warns_at_80_percent_and_stops_one_reply_ahead_of_the_cap() -> None:
    meter = SpendingMeter(cap_usd=10 * REPLY_USD, source="metadata", prices=load_prices())
    crossings = []
    for n in range(1, 12):
        crossings.append((n, meter.update([_llm(100 * n, 10 * n)], now=float(n))))
    said = {n: c for n, c in crossings if c}
    assert said == {8: ["warned"], 9: ["reached"]}  # 80 %, then one reply short of the cap
    assert meter.spent_usd == pytest.approx(11 * REPLY_USD)
    assert meter.step_usd == pytest.approx(REPLY_USD)
    summary = meter.summary()
    assert summary is not None and summary["cap_usd"] == 10 * REPLY_USD
    assert (summary["warned_at"], summary["reached_at"]) == (8.0, 9.0)
    assert (usd(0.5), usd(12), usd(0.00045), usd(0)) == ("$0.50", "$12.00", "$0.00045", "$0")


def test_without_a_cap_the_meter_only_counts() -> None:
    meter = SpendingMeter(cap_usd=None, prices=load_prices())
    assert meter.update([_llm(10**6, 10**6)], now=1.0) == []
    assert meter.spent_usd == pytest.approx(2.0) and meter.summary() is None


def test_the_lower_cap_wins_and_a_bad_one_is_warned_about() -> None:
    md = parse_metadata('{"max_cost_usd": 0.5}', require_user=False)
    assert (md.max_cost_usd, md.cost_cap_source) == (0.5, "metadata")
    adopt_spending_cap(md, 0.25)
    assert (md.max_cost_usd, md.cost_cap_source) == (0.25, "user_setting")
    adopt_spending_cap(md, 2.0)  # a higher saved cap changes nothing
    assert md.max_cost_usd == 0.25
    for hostile in ("0.5", -1, 0, True, 1e9, float("nan"), [1], {"usd": 1}):
        md = parse_metadata("{}", require_user=False)
        adopt_spending_cap(md, hostile)
        assert md.max_cost_usd is None and md.warnings, hostile
    for raw in ('{"max_cost_usd": "1"}', '{"max_cost_usd": -2}', '{"max_cost_usd": NaN}'):
        md = parse_metadata(raw, require_user=False)
        assert md.max_cost_usd is None and any("max_cost_usd" in w for w in md.warnings)


# ---------------------------------------------------------------- the machine


def test_a_reached_cap_closes_after_the_current_answer_and_ends_cost_limit() -> None:
    now = [0.0]
    m = InterviewMachine(DEFAULT_PLAN, clock=lambda: now[0], limits=Limits(max_duration_s=1800))
    m.start()
    m.agent_turn("g")
    m.candidate_turn("ready")
    m.agent_turn("q1")
    m.spending_cap_reached()
    effects = m.candidate_turn("a1")
    assert effects == [StageChanged(previous="introduction", current="closing",
                                    reason="cost_limit")]  # fmt: skip
    assert [r.skip_source for r in m.stages if r.status == "skipped"] == ["cost_limit"] * 4
    (ended,) = m.agent_turn("closing")
    assert ended.ended_by == "cost_limit" and m.ended_by == "cost_limit"


# ---------------------------------------------------------------- an interview at its cap


async def test_an_interview_closes_gracefully_at_the_candidates_cap(tmp_path: Path) -> None:
    cap = round(8.5 * REPLY_USD, 8)  # warned after the 7th reply, closing after the 8th
    md = parse_metadata(f'{{"job_role": "Backend Developer", "max_cost_usd": {cap}}}',
                        require_user=False)  # fmt: skip
    answers = [
        "Yes, I am ready.",
        "I build payment systems for a bank, mostly in Go and Postgres.",
        "I want to own services end to end and to mentor junior engineers.",
        "I led the move of our ledger to a new database without downtime last year.",
        "We cut the reconciliation time from a day to an hour with a streaming job.",
        "I would start with the data model and the failure cases, then the API.",
        "I would add idempotency keys and a retry queue with backoff.",
        "Once a deploy went wrong and I rolled it back, then wrote the runbook for it.",
        "I ask for feedback early and I write down what I learned after each project.",
        "Thank you, that is all from me.",
    ]
    async with FakeOpenAI(interviewer) as openai:
        settings = Settings(_env_file=None, openai_base_url=openai.base_url)
        rt = InterviewRuntime(md, room_name="spending-cap")
        keys = ProviderKeys(openai=OPENAI_KEY)
        choice = choice_for(keys, rt).typed("a test of the spending cap")
        providers = providers_for(settings, keys, rt, vad=None, choice=choice)
        row, _ = await typed_interview(
            rt, providers, store=SqliteStore(tmp_path / "s.db"),
            outbox=Outbox(tmp_path / "o.db"), turns=answers,
        )  # fmt: skip
    assert row.ended_by == "cost_limit" and row.final_stage == "closing"
    replies = [m.text for m in rt.transcript.messages if m.role == "agent"]
    warned = render("say_spending_warned", cap=usd(cap))
    reached = render("say_spending_reached", cap=usd(cap))
    assert "$0.00048" in reached
    assert sum(warned in r for r in replies) == 1  # mentioned once
    assert sum(reached in r for r in replies) == 1
    assert replies.index(next(r for r in replies if reached in r)) == len(replies) - 1
    spending = row.metadata["spending"]
    assert spending["cap_usd"] == cap and spending["source"] == "metadata"
    assert spending["warned_at"] and spending["reached_at"]
    total = row.metadata["cost"]["total"]
    assert total <= cap + REPLY_USD + 1e-9  # never past the cap by more than one reply
    said = [m.text for m in rt.transcript.messages if m.role == "candidate"]
    assert said == answers[: len(said)] and len(said) < len(answers)  # every word kept
