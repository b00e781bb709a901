"""The worker in a real LiveKit room: dispatched with metadata, heard, saved."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import wave
from typing import get_args

import numpy as np
import pytest
from livekit import api, rtc
from livekit.agents.voice.remote_session import RemoteSession, RemoteSessionEventTypes

from ..otlp_collector import OtlpCollector
from ..services import free_port
from ..test_operating import scrape, value
from .harness import OPENAI_KEY, ROOM_TESTS, Candidate, dispatch, speech, token

pytestmark = ROOM_TESTS

LINES = [
    "Yes, I am ready to begin.",
    "I am a backend developer with five years of experience building payment services.",
    "At my last job I cut failed payments by half with idempotency keys and retries.",
]


def saved_row(stack, interview_id: str) -> dict:
    text = stack.psql(
        "select json_build_object('ended_by', ended_by, 'user_id', user_id, 'room_name', "
        "room_name, 'job_role', job_role, 'experience_level', experience_level, 'has_jd', has_jd, "
        "'conversation', conversation, 'metadata', metadata)"
        f" from interviews where id = '{interview_id}'"
    )
    return json.loads(text) if text else {}


def candidate_said(row: dict) -> list[str]:
    return [m["text"] for m in row["conversation"]["messages"] if m["role"] == "candidate"]


def holds_words_of(message: dict, line: str) -> bool:
    """The message is ``line`` as speech-to-text finished it, or (marked partial, and so
    with words unheard) the interim words of it: its first words, at least two."""
    if not message.get("partial"):
        return message["text"] == line
    said = message["text"].split()
    return message["transcription_gap"] and len(said) >= 2 and said == line.split()[: len(said)]


async def saved_soon(stack, interview_id: str, worker, limit_s: float = 10.0) -> dict:
    """The row once the interview has ended and been saved (a hang-up saves in seconds)."""
    left = time.monotonic()
    while not (row := saved_row(stack, interview_id)) or row["ended_by"] is None:
        assert time.monotonic() - left < limit_s, f"not saved:\n{worker.tail()}"
        await asyncio.sleep(0.1)
    return row


def voiced_part(samples: np.ndarray) -> np.ndarray:
    """Speech without espeak-ng's trailing silence: it ends with the last word."""
    loud = (np.abs(samples.astype(np.int32)) > 500).nonzero()[0]
    return samples[: int(loud[-1]) + 1] if loud.size else samples


