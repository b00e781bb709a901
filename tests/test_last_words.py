"""A candidate who hangs up mid-answer keeps their words.

The driver on a real ``AgentSession`` (text mode, scripted model) fed the transcription
events LiveKit emits, and the worker's own voice session (real Silero VAD, the real
Deepgram plugin on the local Deepgram-compatible server) whose candidate stops sending
audio right after their last word: the final words that come after the leave are saved,
or the last interim words, marked partial; never twice, whatever the words.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import AgentSession, llm, utils
from livekit.agents.voice.events import (
    CloseEvent,
    CloseReason,
    ConversationItemAddedEvent,
    UserInputTranscribedEvent,
    UserStateChangedEvent,
)

from agent import driver as driver_module
from agent.audio import load_vad
from agent.config import Settings
from agent.driver import SessionDriver
from agent.interviewer import Interviewer
from agent.runtime import InterviewRuntime
from agent.speech_end import SpeechEnd
from bench.turn_taking import READY, Feed, greeted
from contracts import Conversation
from feedback.schema import FeedbackData
from interview.rows import SessionFacts, build_records
from providers import ProviderKeys
from stages.metadata import parse_metadata
from stages.transcript import Message

from .fake_deepgram import FakeDeepgram
from .fake_openai import FakeOpenAI
from .fakes import ScriptedLLM
from .rooms.harness import DEEPGRAM_KEY, OPENAI_KEY, interviewer, speech

ANSWER = "At my last job I led the migration of our billing system to a new provider."
SCRIPT = {"<start>": "Hello Ada, ready to begin?", "Yes.": "Great. Tell me about yourself."}


def runtime() -> InterviewRuntime:
    md = parse_metadata('{"candidate_name": "Ada", "job_role": "Backend Developer"}',
                        require_user=False)  # fmt: skip
    return InterviewRuntime(md, room_name="last-words")


async def asked_about_themselves(
    model: ScriptedLLM | None = None,
) -> tuple[InterviewRuntime, AgentSession, SessionDriver]:
    """An interview in its introduction stage, a question open."""
    rt = runtime()
    session = AgentSession(llm=model or ScriptedLLM(SCRIPT), vad=None,
                           turn_handling={"turn_detection": None})  # fmt: skip
    driver = SessionDriver(session, rt, watch_silence=False)
    agent = Interviewer(rt)
    await session.start(agent)
    driver.start()
    await agent.wait_for_greeting(10)
    await session.run(user_input="Yes.")
    assert rt.stage is not None and rt.stage.id == "introduction"
    return rt, session, driver


async def closed(session: AgentSession, driver: SessionDriver) -> None:
    await driver.aclose()
    await session.aclose()


def heard(session: AgentSession, text: str, *, final: bool) -> None:
    """Speech-to-text's words, as LiveKit passes them on."""
    session.emit("user_input_transcribed", UserInputTranscribedEvent(transcript=text,
                                                                     is_final=final))  # fmt: skip


def speaking(session: AgentSession) -> None:
    session.emit("user_state_changed", UserStateChangedEvent(old_state="listening",
                                                             new_state="speaking"))  # fmt: skip


def candidate_messages(rt: InterviewRuntime) -> list[Message]:
    return [m for m in rt.transcript.messages if m.role == "candidate"]


def saved(rt: InterviewRuntime) -> tuple[dict, dict]:
    """The rows as saved (checked against the contracts, and as the store encodes them)."""
    interview, feedback = build_records(rt, SessionFacts(mode="test", models={}))
    Conversation.model_validate(interview.conversation)
    FeedbackData.model_validate(feedback.feedback_data)
    json.dumps(interview.conversation, ensure_ascii=False).encode("utf-8")
    return interview.conversation, feedback.feedback_data


async def test_final_words_that_come_after_the_leave_are_saved():
    rt, session, driver = await asked_about_themselves()
    try:
        speaking(session)
        heard(session, "At my last job I", final=False)
        driver.candidate_left(final=True)
        await asyncio.sleep(0)  # the leave is under way ...
        assert not rt.terminal  # ... and waits for the words being said
        heard(session, ANSWER, final=True)
        await asyncio.wait_for(driver.ended.wait(), 5)
    finally:
        await closed(session, driver)
    assert rt.ended_by == "candidate_left"
    last = candidate_messages(rt)[-1]
    assert (last.text, last.stage, last.partial) == (ANSWER, "introduction", False)
    intro = next(s for s in rt.machine.stages if s.id == "introduction")
    assert intro.answers == 1  # counted as the answer it is
    conversation, feedback = saved(rt)
    message = conversation["messages"][-1]
    assert message["text"] == ANSWER and "partial" not in message
    assert "transcription_gap" not in message
    assert feedback["answers"][-1]["transcription_gap"] is False


