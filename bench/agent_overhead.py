"""Agent overhead per turn, and context growth over a long interview.

    .venv/bin/python -m bench.agent_overhead [--turns 240] [--ttft 0.3] [--ttfb 0.2]

A real ``AgentSession`` with our ``Interviewer`` (turn commit, bounded context, stage
machine, transcript, checkpoints off the loop) and providers with fixed latencies: the
LLM answers after ``--ttft``, the TTS sends its first audio after ``--ttfb``. For each
turn: time from the candidate's committed turn to the first audio frame out, minus the
providers' own measured latencies = what the agent adds (physical floor: zero).

Context growth: prompt tokens (tiktoken ``o200k_base``) of the request the LLM gets at
turns 5, 30 and 60, next to what the full, unbounded history would cost.

Writes bench/results/agent_overhead.json.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import platform
import tempfile
import time
from pathlib import Path

from livekit.agents import Agent, AgentSession, llm

from agent.runtime import InterviewRuntime
from agent.session import InterviewSession, Providers
from bench.fakes import FixedLatencyLLM, FixedLatencyTTS, TimedAudioOutput
from bench.finalize import summary
from bench.tokens import o200k
from persistence import SqliteStore
from persistence.outbox import Outbox
from stages.definitions import DEFAULT_PLAN
from stages.machine import Limits
from stages.metadata import parse_metadata

ANSWER = (
    "In my last role I owned the payments service. My task was to cut failed payouts, so I "
    "added idempotency keys and retries with backoff, and as a result failures fell by 70 "
    "percent over two months while latency stayed flat."
)
REPLY = "Thank you. Could you tell me more about how you measured that result?"
CHECKPOINTS = (5, 30, 60)


def long_plan() -> tuple:
    """The default stages with room for hundreds of questions (a marathon interview)."""
    return tuple(
        dataclasses.replace(s, max_questions=100, time_budget_s=1e6)
        if s.id in ("experience", "technical", "behavioral")
        else s
        for s in DEFAULT_PLAN
    )


def prompt_tokens(enc, ctx: llm.ChatContext) -> int:
    messages, _ = ctx.to_provider_format("openai")
    # the usual chat accounting: content tokens plus ~4 per message
    return sum(len(enc.encode(json.dumps(m, ensure_ascii=False))) + 4 for m in messages)


def full_history(rt: InterviewRuntime, session: AgentSession) -> llm.ChatContext:
    """What an unbounded agent would send: the instructions and every item so far."""
    items = [i for i in session.history.items if i.type in ("message", "function_call",
                                                             "function_call_output")]  # fmt: skip
    system = llm.ChatMessage(role="system", content=[rt.instructions()])
    return llm.ChatContext([system, *items])


async def run(
    turns: int,
    ttft: float,
    ttfb: float,
    *,
    gap: float = 1.5,
    checkpoints: bool = True,
    baseline: bool = False,
) -> dict:
    enc = o200k()
    md = parse_metadata(
        json.dumps({"candidate_name": "Bench", "job_role": "Backend Developer",
                    "experience_level": "senior",
                    "resume_text": "Backend engineer. Python, Go, PostgreSQL, Kafka. " * 40,
                    "job_description": "Build payment APIs with Python and PostgreSQL. " * 30}),
        require_user=False,
    )  # fmt: skip
    md.plan = long_plan()
    rt = InterviewRuntime(md, room_name="bench-overhead", limits=Limits(max_duration_s=1e7))
    model = FixedLatencyLLM(lambda ctx: REPLY, ttft=ttft)
    voice = FixedLatencyTTS(ttfb=ttfb)
    work = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    baseline_agent = Agent(instructions=rt.instructions()) if baseline else None
    interview = InterviewSession(
        rt, Providers(llm=model, tts=voice), store=SqliteStore(work / "store.db"),
        outbox=Outbox(work / "outbox.db"), mode="bench", checkpoints=checkpoints,
        agent=baseline_agent,
    )  # fmt: skip
    session = interview.session
    out = TimedAudioOutput()
    session.output.audio = out
    overhead, totals, tokens = [], [], {}
    try:
        await interview.start()
        await interview.wait_for_greeting(30)
        for turn in range(1, turns + 1):
            await asyncio.sleep(gap)  # the candidate thinking and speaking
            n_out, n_llm, n_tts = (
                len(out.first_frames),
                len(model.actual_ttft),
                len(voice.actual_ttfb),
            )
            t0 = time.perf_counter()
            await session.run(user_input=f"{ANSWER} (answer {turn})")
            total = out.first_frames[n_out] - t0
            providers = model.actual_ttft[n_llm] + voice.actual_ttfb[n_tts]
            totals.append(total)
            overhead.append(total - providers)
            if turn in CHECKPOINTS:
                tokens[turn] = {
                    "sent_to_llm": prompt_tokens(enc, model.contexts[-1]),
                    "full_history_would_be": prompt_tokens(enc, full_history(rt, session)),
                }
            if rt.terminal and not baseline:
                break
    finally:
        await interview.aclose()
    ratio = tokens[60]["sent_to_llm"] / tokens[5]["sent_to_llm"] if 60 in tokens else None
    return {
        "command": f"python -m bench.agent_overhead --turns {turns} --ttft {ttft} --ttfb {ttfb} "
        f"--gap {gap}"
        + ("" if checkpoints else " --no-checkpoints")
        + (" --baseline" if baseline else ""),
        "machine": {"python": platform.python_version(), "cores": 2},
        "turns": len(overhead),
        "provider_latency_s": {"llm_ttft": ttft, "tts_ttfb": ttfb},
        "end_of_turn_to_first_audio": summary(totals) | {"p99_ms": _p99(totals)},
        "agent_overhead": summary(overhead) | {"p99_ms": _p99(overhead)},
        "prompt_tokens": tokens,
        "turn60_over_turn5": round(ratio, 2) if ratio else None,
    }


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=240)
    parser.add_argument("--ttft", type=float, default=0.3)
    parser.add_argument("--ttfb", type=float, default=0.2)
    parser.add_argument(
        "--gap", type=float, default=1.5, help="seconds between turns (the candidate speaking)"
    )
    parser.add_argument("--no-checkpoints", action="store_true", help="A/B: skip checkpoints")
    parser.add_argument(
        "--baseline", action="store_true", help="a plain LiveKit Agent with the same providers"
    )
    parser.add_argument("--out", default="agent_overhead.json")
    args = parser.parse_args()
    result = asyncio.run(
        run(
            args.turns,
            args.ttft,
            args.ttfb,
            gap=args.gap,
            checkpoints=not args.no_checkpoints,
            baseline=args.baseline,
        )
    )
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
