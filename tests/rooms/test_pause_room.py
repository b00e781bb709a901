"""Pause and continue later in real rooms: the candidate says "Can we pause and continue
later?" (the interviewer model calls ``pause_interview``) and the row is saved paused with
its open question; a dispatch naming it for another user is refused; a new dispatch of
the same user in a new room continues the same interview, saved as one row with both
parts.

The in-process counterpart (the offline interviewer, the embedded store) is
``tests/test_pause.py``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

from prompts import render

from ..fake_openai import last_user_text
from .harness import ROOM_TESTS, Candidate, WorkerProcess, dispatch, speech, token
from .test_dispatch import candidate_said, saved_row, saved_soon

pytestmark = ROOM_TESTS

PART_ONE = [
    "Yes, I am ready to begin.",
    "I am a backend developer with five years of experience building payment services.",
    "Can we pause and continue later?",
]
PART_TWO = ["At my last job I cut failed payments by half with idempotency keys and retries."]
QUESTION = "What was the hardest problem you solved there?"
AGAIN = "ask this question again: "
"""Where the instructions of a continued interview's first reply name the open question
(prompts/templates/resume_paused.txt)."""


def content_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def pausing_interviewer(body: dict[str, Any]) -> dict[str, Any]:
    """An interviewer model that pauses when asked to, and welcomes the candidate back
    with the open question its instructions name."""
    if body.get("response_format"):
        return {"status": 500}  # the assessment is not under test here
    said = last_user_text(body)
    instructions = " ".join(
        content_text(m)
        for m in body.get("messages", [])
        if m.get("role") in ("system", "developer")
    )
    if said is None and AGAIN in instructions:
        question = instructions.split(AGAIN, 1)[1].strip()
        return {"content": f"Welcome back! We were talking about your work. {question}"}
    if said is None:
        return {"content": "Hello! Are you ready to begin?"}
    if "pause" in said.lower():
        return {"tool": "pause_interview"}
    if "ready" in said.lower():
        return {"content": "Great. Please tell me about yourself."}
    return {"content": f"Thank you. {QUESTION}"}


def agent_said(row: dict) -> list[str]:
    return [m["text"] for m in row["conversation"]["messages"] if m["role"] == "agent"]


def revision(stack: Any, interview_id: str) -> int:
    return int(stack.psql(f"select revision from interviews where id = '{interview_id}'"))


async def answered(candidate: Candidate, lines: list[str], work: Path) -> None:
    """Say each line and wait for the interviewer's spoken reply to it."""
    for line in lines:
        t = await candidate.say(speech(line, work))
        await candidate.wait_until_heard(t)
        await candidate.wait_until_quiet()


async def ended_after_pause(
    stack: Any, interview_id: str, worker: WorkerProcess, limit_s: float = 10.0
) -> dict:
    """The row once the continued part has ended and been saved (until then it is the
    paused part's or a running checkpoint)."""
    left = time.monotonic()
    while (row := saved_row(stack, interview_id))["ended_by"] in (None, "paused"):
        assert time.monotonic() - left < limit_s, f"not saved:\n{worker.tail()}"
        await asyncio.sleep(0.1)
    return row