async def test_only_interim_words_are_saved_marked_partial(monkeypatch):
    monkeypatch.setattr(driver_module, "LEAVE_GRACE_S", 0.2)
    rt, session, driver = await asked_about_themselves()
    try:
        speaking(session)
        heard(session, "At my", final=False)
        heard(session, "At my last job I led", final=False)
        driver.candidate_left(final=True)
        await asyncio.wait_for(driver.ended.wait(), 5)  # no final came
    finally:
        await closed(session, driver)
    last = candidate_messages(rt)[-1]
    assert (last.text, last.partial) == ("At my last job I led", True)
    conversation, feedback = saved(rt)
    message = conversation["messages"][-1]
    assert message["text"] == "At my last job I led"
    assert message["partial"] is True and message["transcription_gap"] is True
    # the feedback holds nothing against words it may not have heard
    assert feedback["answers"][-1]["transcription_gap"] is True


async def test_no_reply_is_asked_for_while_the_candidate_is_leaving():
    model = ScriptedLLM(SCRIPT)
    rt, session, driver = await asked_about_themselves(model)
    try:
        heard(session, "At my last job I", final=False)
        driver.candidate_left(final=True)
        assert rt.leaving
        asked = len(model.contexts)
        await session.generate_reply()  # as LiveKit would, for words that came after the leave
        assert len(model.contexts) == asked
        heard(session, ANSWER, final=True)
        await asyncio.wait_for(driver.ended.wait(), 5)
    finally:
        await closed(session, driver)
    assert len(model.contexts) == asked


async def test_words_kept_at_the_leave_and_committed_by_livekit_after_are_saved_once():
    rt, session, driver = await asked_about_themselves()
    try:
        heard(session, ANSWER, final=True)
        driver.candidate_left(final=True)  # nothing pending but the final: no wait
        await asyncio.wait_for(driver.ended.wait(), 5)
        item = llm.ChatMessage(role="user", content=[ANSWER])  # LiveKit's own commit, late
        session.emit("conversation_item_added", ConversationItemAddedEvent(item=item))
    finally:
        await closed(session, driver)
    said = [m.text for m in candidate_messages(rt)]
    assert said[-1] == ANSWER and sum(ANSWER in t for t in said) == 1


async def test_words_livekit_committed_before_the_leave_are_not_kept_again(monkeypatch):
    monkeypatch.setattr(driver_module, "LEAVE_GRACE_S", 0.2)
    rt, session, driver = await asked_about_themselves()
    try:
        heard(session, ANSWER, final=True)
        item = llm.ChatMessage(role="user", content=[ANSWER])
        session.emit("conversation_item_added", ConversationItemAddedEvent(item=item))
        heard(session, "And then", final=False)  # the next turn, begun
        driver.candidate_left(final=True)
        await asyncio.wait_for(driver.ended.wait(), 5)
    finally:
        await closed(session, driver)
    said = [m.text for m in candidate_messages(rt)]
    assert said[-1] == f"{ANSWER} And then" and sum(ANSWER in t for t in said) == 1
    assert candidate_messages(rt)[-1].partial


async def test_kept_words_replace_a_draft_of_the_same_turn():
    """A reply already being prepared had recorded the first words as the turn's draft."""
    rt, session, driver = await asked_about_themselves()
    try:
        heard(session, "At my last job", final=True)
        rt.candidate_turn("livekit-item", "At my last job", 0.0)  # as the model call does
        heard(session, "I led the migration", final=False)
        driver.candidate_left(final=True)
        heard(session, "I led the migration of our billing system.", final=True)
        await asyncio.wait_for(driver.ended.wait(), 5)
    finally:
        await closed(session, driver)
    said = [m.text for m in candidate_messages(rt)]
    assert said[-1] == "At my last job I led the migration of our billing system."
    assert sum("At my last job" in t for t in said) == 1


async def test_a_candidate_back_from_a_dropped_connection_goes_on_with_their_turn():
    rt, session, driver = await asked_about_themselves()
    try:
        heard(session, "At my last job I", final=False)
        driver.candidate_left(final=False)
        driver.candidate_returned()
        await driver.leave_settled()
        assert not rt.candidate_away and not rt.terminal
        assert all("last job" not in m.text for m in candidate_messages(rt))
        # ... and LiveKit commits their turn when it ends, as ever
        item = llm.ChatMessage(role="user", content=[ANSWER])
        session.emit("conversation_item_added", ConversationItemAddedEvent(item=item))
        assert candidate_messages(rt)[-1].text == ANSWER
    finally:
        await closed(session, driver)


