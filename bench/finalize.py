"""Finalize a 300-message interview against the local Supabase stack.

    .venv/bin/python -m bench.finalize [--messages 300] [--runs 20] [--flush-items 200]

Prints the numbers and writes bench/results/finalize.json. Measures: building the rows,
the local outbox commit, the push to Supabase (PostgREST over HTTP), the whole finalize,
a per-turn checkpoint, and outbox flush throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from agent.runtime import InterviewRuntime
from interview.rows import SessionFacts, build_records
from persistence import InterviewIdentity
from persistence.outbox import Outbox
from persistence.supabase_store import SupabaseStore
from stages.metadata import parse_metadata
from tests.stack.local_supabase import LocalSupabase

ANSWER = (
    "In my last role I owned the payments reconciliation service; um, my task was to cut "
    "manual fixes, so I rebuilt the matching logic in Python and as a result errors fell by half."
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def long_interview(messages: int, room: str) -> InterviewRuntime:
    md = parse_metadata(
        json.dumps(
            {"candidate_name": "Bench", "job_role": "Backend Developer", "max_duration_s": 7200}
        ),
        require_user=False,
    )
    clock = Clock()
    rt = InterviewRuntime(md, room_name=room, clock=clock)
    rt.start()
    for i in range(messages // 2):
        clock.now += 20
        question = f"Question {i}: tell me more?"
        rt.record_message(
            turn_id=f"a{i}", role="agent", text=question, started_at=clock.now,
            ended_at=clock.now + 4, interrupted=False, metrics={},
        )  # fmt: skip
        rt.reply_done(f"a{i}", {f"a{i}"}, question)
        rt.candidate_turn(f"c{i}", ANSWER, clock.now + 5)
        rt.record_message(
            turn_id=f"c{i}", role="candidate", text=ANSWER, started_at=clock.now + 5,
            ended_at=clock.now + 18, interrupted=False, metrics={},
        )  # fmt: skip
    rt.client_end()
    return rt


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def summary(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {"p50_ms": round(pct(ms, 0.5), 2), "p95_ms": round(pct(ms, 0.95), 2),
            "max_ms": round(max(ms), 2), "mean_ms": round(statistics.fmean(ms), 2)}  # fmt: skip


async def run(args: argparse.Namespace) -> dict:
    stack = LocalSupabase().start()
    work = Path(tempfile.mkdtemp(prefix="bench-finalize-"))
    store = SupabaseStore(stack.url, stack.service_key)
    facts = SessionFacts(mode="bench", models={"llm": "offline"})
    build, commit, push, total, checkpoint = [], [], [], [], []
    try:
        outbox = Outbox(work / "outbox.db")
        await store.save(build_records(long_interview(2, "warmup"), facts, revision=1)[0], None)
        for run_no in range(args.runs):
            rt = long_interview(args.messages, f"bench-{run_no}-{time.time_ns()}")
            t0 = time.perf_counter()
            interview, feedback = build_records(rt, facts, revision=1)
            t1 = time.perf_counter()
            await outbox.put(interview, feedback)
            t2 = time.perf_counter()
            result = await outbox.flush(store, interview_id=interview.id, force=True)
            t3 = time.perf_counter()
            assert result.pushed == 1, result
            build.append(t1 - t0)
            commit.append(t2 - t1)
            push.append(t3 - t2)
            total.append(t3 - t0)
            c0 = time.perf_counter()
            interview.revision += 1
            await outbox.checkpoint(interview, feedback)
            checkpoint.append(time.perf_counter() - c0)
        size = len(json.dumps(interview.conversation))
        # flush throughput: many small finished interviews waiting in the outbox
        small = long_interview(20, "x")
        for i in range(args.flush_items):
            small.identity = InterviewIdentity.new(f"flush-{i}-{time.time_ns()}")
            rec, fb = build_records(small, facts, revision=1)
            await outbox.put(rec, fb)
        f0 = time.perf_counter()
        flushed = await outbox.flush(store, force=True)
        flush_s = time.perf_counter() - f0
    finally:
        await store.aclose()
        stack.stop()
    return {
        "command": "python -m bench.finalize "
        f"--messages {args.messages} --runs {args.runs} --flush-items {args.flush_items}",
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
        },
        "messages": args.messages,
        "conversation_json_bytes": size,
        "build_rows": summary(build),
        "outbox_commit": summary(commit),
        "push_to_supabase": summary(push),
        "finalize_total": summary(total),
        "checkpoint_write": summary(checkpoint),
        "flush": {
            "items": flushed.pushed,
            "seconds": round(flush_s, 3),
            "items_per_s": round(flushed.pushed / flush_s, 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--flush-items", type=int, default=200)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / "finalize.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