async def test_dispatched_through_the_api_heard_skipped_and_saved_when_the_candidate_leaves(
    livekit_server, supabase_stack, make_rig, tmp_path
):
    rig = await make_rig(LINES)
    collector = await OtlpCollector().__aenter__()
    metrics_port = free_port()
    recordings = tmp_path / "recordings"
    worker = rig.worker(
        livekit_server,
        METRICS_PORT=str(metrics_port),
        METRICS_DIR=str(tmp_path / "metrics"),
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint,
        INTERVIEW_RECORDINGS_PATH=str(recordings),
    )
    await worker.wait_for("registered worker")
    room = f"api-{uuid.uuid4().hex[:8]}"
    await dispatch(livekit_server, room, rig.agent_name,
                   {"user_id": rig.user_id, "job_role": "Backend Developer",
                    "candidate_name": "Ada", "record_audio": True})  # fmt: skip
    candidate = Candidate(livekit_server, room)
    await candidate.join(token(livekit_server, room, "ada"))
    await candidate.publish_camera_and_screen_sound()
    try:
        interview_id = await candidate.greeted()
        said = [speech(line, tmp_path) for line in LINES]
        for i in range(2):  # the reply to the greeting, then the introduction answer
            t = await candidate.say(said[i])
            await candidate.wait_until_heard(t)
            await candidate.wait_until_quiet()
        state = await candidate.wait_for_state(lambda s: s.get("stage") == "introduction")
        assert state["interview_id"] == interview_id and state["status"] == "running"
        reply = await candidate.rpc("interview.skip_stage", {"stage": "introduction"})
        assert reply["ok"] and reply["stage"] == "experience"
        assert reply["interview_id"] == interview_id
        await candidate.wait_until_quiet()
        # heard through the microphone alone: the camera and the screen's sound were
        # never subscribed to (decoded, they would cost the worker for nothing)
        assert candidate.subscribed == {"microphone"}, candidate.subscribed
        # the candidate hangs up in the middle of an answer
        await candidate.say(said[2][: len(said[2]) // 2])
    finally:
        await candidate.leave()
    row = await saved_soon(supabase_stack, interview_id, worker)
    assert row["ended_by"] == "candidate_left"
    assert row["user_id"] == rig.user_id and row["room_name"] == room
    assert candidate_said(row)[:2] == LINES[:2]
    # ... and what they were saying is kept: their last message holds it
    last = [m for m in row["conversation"]["messages"] if m["role"] == "candidate"][-1]
    assert last["stage"] == "experience" and holds_words_of(last, LINES[2]), last
    assert [s["id"] for s in row["conversation"]["stages"] if s["status"] == "skipped"] == [
        "introduction"
    ]
    assert rig.openai.requests and all(
        h == f"Bearer {OPENAI_KEY}" for h in rig.openai.auth_headers
    )  # the user's own key, opened from their row
    try:
        await measured_and_traced(metrics_port, collector, interview_id, room, row)
    finally:
        await collector.__aexit__(None, None, None)
    await recorded(supabase_stack, interview_id, rig.user_id, recordings, said[1])


ANSWER = "I have built payment services in Python for five years."
LEAVES_MS = (0, 100, 300, 600)


async def test_the_words_of_a_candidate_who_hangs_up_right_after_speaking_are_saved(
    livekit_server, supabase_stack, make_rig, tmp_path
):
    """Four short interviews on one worker: the candidate answers the greeting with a
    finished sentence and hangs up 0, 100, 300 or 600 ms after its last word. The saved
    row ends with that sentence each time (as speech-to-text finished it, or its interim
    words marked partial), saved within seconds of the hang-up."""
    rig = await make_rig([ANSWER] * (2 * len(LEAVES_MS)))
    worker = rig.worker(livekit_server)
    await worker.wait_for("registered worker")
    answer = voiced_part(speech(ANSWER, tmp_path))
    measured = []
    for leave_ms in LEAVES_MS:
        room = f"hangup-{leave_ms}-{uuid.uuid4().hex[:6]}"
        await dispatch(livekit_server, room, rig.agent_name, {"user_id": rig.user_id})
        candidate = Candidate(livekit_server, room)
        await candidate.join(token(livekit_server, room, "ada"))
        try:
            interview_id = await candidate.greeted()
            await candidate.say(answer)
            await asyncio.sleep(leave_ms / 1000)  # the hang-up, this long after the last word
            left = time.monotonic()
        finally:
            await candidate.leave()
        row = await saved_soon(supabase_stack, interview_id, worker)
        saved_after = time.monotonic() - left
        assert row["ended_by"] == "candidate_left", leave_ms
        said = [m for m in row["conversation"]["messages"] if m["role"] == "candidate"]
        assert said and holds_words_of(said[-1], ANSWER), (leave_ms, said)
        await worker.wait_for("candidate left", count=len(measured) + 1)
        leave = [r for r in worker.records() if r.get("message") == "candidate left"][-1]
        measured.append((leave_ms, leave["waited_s"], leave["last_words"], round(saved_after, 2)))
    print("leave ms, waited for the final s, last words, saved after s:", *measured, sep="\n")


async def recorded(stack, interview_id: str, user: str, root, spoken) -> None:
    """With consent, the introduction answer was recorded as heard: its WAV is as long as
    the speech (plus the padding), kept on the worker's disk while the project has no
    Storage to upload it to (the stack here has none), and named in the feedback."""
    deadline = time.monotonic() + 15
    while True:
        text = stack.psql(
            f"select feedback_data from feedback where interview_id = '{interview_id}'"
        )
        answers = json.loads(text)["answers"] if text else []
        if any(a.get("audio_path") for a in answers):
            break
        assert time.monotonic() < deadline, "no recording in the feedback"
        await asyncio.sleep(0.3)
    intro = next(a for a in answers if a["stage"] == "introduction")
    assert intro["audio_path"] == f"{user}/{interview_id}/01.wav"
    with wave.open(str(root / intro["audio_path"])) as w:
        seconds = w.getnframes() / w.getframerate()
        assert w.getframerate() == 16000 and w.getnchannels() == 1
    spoken_s = len(spoken) / 48000
    assert spoken_s - 0.3 < seconds < spoken_s + 1.5, (seconds, spoken_s)


async def measured_and_traced(
    port: int, collector: OtlpCollector, interview_id: str, room: str, row: dict
) -> None:
    """The worker's /metrics counted the voice interview its job process ran, and the
    job's spans reached the collector with the room and interview id."""
    deadline = time.monotonic() + 15
    while value(samples := await asyncio.to_thread(scrape, port), "interview_ended_total") != 1:
        assert time.monotonic() < deadline, "the interview was not counted"
        await asyncio.sleep(0.3)
    assert value(samples, "interview_ended_total", ended_by="candidate_left") == 1
    assert value(samples, "interview_started_total", mode="dispatch") == 1
    assert value(samples, "interview_running") == 0
    assert value(samples, "interview_reply_latency_seconds_count") >= 2
    assert value(samples, "interview_stt_audio_seconds_total", model="nova-3") > 1
    assert value(samples, "interview_tts_characters_total") > 20
    usage = row["metadata"]["usage"]
    assert value(samples, "interview_llm_tokens_total", direction="input",
                 purpose="interview") == usage["llm_input_tokens"] > 0  # fmt: skip
    assert value(samples, "lk_agents_worker_load") is not None  # LiveKit's own
    while not collector.named("interview.finalize"):
        assert time.monotonic() < deadline + 10, "no spans"
        await asyncio.sleep(0.3)
    (keys,) = collector.named("interview.key_load")
    assert keys["attributes"] == {
        "interview.id": interview_id, "interview.room": room, "keys.source": "byok"
    }  # fmt: skip
    for name in ("interview.session_start", "interview.finalize", "interview.push"):
        spans = collector.named(name)
        assert spans and all(s["attributes"]["interview.id"] == interview_id for s in spans)
    livekit = {s["name"] for s in collector.spans if not s["name"].startswith("interview.")}
    assert livekit, "LiveKit's own spans"
    said = json.dumps(collector.spans)
    assert all(line not in said for line in LINES) and OPENAI_KEY not in said


async def test_dispatched_by_the_candidates_token_with_context_from_room_and_attributes(
    livekit_server, supabase_stack, make_rig, tmp_path
):
    rig = await make_rig(LINES)
    worker = rig.worker(livekit_server)
    await worker.wait_for("registered worker")
    room = f"token-{uuid.uuid4().hex[:8]}"
    metadata = json.dumps({"user_id": rig.user_id})
    room_metadata = json.dumps(  # what the job's metadata leaves out; wins over attributes
        {"experience_level": "senior", "max_duration_s": 900,
         "job_description": "Design and inspection of pedestrian bridges."}
    )  # fmt: skip
    attributes = {
        "job_role": "Civil Engineer",
        "experience_level": "entry",
        "candidate_name": "Grace",
        "user_id": "00000000-0000-4000-8000-000000000000",  # never taken from a candidate
        "max_duration_s": "99999",
    }
    jwt = token(livekit_server, room, "grace", attributes=attributes,
                dispatch=api.RoomAgentDispatch(agent_name=rig.agent_name, metadata=metadata),
                room_metadata=room_metadata)  # fmt: skip
    candidate = Candidate(livekit_server, room)
    await candidate.join(jwt)
    try:
        interview_id = await candidate.greeted()
        # LiveKit's session host (a remote control of the session over the room) is off:
        # a participant can neither read the interviewer's instructions and context nor
        # type turns past the interview's own contracts, and the session's events (the
        # transcripts, usage, errors) are not broadcast to the room
        agent = next(p.identity for p in candidate.room.remote_participants.values()
                     if p.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT)  # fmt: skip
        remote = RemoteSession.from_room(candidate.room, agent)
        observed: list[str] = []
        for event in get_args(RemoteSessionEventTypes):
            remote.on(event, lambda _e, event=event: observed.append(event))
        await remote.start()
        with pytest.raises((TimeoutError, RuntimeError)):
            await remote.wait_for_ready(timeout=2.0)
        reply = await candidate.rpc("interview.end", {"request_id": "r1"})
        assert reply["ok"] and reply["status"] in ("ending", "ended")
        saved = await candidate.wait_for_state(lambda s: s.get("status") == "saved")
        assert saved["interview_id"] == interview_id
        assert observed == []  # the closing words were spoken: no session event came
        await remote.aclose()
    finally:
        await candidate.leave()
    row = saved_row(supabase_stack, interview_id)
    assert row["ended_by"] == "client_request" and row["user_id"] == rig.user_id
    assert row["job_role"] == "Civil Engineer" and row["experience_level"] == "senior"
    assert row["has_jd"] is True
    md = row["metadata"]
    assert set(md["context_from_room"]) == {"experience_level", "max_duration_s", "job_description"}
    assert set(md["context_from_attributes"]) == {"job_role", "candidate_name"}
    assert md["max_duration_s"] == 900
    system = rig.openai.requests[0]["messages"][0]["content"]
    assert "Civil Engineer" in system and "Grace" in system
