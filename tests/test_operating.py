"""Operating the worker: its Prometheus endpoint adds up the interviews' metrics, and
the interview's steps are OpenTelemetry spans. Both run the real commands as
subprocesses against local fake providers and a local OTLP collector."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .fake_openai import FakeOpenAI, last_user_text
from .otlp_collector import OtlpCollector
from .services import free_port

ROOT = Path(__file__).resolve().parent.parent
OPENAI_KEY = "sk-test-operating-0123456789abcdef"
SCRIPT = [
    "Yes, I'm ready.",
    "I build payment services in Go; the zebra-crossing migration was my biggest project.",
    "I cut failed payments by half with idempotency keys.",
]
SPOKEN_MARK = "zebra-crossing"
"""Words only the candidate says: they must never reach a span."""


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI", "DEEPGRAM", "SUPABASE", "LIVEKIT", "METRICS", "OTEL"))
    }
    env.update(
        INTERVIEW_DB_PATH=str(tmp_path / "interviews.db"),
        INTERVIEW_OUTBOX_PATH=str(tmp_path / "outbox.db"),
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def interviewer(failures: list[int]) -> Any:
    """Replies like an interviewer; the first reply fails once with a 500; the
    assessment (not streamed) gets an answer that is not the schema's."""

    def reply(body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("stream"):
            return {"content": "{}"}
        if not failures:
            failures.append(500)
            return {"status": 500}
        said = last_user_text(body) or ""
        return {"content": f"Thank you. You said {len(said.split())} words. What else?"}

    return reply


async def simulate(tmp_path: Path, env: dict[str, str]) -> dict[str, Any]:
    script = tmp_path / "script.txt"
    script.write_text("\n".join(SCRIPT) + "\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent", "simulate", "--json", "--script", str(script),
        env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    assert proc.returncode == 0, err.decode()[-3000:]
    return json.loads(out)


@contextmanager
def worker(env: dict[str, str], log: Path) -> Iterator[Any]:
    import subprocess

    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "start"], env=env, stdout=sink, stderr=sink
        )
        try:
            yield proc
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float | None:
    want = set(labels.items())
    found = [v for (n, ls), v in samples.items() if n == name and want <= set(ls)]
    return sum(found) if found else None


def tail(log: Path) -> str:
    return log.read_text()[-3000:]


async def wait_for_metrics(port: int, proc: Any, log: Path) -> dict:
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, tail(log)
        try:
            samples = await asyncio.to_thread(scrape, port)
            if value(samples, "interview_outbox_pending") is not None:
                return samples
        except OSError:
            pass
        assert time.monotonic() < deadline, tail(log)
        await asyncio.sleep(0.3)


async def test_the_worker_serves_livekits_and_the_interviews_metrics(tmp_path):
    """A worker that cannot reach LiveKit still serves /metrics; an interview run beside
    it with the same metrics directory (as its job processes do) is counted there."""
    port, shared = free_port(), tmp_path / "metrics"
    common = {"METRICS_DIR": str(shared)}
    failures: list[int] = []
    async with FakeOpenAI(interviewer(failures)) as openai:
        env = clean_env(
            tmp_path, **common, METRICS_PORT=str(port), HEALTH_PORT=str(free_port()),
            LIVEKIT_URL=f"ws://127.0.0.1:{free_port()}", LIVEKIT_API_KEY="devkey",
            LIVEKIT_API_SECRET="a-test-secret-that-is-long-enough-0123",
        )  # fmt: skip
        log = tmp_path / "worker.log"
        with worker(env, log) as proc:
            before = await wait_for_metrics(port, proc, log)
            assert value(before, "interview_started_total") is None
            row = await simulate(
                tmp_path,
                clean_env(
                    tmp_path, **common, OPENAI_API_KEY=OPENAI_KEY, OPENAI_BASE_URL=openai.base_url
                ),
            )
            after = await asyncio.to_thread(scrape, port)
    md = row["metadata"]
    assert value(after, "interview_started_total", mode="simulate") == 1
    assert value(after, "interview_ended_total", ended_by=row["ended_by"]) == 1
    assert value(after, "interview_running") == 0
    assert value(after, "interview_finalize_seconds_count") == 1
    assert value(after, "interview_finalize_seconds_sum") > 0
    model = md["models"]["llm"]
    used = md["usage"]
    assert used["llm_input_tokens"] > 0
    assert value(after, "interview_llm_tokens_total", model=model, direction="input",
                 purpose="interview") == used["llm_input_tokens"]  # fmt: skip
    assert value(after, "interview_llm_tokens_total", model=model, direction="output",
                 purpose="interview") == used["llm_output_tokens"]  # fmt: skip
    # two assessment attempts (the fake's answer is not the schema), 100 + 10 tokens each
    assert (
        value(after, "interview_llm_tokens_total", direction="input", purpose="assessment") == 200
    )
    assert value(after, "interview_provider_errors_total", provider="openai", service="llm",
                 status="500") >= 1  # fmt: skip
    assert value(after, "interview_estimated_cost_usd_count") == 1
    assert value(after, "interview_estimated_cost_usd_sum") == pytest.approx(md["cost"]["total"])
    assert value(after, "interview_outbox_pending") == 0
    assert value(after, "interview_outbox_oldest_pending_seconds") == 0
    # LiveKit's own, from the same endpoint
    assert value(after, "lk_agents_child_process_count") is not None
    assert OPENAI_KEY not in json.dumps({str(k): v for k, v in after.items()})


async def test_the_interview_steps_are_spans_with_room_and_interview_id(tmp_path):
    async with OtlpCollector() as collector, FakeOpenAI(interviewer([500])) as openai:
        row = await simulate(
            tmp_path,
            clean_env(
                tmp_path,
                OPENAI_API_KEY=OPENAI_KEY,
                OPENAI_BASE_URL=openai.base_url,
                OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint,
            ),
        )
    interview_id, room = row["id"], row["metadata"]["room_name"]
    ours = [s for s in collector.spans if s["name"].startswith("interview.")]
    names = {s["name"] for s in ours}
    assert {"interview.key_load", "interview.session_start", "interview.finalize",
            "interview.push", "interview.assessment"} <= names  # fmt: skip
    for s in ours:
        assert s["attributes"]["interview.id"] == interview_id, s
        assert s["attributes"]["interview.room"] == room, s
    assert len(collector.named("interview.push")) == 2  # the transcript, then the assessment
    (finalize,) = collector.named("interview.finalize")
    for step in ("interview.push", "interview.assessment"):
        assert all(s["parent_id"] == finalize["span_id"] for s in collector.named(step))
    (assessment,) = collector.named("interview.assessment")
    assert assessment["attributes"]["assessment.model"] == row["metadata"]["models"]["llm"]
    assert collector.named("interview.key_load")[0]["attributes"]["keys.source"] == "environment"
    # LiveKit's own spans go to the same collector, without the conversation's content
    assert any(not s["name"].startswith("interview.") for s in collector.spans)
    assert {r.get("service.name") for r in collector.resources} == {"interview-agent"}
    everything = json.dumps(collector.spans)
    assert SPOKEN_MARK not in everything and OPENAI_KEY not in everything
