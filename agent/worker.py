"""The LiveKit worker: explicit dispatch under ``AGENT_NAME``, one interview per job.

Wiring, in the order it happens for a job: read the metadata (job first, then room),
choose the interviewer (online with keys, else offline where allowed), build the
session, register the client protocol, start, and wait for the interview to end; then
save it once and leave. A shutdown callback saves an interview the worker is told to
abandon (drain, SIGTERM) with ``ended_by = "worker_shutdown"``.
"""

from __future__ import annotations

import asyncio
import json
import logging

from livekit import rtc
from livekit.agents import AgentServer, AgentSession, JobContext, JobProcess, room_io
from livekit.plugins import silero

from persistence import InterviewStore
from persistence.outbox import Outbox
from prompts.loader import load_all
from stages.bank import QuestionBank
from stages.metadata import InterviewMetadata, MetadataError, parse_metadata

from . import providers
from .assessor import Assessor
from .byok import Keyring, MasterKeyError
from .client_protocol import STATE_TOPIC, ClientProtocol, state_publisher
from .config import ConfigError, Settings, load_settings, store_for
from .driver import SessionDriver
from .finalize import SessionFacts
from .interviewer import Interviewer
from .log import install_redaction, register_secret
from .offline_llm import OfflineInterviewerLLM
from .persist import InterviewPersistence
from .providers import (
    ProviderKeys,
    build_llm,
    build_stt,
    build_tts,
    model_names,
    openai_client,
)
from .questions import stored_questions
from .runtime import InterviewRuntime
from .session_keys import KeyLoadError, load_user_keys

logger = logging.getLogger("interview.worker")

TURN_HANDLING = {
    # A candidate who pauses to think must not be cut off: wait at least 0.8 s of
    # silence, up to 6 s when the turn detector thinks the sentence is unfinished.
    "endpointing": {"mode": "dynamic", "min_delay": 0.8, "max_delay": 6.0},
    "interruption": {"enabled": True, "min_duration": 0.6, "resume_false_interruption": True},
    "preemptive_generation": {"enabled": True},
}
FINALIZE_TIMEOUT_S = 8.0
ASSESS_BUDGET_S = 45.0


def load_vad() -> silero.VAD:
    return silero.VAD.load(min_silence_duration=0.55)


def prewarm(proc: JobProcess) -> None:
    """Once per job process, before any job: what the first greeting should not wait for."""
    proc.userdata["vad"] = load_vad()
    providers.warm()  # the TLS context (~45 ms of CPU)
    QuestionBank.bundled()
    load_all()


def env_keys(settings: Settings) -> ProviderKeys:
    keys = ProviderKeys(
        openai=settings.openai_api_key.get_secret_value() if settings.openai_api_key else None,
        deepgram=settings.deepgram_api_key.get_secret_value()
        if settings.deepgram_api_key
        else None,
    )
    register_secret(keys.openai)
    register_secret(keys.deepgram)
    return keys


def keyring_for(settings: Settings) -> Keyring:
    master = settings.byok_master_keys
    try:
        return Keyring.parse(master.get_secret_value() if master else None)
    except MasterKeyError as e:
        raise ConfigError(str(e)) from None


async def session_provider_keys(
    settings: Settings, store: InterviewStore, md: InterviewMetadata, *, console: bool
) -> ProviderKeys:
    """The keys for one session: the user's own (BYOK) in dispatch mode with Supabase;
    the environment's in console and local mode. Raises :class:`KeyLoadError`."""
    if console or not settings.supabase_url:
        keys = env_keys(settings)
        if keys.openai is None and not console:
            raise KeyLoadError("missing_key", "no OpenAI key is available for this session")
        return keys
    assert md.user_id is not None  # required by parse_metadata in dispatch mode
    loaded = await load_user_keys(store, keyring_for(settings), md.user_id)
    return loaded.providers


async def _send_error(room: rtc.Room, code: str, message: str) -> None:
    body = json.dumps({"status": "error", "code": code, "message": message})
    try:
        await room.local_participant.publish_data(body, reliable=True, topic=STATE_TOPIC)
    except Exception as e:
        logger.debug("could not tell the client: %s", type(e).__name__)


async def entrypoint(ctx: JobContext) -> None:
    install_redaction()
    settings = load_settings()
    ctx.log_context_fields = {"room": ctx.room.name, "job_id": ctx.job.id}
    await ctx.connect()
    console = ctx.is_fake_job()
    try:
        md = parse_metadata(ctx.job.metadata or ctx.room.metadata, require_user=not console)
    except MetadataError as e:
        logger.error("refusing job: %s (%s)", e, e.code)
        await _send_error(ctx.room, e.code, str(e))
        ctx.shutdown(reason=e.code)
        return
    for warning in md.warnings:
        logger.warning("metadata: %s", warning)
    await run_interview(ctx, settings, md, console=console)