async def test_the_words_are_kept_when_the_session_closes_as_the_candidate_leaves():
    rt, session, driver = await asked_about_themselves()
    try:
        heard(session, "At my last job I", final=False)
        session.emit("close", CloseEvent(reason=CloseReason.PARTICIPANT_DISCONNECTED))
        assert driver.ended.is_set() and rt.ended_by == "candidate_left"
    finally:
        await closed(session, driver)
    last = candidate_messages(rt)[-1]
    assert (last.text, last.partial) == ("At my last job I", True)


async def test_speech_to_text_hears_a_silence_after_the_last_frame_when_asked():
    end = SpeechEnd(silence_s=0.2)
    frames: asyncio.Queue[rtc.AudioFrame] = asyncio.Queue()

    async def room():  # the candidate's audio: it stops, the input stays open
        while True:
            yield await frames.get()

    heard = end.audio(room())
    end.request()  # before any audio: nothing to follow
    voice = rtc.AudioFrame(b"\x10\x27" * 800, 16000, 1, 800)
    frames.put_nowait(voice)
    assert await anext(heard) is voice
    end.request()
    silence = [await asyncio.wait_for(anext(heard), 2) for _ in range(4)]
    assert all(f.sample_rate == 16000 and f.num_channels == 1 for f in silence)
    assert sum(f.duration for f in silence) == pytest.approx(0.2)
    assert not any(any(bytes(f.data)) for f in silence)
    frames.put_nowait(voice)  # back: the audio goes on as before
    assert await anext(heard) is voice
    await heard.aclose()


ODD = "caf\u00e9 \ud83d \x00 \u202e\u53f3\u304b\u3089 \U0001f469\U0001f3fd\u200d\U0001f4bb done"


@pytest.mark.parametrize(
    ("words", "kept"),
    [
        ("", None),
        ("   \n ", None),
        ("word " * 200_000, ("word " * 200_000).strip()),
        (
            ODD,
            "caf\u00e9 \ufffd   \u202e\u53f3\u304b\u3089 \U0001f469\U0001f3fd\u200d\U0001f4bb done",
        ),
    ],
    ids=["empty", "blank", "huge", "odd-unicode"],
)
async def test_whatever_the_words_the_leave_ends_the_interview_and_it_saves(words, kept):
    rt, session, driver = await asked_about_themselves()
    try:
        before = [m.text for m in candidate_messages(rt)]
        heard(session, words, final=False)
        heard(session, words, final=True)
        driver.candidate_left(final=True)
        await asyncio.wait_for(driver.ended.wait(), 5)
    finally:
        await closed(session, driver)
    assert rt.ended_by == "candidate_left"
    said = [m.text for m in candidate_messages(rt)]
    assert said == (before if kept is None else [*before, kept])
    conversation, _ = saved(rt)
    if kept is not None:
        assert conversation["messages"][-1]["text"] == kept


@pytest.mark.skipif(
    not shutil.which("espeak-ng") and os.environ.get("CI") != "true",
    reason="espeak-ng is not installed (scripts/test-services installs it)",
)
async def test_in_a_voice_session_the_final_words_come_after_the_hang_up(tmp_path: Path):
    """The candidate's audio stops right after their last word (their track went away):
    speech-to-text is made to finish the utterance, and its final words are saved; no
    reply is asked for."""
    rate = Feed().rate
    audio = {t: speech(t, tmp_path, rate) for t in (READY, ANSWER)}
    loud = (np.abs(audio[ANSWER].astype(np.int32)) > 500).nonzero()[0]
    answer = audio[ANSWER][: int(loud[-1]) + 1]  # ends with the last word
    async with (
        utils.http_context.open(),
        FakeOpenAI(interviewer) as openai,
        FakeDeepgram([READY, ANSWER], key=DEEPGRAM_KEY) as deepgram,
    ):
        settings = Settings(
            _env_file=None, openai_base_url=openai.base_url, deepgram_base_url=deepgram.base_url
        )
        rt = InterviewRuntime(runtime().md, room_name="hang-up")
        keys = ProviderKeys(openai=OPENAI_KEY, deepgram=DEEPGRAM_KEY)
        async with greeted(rt, settings, keys, load_vad(), tmp_path, audio[READY]) as (
            interview, mic, _,
        ):  # fmt: skip
            await mic.speak(answer.tobytes())
            interview.session.input.audio = None  # hung up: no more audio, ever
            finals, requests = list(deepgram.finals), len(openai.requests)
            interview.driver.candidate_left(final=True)
            await asyncio.wait_for(interview.driver.ended.wait(), 10)
            await interview.finish()
    assert finals == [READY] and deepgram.finals == [READY, ANSWER]  # it came after the leave
    assert len(openai.requests) == requests
    assert rt.ended_by == "candidate_left"
    last = candidate_messages(rt)[-1]
    assert (last.text, last.partial) == (ANSWER, False)
    assert interview.saver.records is not None
    assert interview.saver.records[0].conversation["messages"][-1]["text"] == ANSWER
