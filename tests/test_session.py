"""The LiveKit layer: a real AgentSession, scripted model tool calls, the client protocol."""

from __future__ import annotations

import asyncio
import json

import pytest
from livekit import rtc
from livekit.agents import AgentSession

from agent.client_protocol import STATE_TOPIC, ClientProtocol, state_publisher
from agent.driver import SessionDriver
from agent.interviewer import Interviewer
from agent.offline_llm import OfflineInterviewerLLM
from agent.runtime import MAX_CONTEXT_ITEMS, InterviewRuntime
from contracts import RpcReply, StateMessage
from stages.metadata import parse_metadata

from .fakes import FakeParticipant, ScriptedLLM

METADATA = json.dumps(
    {"candidate_name": "Ada", "job_role": "Backend Developer", "experience_level": "senior"}
)


def runtime(room: str = "room-test") -> InterviewRuntime:
    return InterviewRuntime(parse_metadata(METADATA, require_user=False), room_name=room)


async def start(rt: InterviewRuntime, model, publish=None):
    session = AgentSession(llm=model, vad=None, turn_handling={"turn_detection": None})
    driver = SessionDriver(session, rt, publish=publish, watch_silence=False)
    agent = Interviewer(rt)
    await session.start(agent)
    driver.start()
    await agent.wait_for_greeting(10)
    return session, driver


async def test_scripted_model_skip_and_confirmed_end():
    rt = runtime()
    model = ScriptedLLM(
        {
            "<start>": "Hello Ada, ready to begin?",
            "Yes.": "Great. Tell me about yourself.",
            "Let's skip this part.": ("tool", "skip_stage"),
            "<after:skip_stage>": "Sure. Tell me about a project you led.",
            "I'd like to stop now.": ("tool", "end_interview"),
            "<after:end_interview>": "Do you want to end the interview now?",
            "Yes, end it.": ("tool", "confirm_end_interview"),
            "<after:confirm_end_interview>": "Thanks Ada, goodbye!",
        }
    )
    session, driver = await start(rt, model)
    try:
        result = await session.run(user_input="Yes.")
        result.expect.next_event().is_message(role="assistant")
        assert rt.machine.current.id == "introduction"

        result = await session.run(user_input="Let's skip this part.")
        result.expect.next_event().is_function_call(name="skip_stage")
        out = result.expect.next_event().is_function_call_output()
        assert "now in the Experience stage" in out.event().item.output
        result.expect.next_event().is_message(role="assistant")
        assert rt.machine.current.id == "experience"
        assert rt.machine.skipped_stages == ["introduction"]
        # the next model call saw the experience stage's instructions
        system = model.contexts[-1].items[0].text_content
        assert "Current stage: experience" in system

        result = await session.run(user_input="I'd like to stop now.")
        result.expect.next_event().is_function_call(name="end_interview")
        assert rt.machine.pending_end and not rt.machine.terminal

        result = await session.run(user_input="Yes, end it.")
        result.expect.next_event().is_function_call(name="confirm_end_interview")
        result.expect.next_event().is_function_call_output()
        result.expect.next_event().is_message(role="assistant")
        await asyncio.wait_for(driver.ended.wait(), 5)
        assert rt.machine.ended_by == "candidate_request"
        assert rt.machine.final_stage == "experience"
        assert rt.machine.stages[2].answers == 0  # "I'd like to stop" was not an answer
        farewell_ctx = model.contexts[-1].items[0].text_content
        assert "ending now at the candidate's request" in farewell_ctx
    finally:
        await driver.aclose()
        await session.aclose()


async def test_repeat_tool_gets_the_last_question():
    rt = runtime()
    model = ScriptedLLM(
        {
            "<start>": "Hello, ready?",
            "Ready.": "What made you apply for this role?",
            "Sorry, can you repeat that?": ("tool", "not_an_answer", {"kind": "repeat"}),
            "<after:not_an_answer>": "What made you apply for this role?",
        }
    )
    session, driver = await start(rt, model)
    try:
        await session.run(user_input="Ready.")
        result = await session.run(user_input="Sorry, can you repeat that?")
        out = result.expect.next_event().is_function_call(name="not_an_answer")
        out = result.expect.next_event().is_function_call_output()
        assert "What made you apply for this role?" in out.event().item.output
        rec = rt.machine.stages[1]
        assert (rec.questions_asked, rec.answers, rec.repeats) == (1, 0, 1)
    finally:
        await driver.aclose()
        await session.aclose()


async def test_offline_interviewer_uses_the_same_tools():
    rt = runtime()
    session, driver = await start(rt, OfflineInterviewerLLM(rt))
    try:
        first = rt.transcript.messages[0]
        assert first.role == "agent" and "Ada" in first.text
        await session.run(user_input="Yes, I'm ready.")
        result = await session.run(user_input="Could we skip this part?")
        result.expect.next_event().is_function_call(name="skip_stage")
        result.expect.next_event().is_function_call_output()
        msg = result.expect.next_event().is_message(role="assistant")
        assert msg.event().item.text_content.startswith("Sure, let's move on.")
        assert rt.machine.current.id == "experience"
        result = await session.run(user_input="Please end the interview.")
        result.expect.next_event().is_function_call(name="end_interview")
        result = await session.run(user_input="Yes.")
        result.expect.next_event().is_function_call(name="confirm_end_interview")
        await asyncio.wait_for(driver.ended.wait(), 5)
        assert rt.machine.ended_by == "candidate_request"
    finally:
        await driver.aclose()
        await session.aclose()