def session_mode(keys: ProviderKeys) -> tuple[bool, bool]:
    """(offline, voice): no OpenAI key → the offline interviewer, text only; both keys →
    a voice interview; an OpenAI key alone → text with the online interviewer."""
    offline = keys.openai is None
    return offline, keys.deepgram is not None and not offline


def build_session(
    settings: Settings, keys: ProviderKeys, rt: InterviewRuntime, *, vad: silero.VAD | None
) -> AgentSession:
    """The session for one interview: VAD → Deepgram → the interviewer model → OpenAI
    voice when both keys are there; text with the online or offline interviewer else."""
    offline, voice = session_mode(keys)
    client = None if offline else openai_client(settings, keys)
    return AgentSession(
        llm=OfflineInterviewerLLM(rt) if offline else build_llm(settings, keys, client),
        stt=build_stt(settings, keys, language=rt.md.language) if voice else None,
        tts=build_tts(settings, keys, client) if voice else None,
        vad=vad if voice else None,
        turn_handling=TURN_HANDLING if voice else {"turn_detection": None},
    )


async def run_interview(
    ctx: JobContext, settings: Settings, md: InterviewMetadata, *, console: bool
) -> None:
    store = store_for(settings)
    try:
        keys = await session_provider_keys(settings, store, md, console=console)
    except KeyLoadError as e:
        logger.error("refusing job: %s (%s)", e, e.code)
        await _send_error(ctx.room, e.code, str(e))
        await store.aclose()
        ctx.shutdown(reason=e.code)
        return
    offline, voice = session_mode(keys)
    # every console run is its own interview, not an update of the last one
    room_name = f"{ctx.room.name}-{ctx.job.id}" if console else ctx.room.name
    stored = await stored_questions(store, md.job_role)
    rt = InterviewRuntime(md, room_name=room_name, offline=offline, stored=stored)
    session = build_session(settings, keys, rt, vad=ctx.proc.userdata.get("vad"))
    driver = SessionDriver(
        session, rt, publish=state_publisher(ctx.room.local_participant), watch_silence=voice
    )
    ClientProtocol(rt, on_change=driver.publish_state).register(ctx.room.local_participant)

    def facts() -> SessionFacts:
        return SessionFacts(
            mode="console" if console else "dispatch",
            models=model_names(settings, offline=offline, voice=voice),
            usage=[u.model_dump() for u in session.usage.model_usage],
            timed=voice,
            job_id=ctx.job.id,
        )

    saver = InterviewPersistence(
        rt, outbox=Outbox(settings.interview_outbox_path), store=store, facts=facts
    )
    rt.on_message(saver.checkpoint_soon)

    async def on_shutdown(reason: str) -> None:
        try:
            await asyncio.wait_for(saver.finalize(), FINALIZE_TIMEOUT_S)
        except Exception:
            logger.exception("finalize at shutdown failed")
        finally:
            await store.aclose()

    ctx.add_shutdown_callback(on_shutdown)

    def on_left(p: rtc.RemoteParticipant) -> None:
        if p.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            rt.apply(rt.machine.participant_left())

    def on_joined(p: rtc.RemoteParticipant) -> None:
        if p.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            rt.machine.participant_returned()

    ctx.room.on("participant_disconnected", on_left)
    ctx.room.on("participant_connected", on_joined)

    await session.start(
        agent=Interviewer(rt),
        room=ctx.room,
        room_options=room_io.RoomOptions(close_on_disconnect=False),
    )
    driver.start()
    await driver.ended.wait()
    assessor = None if offline else Assessor(settings, keys)
    try:
        await asyncio.wait_for(saver.finalize(assessor), FINALIZE_TIMEOUT_S + ASSESS_BUDGET_S)
    except Exception:
        logger.exception("finalize failed")
    finally:
        if assessor is not None:
            await assessor.aclose()
    await driver.aclose()
    ctx.shutdown(reason=f"interview ended: {rt.machine.ended_by}")


FLUSH_EVERY_S = 30.0


async def flush_forever(settings: Settings) -> None:
    """In the worker's main process: recover orphans at start, then push what waits."""
    outbox = Outbox(settings.interview_outbox_path)
    store = store_for(settings)
    try:
        recovered = False
        while True:
            try:
                if not recovered:
                    _, result = await outbox.recover_and_flush(store)
                    recovered = True
                else:
                    result = await outbox.flush(store)
                if result.pushed or result.failed:
                    logger.info(
                        "outbox flush",
                        extra={"pushed": result.pushed, "failed": result.failed,
                               "remaining": result.remaining},
                    )  # fmt: skip
            except Exception:
                logger.exception("outbox flush failed")
            await asyncio.sleep(FLUSH_EVERY_S)
    finally:
        await store.aclose()


def build_server(settings: Settings) -> AgentServer:
    server = AgentServer(setup_fnc=prewarm, drain_timeout=1800)
    server.rtc_session(entrypoint, agent_name=settings.agent_name)
    tasks: set[asyncio.Task[None]] = set()

    @server.on("worker_started")
    def _start_flusher() -> None:
        task = asyncio.get_running_loop().create_task(flush_forever(settings))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    return server
