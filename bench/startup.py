"""Start-up: from job assignment to the greeting's first audio frame.

    .venv/bin/python -m bench.startup [--runs 20] [--ttft 0.3] [--ttfb 0.2]

The steps a dispatched job takes before the candidate hears anything, timed one by one:
configuration and metadata; loading and opening the user's keys from the local Supabase
stack (PostgREST over HTTP); building the real OpenAI / Deepgram plugins with those keys;
the interview runtime (question plan, stored questions); and the session start up to the
greeting's first audio frame with providers of fixed latency (LLM TTFT ``--ttft``, TTS
first byte ``--ttfb``), reported with and without those provider latencies.

The worker's prewarm hook (VAD, TLS context, question bank, prompt templates) runs once
per job process before any job; it is run first and reported separately.
Writes bench/results/startup.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import tempfile
import time
from pathlib import Path

from agent.config import Settings
from agent.plugins import build_chain
from agent.questions import stored_questions
from agent.runtime import InterviewRuntime
from agent.session import InterviewSession, Providers
from agent.worker import prewarm
from bench.fakes import FixedLatencyLLM, FixedLatencyTTS, TimedAudioOutput
from bench.finalize import summary
from byok.sealing import Keyring, new_salt
from byok.user_keys import load_user_keys
from persistence import KEY_COLUMNS, KeyRow, SqliteStore
from persistence.outbox import Outbox
from persistence.supabase_store import SupabaseStore
from providers import choose
from stages.metadata import parse_metadata
from tests.stack.local_supabase import LocalSupabase


class _Proc:
    def __init__(self) -> None:
        self.userdata: dict = {}


async def run(runs: int, ttft: float, ttfb: float) -> dict:
    stack = LocalSupabase().start()
    master = "k1:" + base64.b64encode(os.urandom(32)).decode()
    ring = Keyring.parse(master)
    store = SupabaseStore(stack.url, stack.service_key)
    phases: dict[str, list[float]] = {
        k: [] for k in ("config_and_metadata", "keys_load_and_open", "plugin_construction",
                        "runtime_and_question_plan", "session_start_to_first_audio",
                        "of_which_agent_overhead", "total")
    }  # fmt: skip
    try:
        user = stack.create_user("startup@example.com")
        salt = new_salt()
        secrets = ["sk-proj-" + "a" * 40, "dg-" + "b" * 36, "wss://x.livekit.cloud", "k", "s" * 40]
        sealed = {
            c: ring.seal(v, user_id=user, field=c, salt=salt)
            for c, v in zip(KEY_COLUMNS, secrets, strict=True)
        }
        await store.save_key_row(KeyRow(user_id=user, encryption_salt=salt, sealed=sealed))
        metadata = json.dumps(
            {"user_id": user, "candidate_name": "Ada", "job_role": "Backend Developer",
             "experience_level": "mid"}
        )  # fmt: skip
        await load_user_keys(store, ring, user)  # warm the HTTP connection, as a worker would
        t = time.perf_counter()
        prewarm(_Proc())  # what the worker does once per job process, before any job
        work = Path(tempfile.mkdtemp(prefix="bench-startup-"))
        prewarm_s = time.perf_counter() - t
        for n in range(runs):
            t0 = time.perf_counter()
            settings = Settings(_env_file=None, byok_master_keys=master)
            md = parse_metadata(metadata, require_user=True)
            t1 = time.perf_counter()
            keys = (await load_user_keys(store, ring, user)).providers
            t2 = time.perf_counter()
            choice, shared = choose(set(keys)), {}  # type: ignore[var-annotated]
            for provider in (choice.llm, choice.stt, choice.tts):
                if provider is not None:
                    build_chain(settings, keys, [provider], shared=shared)
            t3 = time.perf_counter()
            stored = await stored_questions(store, md.job_role)
            rt = InterviewRuntime(md, room_name=f"startup-{n}", stored=stored)
            t4 = time.perf_counter()
            model = FixedLatencyLLM(lambda ctx: "Hello Ada, ready to begin?", ttft=ttft)
            voice = FixedLatencyTTS(ttfb=ttfb)
            interview = InterviewSession(
                rt, Providers(llm=model, tts=voice), store=SqliteStore(work / "s.db"),
                outbox=Outbox(work / "o.db"), mode="bench", checkpoints=False,
            )  # fmt: skip
            out = TimedAudioOutput()
            interview.session.output.audio = out
            await interview.start()
            await out.first_frame.wait()
            t5 = out.first_frames[0]
            await interview.aclose()
            for key, value in (
                ("config_and_metadata", t1 - t0), ("keys_load_and_open", t2 - t1),
                ("plugin_construction", t3 - t2), ("runtime_and_question_plan", t4 - t3),
                ("session_start_to_first_audio", t5 - t4),
                ("of_which_agent_overhead", t5 - t4 - model.actual_ttft[0] - voice.actual_ttfb[0]),
                ("total", t5 - t0),
            ):  # fmt: skip
                phases[key].append(value)
    finally:
        await store.aclose()
        stack.stop()
    return {
        "command": f"python -m bench.startup --runs {runs} --ttft {ttft} --ttfb {ttfb}",
        "provider_latency_s": {"llm_ttft": ttft, "tts_ttfb": ttfb},
        "phases": {k: summary(v) for k, v in phases.items()},
        "prewarm_once_per_process_ms": round(prewarm_s * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--ttft", type=float, default=0.3)
    parser.add_argument("--ttfb", type=float, default=0.2)
    args = parser.parse_args()
    result = asyncio.run(run(args.runs, args.ttft, args.ttfb))
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / "startup.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
