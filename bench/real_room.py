"""Voice to voice in a real room, next to the same figure in process.

    .venv/bin/python -m bench.real_room [--turns 20] [--mode both|room|inprocess]
        [--providers JSON] [--out NAME]

Room: a local LiveKit server (dev mode, loopback), the worker as users start it
(``python -m agent start``), the real PostgreSQL + PostgREST stack, and a candidate on the
``livekit`` real-time SDK publishing espeak-ng speech in real time. In process: the
worker's own session (``InterviewSession``, ``providers_for``) with the same speech fed
through an in-process microphone.
Both use the same local OpenAI- and Deepgram-compatible servers, which answer at once
(the model's first token and the voice's first audio within a few ms; the transcript 300
ms after speech ends, Deepgram's endpointing), the real Silero VAD and the production turn
handling (LiveKit's end-of-turn model, dynamic endpointing 0.8-6 s).

Measured per turn: from the end of the candidate's speech (the last voiced sample handed
to the microphone) to the first non-silent agent audio the candidate receives (room) or
the first audio frame out (in process); and, apart, the time the worker spent deciding that
the turn had ended (LiveKit's ``end_of_turn_delay``). Writes bench/results/real_room.json
(or ``NAME.json``). ``--providers``: the metadata's provider choice, e.g.
``'{"stt": ["deepgram"], "tts": ["openai"]}'`` (one provider each, nothing standing by) to
set beside the default (with both keys, the other vendor stands by behind LiveKit's
fallback adapters).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from livekit.agents import utils

from agent.audio import load_vad
from agent.config import Settings
from agent.runtime import InterviewRuntime
from agent.session import InterviewSession, providers_for
from bench.fakes import Microphone, TimedAudioOutput, frames_of
from persistence import SqliteStore
from persistence.outbox import Outbox
from providers import ProviderKeys
from stages.metadata import parse_metadata
from tests.fake_deepgram import FakeDeepgram
from tests.fake_openai import FakeOpenAI
from tests.rooms.harness import (
    DEEPGRAM_KEY,
    MASTER,
    OPENAI_KEY,
    Candidate,
    WorkerProcess,
    dispatch,
    interviewer,
    seal_keys,
    speech,
    token,
)
from tests.rooms.servers import LiveKitServer
from tests.stack.local_supabase import LocalSupabase

ANSWERS = [
    "Yes, I am ready to begin.",
    "I am a backend developer with five years of experience building payment services.",
    "At my last job I cut failed payments by half with idempotency keys and retries.",
    "I would put a queue in front of the consumers and watch their lag very closely.",
    "We moved the reports to a read replica, so the main database stayed fast.",
]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def summary(values: list[float]) -> dict[str, float | int]:
    ms = [v * 1000 for v in values]
    if not ms:
        return {"count": 0}
    return {"count": len(ms), "p50_ms": round(pct(ms, 0.5), 1), "p95_ms": round(pct(ms, 0.95), 1),
            "mean_ms": round(statistics.fmean(ms), 1), "max_ms": round(max(ms), 1)}  # fmt: skip


def trailing_silence_s(samples: Any, rate: int = 48000) -> float:
    """How much silence espeak-ng left after the last voiced sample: the end of speech is
    the end of the voice, not of the buffer."""
    loud = (abs(samples.astype("int32")) > 500).nonzero()[0]
    return 0.0 if loud.size == 0 else (len(samples) - 1 - int(loud[-1])) / rate


def lines_for(turns: int) -> list[str]:
    return [ANSWERS[i % len(ANSWERS)] for i in range(turns + 40)]


# ---------------------------------------------------------------- in a real room


async def room(turns: int, work: Path, chosen: dict[str, Any]) -> dict[str, Any]:
    stack = LocalSupabase().start()
    server = LiveKitServer()
    openai = await FakeOpenAI(interviewer).__aenter__()
    deepgram = await FakeDeepgram(lines_for(turns), key=DEEPGRAM_KEY).__aenter__()
    user = stack.create_user(f"bench-{uuid.uuid4().hex[:8]}@example.com")
    await seal_keys(stack, user)
    agent_name = f"bench-{uuid.uuid4().hex[:6]}"
    worker = WorkerProcess(server, agent_name, {
        "SUPABASE_URL": stack.url, "SUPABASE_SERVICE_ROLE_KEY": stack.service_key,
        "BYOK_MASTER_KEYS": MASTER, "OPENAI_BASE_URL": openai.base_url,
        "DEEPGRAM_BASE_URL": deepgram.base_url,
        "INTERVIEW_OUTBOX_PATH": str(work / "outbox.db"),
        "INTERVIEW_DB_PATH": str(work / "interviews.db"),
    })  # fmt: skip
    samples = {line: speech(line, work) for line in ANSWERS}
    voice_to_voice: list[float] = []
    end_of_turn: list[float] = []
    try:
        await worker.wait_for("registered worker")
        while len(voice_to_voice) < turns:
            name = f"bench-{uuid.uuid4().hex[:8]}"
            await dispatch(server, name, agent_name, {"user_id": user, **chosen})
            candidate = Candidate(server, name)
            await candidate.join(token(server, name, "candidate"))
            try:
                interview_id = (await candidate.wait_for_agent()).attributes["interview.id"]
                await candidate.wait_until_heard(0.0)
                await candidate.wait_until_quiet()
                while len(voice_to_voice) < turns:
                    if any(s.get("status") in ("ending", "ended") for s in candidate.states):
                        break
                    line = deepgram.lines[deepgram.next_line]
                    t = await candidate.say(samples[line])
                    heard = await candidate.wait_until_heard(t, limit_s=20)
                    voice_to_voice.append(heard - (t - trailing_silence_s(samples[line])))
                    await candidate.wait_until_quiet()
            finally:
                await candidate.leave()
            row = await _saved(stack, interview_id)
            end_of_turn += row["metadata"]["latency"].get("end_of_turn_delays_s") or []
    finally:
        await asyncio.to_thread(worker.stop)
        await openai.__aexit__(None, None, None)
        await deepgram.__aexit__(None, None, None)
        server.stop()
        stack.stop()
    return {"voice_to_voice": summary(voice_to_voice),
            "end_of_turn_decision": summary(end_of_turn[: len(voice_to_voice)]),
            "after_the_decision": _after(voice_to_voice, end_of_turn)}  # fmt: skip


async def _saved(stack: LocalSupabase, interview_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        text = stack.psql(
            f"select metadata::text from interviews where id = '{interview_id}' "
            "and ended_by is not null"
        )
        if text:
            return {"metadata": json.loads(text)}
        if time.monotonic() > deadline:
            raise RuntimeError(f"interview {interview_id} was never saved")
        await asyncio.sleep(0.2)


def _after(total: list[float], eot: list[float]) -> dict[str, float | int]:
    """Voice to voice minus the end-of-turn decision, turn by turn."""
    return summary([t - e for t, e in zip(total, eot, strict=False)])


# ---------------------------------------------------------------- in process


async def in_process(turns: int, work: Path, chosen: dict[str, Any]) -> dict[str, Any]:
    voice_to_voice: list[float] = []
    end_of_turn: list[float] = []
    async with (
        utils.http_context.open(),
        FakeOpenAI(interviewer) as openai,
        FakeDeepgram(lines_for(turns), key=DEEPGRAM_KEY) as deepgram,
    ):
        settings = Settings(
            _env_file=None, openai_base_url=openai.base_url, deepgram_base_url=deepgram.base_url
        )
        keys = ProviderKeys(openai=OPENAI_KEY, deepgram=DEEPGRAM_KEY)
        spoken = {line: speech(line, work) for line in ANSWERS}
        frames = {line: frames_of(samples.tobytes(), 48000) for line, samples in spoken.items()}
        vad = load_vad()
        while len(voice_to_voice) < turns:
            md = parse_metadata(
                json.dumps({"job_role": "Backend Developer", **chosen}), require_user=False
            )
            rt = InterviewRuntime(md, room_name=f"bench-{uuid.uuid4().hex[:6]}")
            interview = InterviewSession(
                rt, providers_for(settings, keys, rt, vad=vad), store=SqliteStore(work / "s.db"),
                outbox=Outbox(work / "o.db"), mode="bench", checkpoints=False,
            )  # fmt: skip
            mic, speaker = Microphone(rate=48000), TimedAudioOutput()
            interview.session.input.audio, interview.session.output.audio = mic, speaker
            mic.on()
            try:
                await interview.start()
                await interview.wait_for_greeting(30)
                while len(voice_to_voice) < turns and not rt.terminal:
                    replies = len(speaker.first_frames)
                    line = deepgram.lines[deepgram.next_line]
                    t = await mic.say(frames[line]) - trailing_silence_s(spoken[line])
                    await asyncio.wait_for(speaker.segments_at_least(replies + 1), 20)
                    voice_to_voice.append(speaker.first_frames[replies] - t)
                    await asyncio.sleep(0.8)
                end_of_turn += [
                    x.end_of_turn_delay_s for x in rt.latencies if x.end_of_turn_delay_s is not None
                ]
            finally:
                await interview.aclose()
                await mic.off()
    return {"voice_to_voice": summary(voice_to_voice),
            "end_of_turn_decision": summary(end_of_turn[: len(voice_to_voice)]),
            "after_the_decision": _after(voice_to_voice, end_of_turn)}  # fmt: skip


# ---------------------------------------------------------------- main


async def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-room-"))
    chosen = {"providers": json.loads(args.providers)} if args.providers else {}
    command = f"python -m bench.real_room --turns {args.turns} --mode {args.mode}"
    if args.providers:
        command += f" --providers '{args.providers}'"
    out: dict[str, Any] = {
        "command": command,
        "providers": chosen.get("providers", "default"),
        "machine": {"python": platform.python_version(), "cpu": platform.machine()},
        "turns": args.turns,
    }
    if args.mode in ("both", "room"):
        out["room"] = await room(args.turns, work, chosen)
    if args.mode in ("both", "inprocess"):
        out["in_process"] = await in_process(args.turns, work, chosen)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--mode", choices=("both", "room", "inprocess"), default="both")
    parser.add_argument("--providers", help="the metadata's providers object, as JSON")
    parser.add_argument("--out", default="real_room", help="results file name (no .json)")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / f"{args.out}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