async def test_llm_context_stays_bounded_over_a_long_stage():
    rt = runtime()
    model = ScriptedLLM({"<start>": "Hello, ready?"}, default="Interesting. Another question?")
    session, driver = await start(rt, model)
    try:
        sizes = []
        for i in range(40):
            await session.run(user_input=f"Answer number {i} " + "with details " * 20)
            ctx = model.contexts[-1]
            sizes.append(
                sum(len(it.text_content or "") for it in ctx.items if it.type == "message")
            )
            assert len(ctx.items) <= MAX_CONTEXT_ITEMS + 1
            if rt.machine.terminal:
                break
        assert len(sizes) >= 12
        # without bounding, 12+ answers of ~250 characters would add 3000+ characters
        assert max(sizes) - sizes[5] < 1500, sizes
    finally:
        await driver.aclose()
        await session.aclose()


def call(method: str, payload: str) -> rtc.RpcInvocationData:
    return rtc.RpcInvocationData(
        request_id="req",
        caller_identity="candidate",
        payload=payload,
        response_timeout=5,
        method=method,
    )


def ended_state_sent(published: list[tuple[str, str]]) -> bool:
    states = [json.loads(p) for topic, p in published if topic == STATE_TOPIC]
    return bool(states) and states[-1]["status"] == "ended"


async def test_rpc_skip_end_state_and_published_state():
    rt = runtime()
    participant = FakeParticipant()
    model = ScriptedLLM({"<start>": "Hello, ready?", "Yes.": "Tell me about yourself."})
    session, driver = await start(rt, model, publish=state_publisher(participant))
    protocol = ClientProtocol(rt, on_change=driver.publish_state)
    protocol.register(participant)
    assert set(participant.rpc) == {
        "interview.skip_stage",
        "interview.end",
        "interview.state",
        "interview.pause",
    }
    try:
        await session.run(user_input="Yes.")
        state = json.loads(await participant.rpc["interview.state"](call("interview.state", "")))
        assert state["stage"] == "introduction" and state["ok"] is True

        # the greeting cannot be skipped; a skip naming a past stage is stale
        answer = json.loads(
            await participant.rpc["interview.skip_stage"](
                call("interview.skip_stage", json.dumps({"stage": "greeting"}))
            )
        )
        assert answer["ok"] is False and answer["error"] == "stale_stage"

        answer = json.loads(
            await participant.rpc["interview.skip_stage"](
                call(
                    "interview.skip_stage",
                    json.dumps({"stage": "introduction", "request_id": "k1"}),
                )
            )
        )
        assert answer["ok"] is True and answer["stage"] == "experience"
        assert answer["skipped_stages"] == ["introduction"]
        # a replay of the same request changes nothing
        again = json.loads(
            await participant.rpc["interview.skip_stage"](
                call(
                    "interview.skip_stage",
                    json.dumps({"stage": "introduction", "request_id": "k1"}),
                )
            )
        )
        assert again["stage"] == "experience" and again["skipped_stages"] == ["introduction"]

        for garbage in ("{not json", "[1,2]", json.dumps({"stage": 7}), "x" * 10_000):
            with pytest.raises(rtc.RpcError) as err:
                await participant.rpc["interview.skip_stage"](call("interview.skip_stage", garbage))
            assert err.value.code == 1400

        answer = json.loads(await participant.rpc["interview.end"](call("interview.end", "{}")))
        assert answer["status"] in ("ending", "ended")
        await asyncio.wait_for(driver.ended.wait(), 5)
        assert rt.machine.ended_by == "client_request"
        await asyncio.wait_for(participant.published_until(ended_state_sent), 5)
        states = [json.loads(p) for topic, p in participant.published if topic == STATE_TOPIC]
        assert states[-1]["status"] == "ended"
        for published in states:  # docs/schemas/interview-state.schema.json
            StateMessage.validate_python(published)
        for reply in (state, answer, again):  # docs/schemas/rpc-reply.schema.json
            RpcReply.model_validate(reply)
        assert {
            "stage",
            "stage_index",
            "stage_count",
            "skipped_stages",
            "remaining_s",
            "status",
        } <= set(states[-1])
        assert any(s["stage"] == "experience" for s in states)
    finally:
        await driver.aclose()
        await session.aclose()


async def test_a_model_that_races_ahead_is_held_to_the_candidate():
    """One reply that skips stage after stage, and one that asks to end and confirms it
    itself: the machine grants one skip per candidate turn and no end without the
    candidate's own confirmation."""
    rt = runtime()
    model = ScriptedLLM(
        {
            "<start>": "Hello Ada, ready to begin?",
            "Yes.": "Tell me about yourself.",
            "Skip ahead please.": ("tool", "skip_stage"),
            "<after:skip_stage>": ("tool", "skip_stage"),  # and again, and again
            "I'm done.": ("tool", "end_interview"),
            "<after:end_interview>": ("tool", "confirm_end_interview"),
            "<after:confirm_end_interview>": "Please confirm: end the interview now?",
            "Yes, end it.": ("tool", "confirm_end_interview"),
        }
    )
    session, driver = await start(rt, model)
    try:
        await session.run(user_input="Yes.")
        await session.run(user_input="Skip ahead please.")
        assert rt.machine.current.id == "experience"
        assert rt.machine.skipped_stages == ["introduction"]
        await session.run(user_input="I'm done.")
        assert rt.machine.pending_end and not rt.machine.terminal
        await session.run(user_input="Yes, end it.")
        await asyncio.wait_for(driver.ended.wait(), 5)
        assert rt.machine.ended_by == "candidate_request"
        refused = [e for e in rt.machine.log if e.event == "end"]
        assert len(refused) == 1
    finally:
        await driver.aclose()
        await session.aclose()