async def test_paused_in_one_room_refused_to_another_user_continued_in_a_new_room(
    livekit_server, supabase_stack, make_rig, tmp_path
):
    """Room A: the candidate answers, asks to pause and hears the interviewer say it was
    saved; the row ends ``paused`` with the open question. Room C: another user's
    dispatch naming it is refused (``cannot_resume``, as the worker logs it: what the
    candidate receives is the next test) before any interview starts, and it stays
    paused. Room B: the same user's dispatch continues it: the same id, a welcome back
    with the open question again, one more answer; the final row holds both parts'
    answers in order, a higher revision and the pause in ``metadata.pauses``."""
    rig = await make_rig(PART_ONE + PART_TWO, reply=pausing_interviewer)
    worker = rig.worker(livekit_server)
    await worker.wait_for("registered worker")

    room_a = f"pause-a-{uuid.uuid4().hex[:8]}"
    await dispatch(livekit_server, room_a, rig.agent_name, {"user_id": rig.user_id})
    candidate = Candidate(livekit_server, room_a)
    await candidate.join(token(livekit_server, room_a, "ada"))
    try:
        interview_id = await candidate.greeted()
        await answered(candidate, PART_ONE, tmp_path)  # the last reply: "I've saved..."
        await candidate.wait_for_state(lambda s: s.get("status") == "saved")
    finally:
        await candidate.leave()
    paused_row = await saved_soon(supabase_stack, interview_id, worker)
    assert paused_row["ended_by"] == "paused"
    paused = paused_row["metadata"]["paused"]
    assert paused["open_question"] == f"Thank you. {QUESTION}"
    assert paused["stage"] and paused["elapsed_s"] > 0 and paused["at"]
    assert candidate_said(paused_row) == PART_ONE
    said_paused = render("say_paused")  # the interviewer said it was saved
    assert agent_said(paused_row)[-1] == said_paused
    paused_revision = revision(supabase_stack, interview_id)

    # another user naming it: refused before any interview starts; it stays paused
    room_c = f"pause-c-{uuid.uuid4().hex[:8]}"
    other = supabase_stack.create_user(f"room-{uuid.uuid4().hex[:8]}@example.com")
    await dispatch(livekit_server, room_c, rig.agent_name,
                   {"user_id": other, "resume_interview_id": interview_id})  # fmt: skip
    await worker.wait_for("(cannot_resume)")
    refusals = [r for r in worker.records() if "(cannot_resume)" in str(r.get("message"))]
    assert [r.get("room") for r in refusals] == [room_c]
    assert not [r for r in worker.records() if r.get("room") == room_c
                and r.get("message") == "interview starting"]  # fmt: skip
    assert saved_row(supabase_stack, interview_id)["ended_by"] == "paused"

    # the same user, a new room: the same interview goes on
    room_b = f"pause-b-{uuid.uuid4().hex[:8]}"
    await dispatch(livekit_server, room_b, rig.agent_name,
                   {"user_id": rig.user_id, "resume_interview_id": interview_id})  # fmt: skip
    candidate = Candidate(livekit_server, room_b)
    await candidate.join(token(livekit_server, room_b, "ada"))
    try:
        assert await candidate.greeted() == interview_id
        await answered(candidate, PART_TWO, tmp_path)
    finally:
        await candidate.leave()
    row = await ended_after_pause(supabase_stack, interview_id, worker)
    assert row["ended_by"] == "candidate_left"
    assert revision(supabase_stack, interview_id) > paused_revision  # a later generation
    assert candidate_said(row) == PART_ONE + PART_TWO  # both parts, in order
    agent = agent_said(row)
    back = agent[agent.index(said_paused) + 1]  # the continued part's first words
    assert back.startswith("Welcome back!") and back.endswith(paused["open_question"])
    md = row["metadata"]
    assert "paused" not in md and len(md["pauses"]) == 1
    assert md["pauses"][0]["open_question"] == paused["open_question"]


async def test_a_refused_resume_reaches_the_candidate_on_interview_state(
    livekit_server, supabase_stack, make_rig
):
    """A dispatch naming an interview that is not this user's paused one (here: none) is
    refused, and the candidate already in the room is told why on ``interview.state``."""
    rig = await make_rig([])
    worker = rig.worker(livekit_server)
    await worker.wait_for("registered worker")
    room = f"pause-refused-{uuid.uuid4().hex[:8]}"
    candidate = Candidate(livekit_server, room)
    await candidate.join(token(livekit_server, room, "eve"))
    named = {"user_id": rig.user_id, "resume_interview_id": str(uuid.uuid4())}
    try:
        await dispatch(livekit_server, room, rig.agent_name, named)
        await worker.wait_for("(cannot_resume)")
        refused = await candidate.wait_for_state(lambda s: s.get("status") == "error", 5.0)
    finally:
        await candidate.leave()
    assert refused["code"] == "cannot_resume" and refused["message"]
