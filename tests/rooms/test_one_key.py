"""A voice interview in a real room for a user who saved only an OpenAI key.

The worker opens the user's one key from their row, OpenAI's streaming speech-to-text
(the realtime transcription WebSocket of the local OpenAI server) hears the candidate
speaking into the room, OpenAI's model asks and OpenAI's voice speaks; nothing reaches
Deepgram. The row says which providers ran and why.
"""

from __future__ import annotations

import uuid

from .harness import OPENAI_KEY, ROOM_TESTS, Candidate, dispatch, speech, token
from .test_dispatch import candidate_said, saved_soon

pytestmark = ROOM_TESTS

LINES = [
    "Yes, I am ready to begin.",
    "I am a backend developer with five years of experience building payment services.",
]


async def test_an_openai_key_alone_is_a_voice_interview_in_a_real_room(
    livekit_server, supabase_stack, make_rig, tmp_path
):
    rig = await make_rig(LINES, keys=("openai",))
    worker = rig.worker(livekit_server)
    await worker.wait_for("registered worker")
    room = f"openai-only-{uuid.uuid4().hex[:8]}"
    await dispatch(livekit_server, room, rig.agent_name, {"user_id": rig.user_id})
    candidate = Candidate(livekit_server, room)
    await candidate.join(token(livekit_server, room, "ada"))
    try:
        interview_id = await candidate.greeted()
        agent = await candidate.wait_for_agent()
        assert agent.attributes.get("interview.mode") == "voice"
        for line in LINES:
            t = await candidate.say(speech(line, tmp_path))
            await candidate.wait_until_heard(t)  # the interviewer's voice answers
            await candidate.wait_until_quiet()
    finally:
        await candidate.leave()
    row = await saved_soon(supabase_stack, interview_id, worker)
    assert row["ended_by"] == "candidate_left"
    assert candidate_said(row)[:2] == LINES
    chosen = row["metadata"]["providers"]
    assert (chosen["mode"], chosen["stt"], chosen["llm"], chosen["tts"]) == (
        "voice", "openai", "openai", "openai",
    )  # fmt: skip
    assert row["metadata"]["models"]["stt"] == "gpt-4o-mini-transcribe"
    # the user's own key, opened from their row, on every call; Deepgram never reached
    assert set(rig.openai.realtime_auth) == {f"Bearer {OPENAI_KEY}"}
    assert set(rig.openai.auth_headers) == {f"Bearer {OPENAI_KEY}"}
    assert rig.openai.transcribed[:2] == LINES and rig.openai.speech_requests >= 3
    assert rig.deepgram.connections == 0 and not rig.deepgram.spoken
