"""``python -m agent simulate``: a whole interview from a script, in a real text session.

Each non-empty line of the script is one candidate utterance. The interview runs in a
LiveKit ``AgentSession`` (text only: no room, no audio) with the online interviewer when
an OpenAI key is configured, else the offline one. A script that runs out before the
interview ends means the candidate left. The finished interview is saved through the
configured store, exactly as a dispatched session would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from livekit.agents import llm

from observability.tracing import interview_attributes, span
from persistence import InterviewIdentity, InterviewRecord, InterviewStore
from persistence.outbox import Outbox
from providers import ProviderKeys, choose
from stages.metadata import parse_metadata

from .config import Settings, prices_for
from .plugins import assessor_for, env_keys, model_names
from .questions import stored_questions
from .runtime import InterviewRuntime
from .session import InterviewSession, Providers, choice_for, providers_for

logger = logging.getLogger("interview.simulate")

TURN_TIMEOUT_S = 120.0


@dataclass(slots=True)
class SimulationResult:
    interview_id: str | None
    """``None`` when the store was unreachable: the interview waits in the outbox."""
    row: dict[str, Any]
    feedback: dict[str, Any]
    offline: bool


def script_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


async def stream_lines(readline: Callable[[], str]) -> AsyncIterator[str]:
    """Candidate lines as they arrive (``--script -``: a live pipe), blank lines skipped."""
    while True:
        line = await asyncio.to_thread(readline)
        if not line:
            return
        if line.strip():
            yield line.strip()


async def _each(lines: Iterable[str] | AsyncIterable[str]) -> AsyncIterator[str]:
    if isinstance(lines, AsyncIterable):
        async for line in lines:
            yield line
    else:
        for line in lines:
            yield line


def _providers(
    settings: Settings,
    keys: ProviderKeys,
    rt: InterviewRuntime,
    *,
    offline: bool,
    language_model: llm.LLM | None,
) -> Providers:
    """A simulation is typed: the interviewer the keys give (``offline``: the question
    bank whatever the keys; ``language_model``: that model)."""
    choice = choice_for(ProviderKeys() if offline else keys, rt)
    choice = choice.typed("a simulated interview (lines of text)")
    if language_model is not None:
        models = {**model_names(settings, choice), "llm": language_model.model}
        return Providers(
            llm=language_model, models=models, prices=prices_for(settings), choice=choice
        )
    return providers_for(settings, keys, rt, vad=None, choice=choice)


async def _converse(interview: InterviewSession, lines: Iterable[str] | AsyncIterable[str]) -> None:
    """Each line is the candidate's next turn, until the lines or the interview end; a
    script that runs out means the candidate left."""
    rt, driver = interview.rt, interview.driver
    await interview.start()
    await interview.wait_for_greeting(TURN_TIMEOUT_S)
    async for line in _each(lines):
        if rt.terminal:
            break
        try:
            await asyncio.wait_for(interview.session.run(user_input=line), TURN_TIMEOUT_S)
        except Exception as e:
            if not driver.retrying or rt.terminal:
                raise
            logger.warning("reply failed (%s); asked for it again", type(e).__name__)
        await driver.settle(TURN_TIMEOUT_S)
    if not rt.terminal:
        rt.candidate_left(final=True)
    await asyncio.wait_for(driver.ended.wait(), TURN_TIMEOUT_S)


async def run_simulation(
    lines: Iterable[str] | AsyncIterable[str],
    metadata_text: str | None,
    *,
    settings: Settings,
    store: InterviewStore,
    outbox: Outbox,
    offline: bool = False,
    room_name: str | None = None,
    language_model: llm.LLM | None = None,
    identity: InterviewIdentity | None = None,
    resume: InterviewRecord | None = None,
) -> SimulationResult:
    """One whole interview in a text session. ``identity`` and ``resume``: continue the
    interview ``resume`` (saved by a job that was lost) under that identity."""
    md = parse_metadata(metadata_text, require_user=False)
    for warning in md.warnings:
        logger.warning("metadata: %s", warning)
    room = room_name or f"sim-{uuid.uuid4().hex[:12]}"
    identity = identity or InterviewIdentity.new(room)
    about = {**interview_attributes(room, identity.interview_id), "keys.source": "environment"}
    with span("key_load", about):
        keys = env_keys(settings)
    if language_model is None and not offline and not choose(set(keys), md.providers).llm:
        logger.info("no model key: using the offline interviewer")
        offline = True
    stored = await stored_questions(store, md.job_role)
    rt = InterviewRuntime(md, identity=identity, stored=stored)
    if resume is not None:
        rt.resume_from(resume)
    providers = _providers(settings, keys, rt, offline=offline, language_model=language_model)
    interview = InterviewSession(rt, providers, store=store, outbox=outbox, mode="simulate")
    try:
        await _converse(interview, lines)
    except Exception as e:
        logger.error("simulation failed: %s", type(e).__name__)
        rt.fail(f"simulation: {type(e).__name__}")
    finally:
        choice = interview.providers.choice
        assessor = None if offline or choice is None else assessor_for(settings, keys, choice)
        try:
            row_record, feedback = await interview.finish(assessor)
        finally:
            with contextlib.suppress(Exception):
                await interview.session.aclose()
    saved = interview.saver.saved
    row = asdict(row_record)
    if saved is not None:
        row["room_name"] = saved.room_name
    return SimulationResult(
        interview_id=saved.interview_id if saved else None,
        row=row,
        feedback=feedback.feedback_data,
        offline=offline,
    )
