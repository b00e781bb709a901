"""The real OpenAI plugin against a local OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import json

from livekit.agents import AgentSession

from agent.config import Settings
from agent.driver import SessionDriver
from agent.interviewer import Interviewer
from agent.plugins import build_first
from agent.runtime import InterviewRuntime
from interview.record import REQUESTS
from providers import Kind, ProviderKeys
from stages.metadata import parse_metadata

from .fake_openai import FakeOpenAI, last_tool_name, last_user_text

TEST_KEY = "sk-test-not-a-real-key-0123456789"


def decide(body):
    tool = last_tool_name(body)
    if tool == "skip_stage":
        return {"content": "No problem, let's move on. Tell me about a project you are proud of."}
    said = last_user_text(body)
    if said is None:
        return {"content": "Hello Grace, welcome. Are you ready to begin?"}
    if "skip" in said.lower():
        return {"tool": "skip_stage"}
    return {"content": "Thanks. Could you tell me a little about yourself?"}


async def test_interview_turns_through_the_openai_plugin():
    md = parse_metadata(
        json.dumps(
            {"candidate_name": "Grace", "job_role": "Data Scientist", "experience_level": "mid"}
        ),
        require_user=False,
    )
    rt = InterviewRuntime(md, room_name="room-openai")
    async with FakeOpenAI(decide) as server:
        settings = Settings(_env_file=None, openai_base_url=server.base_url)
        model = build_first(settings, ProviderKeys(openai=TEST_KEY), Kind.LLM)
        session = AgentSession(llm=model, vad=None, turn_handling={"turn_detection": None})
        driver = SessionDriver(session, rt, watch_silence=False)
        agent = Interviewer(rt)
        try:
            await session.start(agent)
            driver.start()
            await agent.wait_for_greeting(10)
            assert rt.transcript.messages[0].text == "Hello Grace, welcome. Are you ready to begin?"

            result = await session.run(user_input="Yes, ready.")
            msg = result.expect.next_event().is_message(role="assistant")
            assert (
                msg.event().item.text_content
                == "Thanks. Could you tell me a little about yourself?"
            )

            result = await session.run(user_input="Can we skip this?")
            result.expect.next_event().is_function_call(name="skip_stage")
            result.expect.next_event().is_function_call_output()
            result.expect.next_event().is_message(role="assistant")
            assert rt.machine.current.id == "experience"
        finally:
            await driver.aclose()
            await session.aclose()
            await asyncio.sleep(0)

    assert len(server.requests) == 4
    first = server.requests[0]
    assert first["model"] == settings.interview_llm_model
    assert first["stream"] is True
    assert first["messages"][0]["role"] == "system"
    assert "Current stage: greeting" in first["messages"][0]["content"]
    tool_names = {t["function"]["name"] for t in first["tools"]}
    assert tool_names == set(REQUESTS)
    assert all(h == f"Bearer {TEST_KEY}" for h in server.auth_headers)
    after_skip = server.requests[-1]
    assert "Current stage: experience" in after_skip["messages"][0]["content"]
    assert after_skip["messages"][-1]["role"] == "tool"
    usage = [u for u in session.usage.model_usage if u.type == "llm_usage"]
    assert usage and usage[0].input_tokens == 400
