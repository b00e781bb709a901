"""The LiveKit worker: explicit dispatch under ``AGENT_NAME``, one interview per job.

Wiring, in the order it happens for a job: read the metadata (job first, then room),
choose the interviewer (online with keys, else offline where allowed), build the
session, register the client protocol, start, and wait for the interview to end; then
save it once and leave. A shutdown callback saves an interview the worker is told to
abandon (drain, SIGTERM) with ``ended_by = "worker_shutdown"``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import sys
import time
from dataclasses import dataclass

from livekit import api, rtc
from livekit.agents import AgentServer, AutoSubscribe, JobContext, JobProcess, room_io
from livekit.protocol.models import ParticipantInfo

from byok.user_keys import KeyLoadError, load_user_keys
from interview import recordings
from interview.rows import worker_version
from interview.saving import (
    ASSESS_BUDGET_S,
    PROGRESS_BUDGET_S,
    RECORDINGS_BUDGET_S,
    UPLOAD_BUDGET_S,
)
from observability import metrics, tracing
from persistence import InterviewIdentity, InterviewRecord, InterviewStore, StoreError
from persistence.outbox import Outbox, OutboxUnavailable
from prompts.loader import load_all
from providers import ProviderKeys, choose, usable
from stages.bank import QuestionBank
from stages.metadata import (
    InterviewMetadata,
    MetadataError,
    adopt_saved_preference,
    adopt_spending_cap,
    parse_metadata,
)
from stages.transcript import parse_iso

from . import plugins
from .audio import hear_microphones, load_vad, room_audio_input
from .capacity import InterviewLoad, max_interviews
from .client_protocol import STATE_TOPIC, ClientProtocol, cues_publisher, state_publisher
from .config import (
    LOOP_BLOCK_ENV,
    Settings,
    keyring_for,
    load_settings,
    metrics_dir_for,
    prices_for,
    store_for,
)
from .driver import WITHDRAWN, SessionDriver
from .log import install_redaction, register_secret
from .plugins import assessor_for, env_keys
from .questions import stored_questions
from .runtime import InterviewRuntime
from .session import InterviewSession, providers_for
from .telemetry import configure_tracing, span

logger = logging.getLogger("interview.worker")

FINALIZE_TIMEOUT_S = 8.0
FINISH_BUDGET_S = (
    FINALIZE_TIMEOUT_S + ASSESS_BUDGET_S + PROGRESS_BUDGET_S + RECORDINGS_BUDGET_S + UPLOAD_BUDGET_S
)
"""The longest a job stays after its interview ended: the transcript saved first, then the
assessment, the progress and the recordings, each within its own budget."""
INTERVIEW_ATTRIBUTE = "interview.id"
STARTED_ATTRIBUTE = "interview.started_at"
MODE_ATTRIBUTE = "interview.mode"
"""``voice`` (speech in and out) or ``text`` (typed answers, written replies)."""
OTHER_INTERVIEWER_WAIT_S = 20.0
"""How long a new job waits for another interviewer still in the room to leave (a lost
job's participant lingers a few seconds) before it leaves the room to it."""
LEFT_ON_PURPOSE = (
    rtc.DisconnectReason.CLIENT_INITIATED,
    rtc.DisconnectReason.PARTICIPANT_REMOVED,
    rtc.DisconnectReason.ROOM_DELETED,
    rtc.DisconnectReason.ROOM_CLOSED,
)
"""A candidate who left for one of these reasons is not coming back: the interview ends
at once (``candidate_left``) instead of waiting for a reconnect."""
RESUME_WINDOW_S = 600.0
"""An unfinished interview in the same room instance is continued if it was active
this recently; an older one stays as it was saved and a new interview starts."""


DRAIN_TIMEOUT_S = 1800
"""On SIGTERM, how long running interviews may go on (the longest interview is 30 min)."""
PRELOAD_MODULES = ["agent.preload"]
"""Imported once in the worker's forkserver: every job process shares these modules and
what they load copy-on-write (LiveKit's own models are preloaded there too)."""


def warm() -> None:
    """What the first greeting should not wait for; idempotent (cached per process)."""
    plugins.warm()  # the TLS context (~45 ms of CPU)
    QuestionBank.bundled()
    load_all()


def run_livekit_cli(settings: Settings, argv: list[str]) -> None:
    """LiveKit's own command line (``dev``, ``start``, ``console``, ...) over this worker,
    with ``argv`` as its arguments."""
    from livekit.agents import cli as lk_cli

    sys.argv = [sys.argv[0], *argv]
    lk_cli.run_app(build_server(settings))


def prewarm(proc: JobProcess) -> None:
    """Once per job process, before any job (already done in the forkserver when preloaded)."""
    settings = load_settings()
    proc.userdata["vad"] = load_vad(settings.vad_engine)
    warm()
    prices_for(settings)  # the price table, read once here rather than on a job's loop
    if settings.supabase_url:
        from persistence import supabase_store

        supabase_store.warm()  # supabase-py's lazy imports, off the first job's event loop


async def session_provider_keys(
    settings: Settings, store: InterviewStore, md: InterviewMetadata, *, console: bool
) -> ProviderKeys:
    """The keys for one session: the user's own (BYOK) in dispatch mode with Supabase;
    the environment's in console and local mode, where no OpenAI key means the offline
    interviewer (typed answers, written replies). A user's saved order of providers
    applies to each kind the metadata does not order; a key whose provider this
    deployment has not configured is set aside. Raises :class:`KeyLoadError`."""
    if console or not settings.supabase_url:
        keys = env_keys(settings)
        if not console:
            logger.info("local mode: %s", choose(set(keys), md.providers).reason)
        return keys
    if md.user_id is None:  # parse_metadata requires it in dispatch mode
        raise KeyLoadError("missing_user", "no user_id: whose keys to use is unknown")
    loaded = await load_user_keys(store, keyring_for(settings), md.user_id, on_open=register_secret)
    before = len(md.warnings)
    adopt_saved_preference(md, loaded.preference)
    adopt_spending_cap(md, loaded.max_cost_usd)
    keys, notes = usable(loaded.providers, settings.setting)
    md.warnings.extend(notes)
    for warning in md.warnings[before:]:
        logger.warning("keys: %s", warning)
    return keys


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
    if configure_tracing(settings, worker_version()):
        ctx.add_shutdown_callback(_flush_spans)
    if ctx.is_fake_job():  # console: no server, no candidate to wait for, no continuation
        await ctx.connect()
        try:
            md = parse_metadata(ctx.job.metadata, room=ctx.room.metadata, require_user=False)
        except MetadataError as e:
            await _refuse(ctx, e.code, str(e))
            return
        from .console import interview_over, interview_started

        store = store_for(settings)
        identity = InterviewIdentity.new(ctx.room.name)
        interview_started(identity.interview_id)  # the console says where it was saved
        await run_interview(
            ctx, settings, md, console=True, store=store,
            outbox=Outbox(settings.interview_outbox_path),
            identity=identity, resumed=None,
        )  # fmt: skip
        interview_over()  # saved: the console ends by itself
        return
    await _dispatched(ctx, settings)


async def _flush_spans(_reason: str) -> None:
    """Send the job's buffered spans before its process goes (off the event loop)."""
    await asyncio.to_thread(tracing.flush)


REFUSAL_LINGER_S = 1.0
"""How long a refusing job stays in the room after telling the client why: its reliable
packet must leave before the room is disconnected, or it is lost (seen: 7 of 15 lost on a
busy machine without it)."""


async def _refuse(ctx: JobContext, code: str, message: str) -> None:
    """Tell the client why there is no interview, log it once, leave."""
    logger.error("refusing job: %s (%s)", message, code)
    if not ctx.room.isconnected():
        await ctx.connect(auto_subscribe=AutoSubscribe.SUBSCRIBE_NONE)
    await _send_error(ctx.room, code, message)
    await asyncio.sleep(REFUSAL_LINGER_S)  # the packet leaves before the room is left
    ctx.shutdown(reason=code)


async def _dispatched(ctx: JobContext, settings: Settings) -> None:
    """A job the web app dispatched: whose interview, a new one or one to continue, and
    only then into the room (a job that leaves the room to another interviewer never
    joins it)."""
    room = ctx.job.room
    raw = ctx.job.metadata
    try:
        md = parse_metadata(raw, room=room.metadata, require_user=True)
    except MetadataError as e:
        await _refuse(ctx, e.code, str(e))
        return
    store = store_for(settings)
    outbox = Outbox(settings.interview_outbox_path)
    if md.resume_interview_id is not None:
        try:
            found = await paused_interview(store, md.resume_interview_id, md.user_id)
        except ResumeRefused as e:
            await store.aclose()
            await _refuse(ctx, "cannot_resume", str(e))
            return
    else:
        found = await find_continuation(
            outbox, store, room_name=room.name, room_sid=room.sid, user_id=md.user_id
        )
    dead = found.record.id if found is not None and found.job_dead else None
    if not await _room_is_free(ctx, room.name, lost=dead):
        logger.warning("leaving: another interviewer already serves this room")
        await store.aclose()
        ctx.shutdown(reason="another interviewer serves this room")
        return
    # subscribed to nothing: a voice interview subscribes to the microphones it hears
    await ctx.connect(auto_subscribe=AutoSubscribe.SUBSCRIBE_NONE)
    try:
        # the interview starts when the candidate is there; their attributes may add
        # context (role, level, name, resume, job description, language), never more
        candidate = await asyncio.wait_for(
            ctx.wait_for_participant(), settings.candidate_join_timeout_s
        )
    except TimeoutError:
        logger.warning(
            "no candidate joined within %.0f s; leaving", settings.candidate_join_timeout_s
        )
        await store.aclose()
        ctx.shutdown(reason="no candidate joined")
        return
    md = parse_metadata(
        raw,
        room=room.metadata,  # as dispatched: whose interview was settled above
        attributes=dict(candidate.attributes),
        require_user=True,
    )
    for warning in md.warnings:
        logger.warning("metadata: %s", warning)
    identity = InterviewIdentity.new(room.name, room.sid)
    resumed = found.record if found is not None else None
    if resumed is not None:
        generation = resumed.metadata.get("generation")
        identity = InterviewIdentity(
            resumed.id, room.name, room.sid, generation if isinstance(generation, int) else 0
        ).continued()
        logger.info(
            "continuing interview",
            extra={"interview_id": resumed.id, "from_revision": resumed.revision},
        )
    await run_interview(
        ctx, settings, md, console=False, store=store, outbox=outbox, identity=identity,
        resumed=resumed,
    )  # fmt: skip


class ResumeRefused(Exception):
    """A paused interview that this job may not continue (the message says why)."""


async def paused_interview(
    store: InterviewStore, interview_id: str, user_id: str | None
) -> Continuation:
    """The paused interview ``interview_id``, to continue: only the same user's, and only
    one that is paused (never one running elsewhere, finished, or another user's: those
    are refused with a clear reason, the same for a missing one and another user's so
    that ids cannot be probed)."""
    try:
        saved = await store.get(interview_id)
    except StoreError as e:
        raise ResumeRefused(f"the paused interview could not be read: {e}") from None
    if saved is None or saved.interview.user_id != user_id:
        raise ResumeRefused(f"no paused interview {interview_id} of this user")
    ended_by = saved.interview.ended_by
    if ended_by != "paused":
        state = "still running" if ended_by is None else f"already finished ({ended_by})"
        raise ResumeRefused(f"interview {interview_id} is not paused: it is {state}")
    return Continuation(saved.interview, job_dead=True)  # no interviewer of it is running


async def _room_is_free(ctx: JobContext, room: str, *, lost: str | None) -> bool:
    """True when no other interviewer serves the room, asked of the server before joining
    it (any still there may leave within ``OTHER_INTERVIEWER_WAIT_S``: a lost job's
    participant lingers). ``lost``: the interview id of a job known to be dead."""
    deadline = time.monotonic() + OTHER_INTERVIEWER_WAIT_S
    request = api.ListParticipantsRequest(room=room)
    while True:
        try:
            listed = await ctx.api.room.list_participants(request)
        except Exception as e:  # cannot tell: serve the room rather than abandon it
            logger.warning("could not list the room's participants: %s", type(e).__name__)
            return True
        others = [
            p
            for p in listed.participants
            if p.kind == ParticipantInfo.Kind.AGENT
            and p.attributes.get(INTERVIEW_ATTRIBUTE) not in (None, "", lost)
        ]
        if not others:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.5)


async def _announce(ctx: JobContext, interview_id: str, started_at: str, *, voice: bool) -> None:
    """Say which interview this agent runs and how (its participant attributes), so a
    second job sent to the room can tell and the candidate's page knows whether to listen
    or to offer typing only. A hint only: a refusal or no answer never holds up the
    interview."""
    attributes = {
        INTERVIEW_ATTRIBUTE: interview_id,
        STARTED_ATTRIBUTE: started_at,
        MODE_ATTRIBUTE: "voice" if voice else "text",
    }
    try:
        await asyncio.wait_for(ctx.room.local_participant.set_attributes(attributes), 5.0)
    except Exception as e:
        logger.warning("could not set the agent's attributes: %s", type(e).__name__)


def _last_activity(saved: InterviewRecord) -> float:
    times = [parse_iso(saved.metadata.get("ended_at")), parse_iso(saved.metadata.get("started_at"))]
    messages = saved.conversation.get("messages") if isinstance(saved.conversation, dict) else None
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        times.append(parse_iso(messages[-1].get("ended_at")))
    return max((t for t in times if t is not None), default=0.0)


@dataclass(frozen=True, slots=True)
class Continuation:
    """An unfinished interview a new job takes over."""

    record: InterviewRecord
    job_dead: bool
    """Its job is known to be dead (its process on this machine is gone); otherwise its
    interviewer must be seen to leave the room before the interview is continued."""


async def find_continuation(
    outbox: Outbox, store: InterviewStore, *, room_name: str, room_sid: str, user_id: str | None
) -> Continuation | None:
    """The unfinished interview of this user in this room instance, if one was active
    within ``RESUME_WINDOW_S``: from this machine's outbox (its job process died), else
    from the store (its job ran elsewhere, or was already recovered here)."""
    found: Continuation | None = None
    try:
        claimed = await outbox.claim(room_name=room_name, room_sid=room_sid, user_id=user_id)
        if claimed is not None:
            found = Continuation(claimed.interview, job_dead=True)
    except OutboxUnavailable as e:
        logger.warning("outbox unavailable while looking for an interview to continue: %s", e)
    if found is None:
        try:
            saved = await store.find_resumable(
                room_name=room_name, room_sid=room_sid, user_id=user_id
            )
            found = Continuation(saved.interview, job_dead=False) if saved else None
        except StoreError as e:
            logger.warning("store unavailable while looking for an interview to continue: %s", e)
    if found is None or time.time() - _last_activity(found.record) > RESUME_WINDOW_S:
        return None
    return found


async def run_interview(
    ctx: JobContext,
    settings: Settings,
    md: InterviewMetadata,
    *,
    console: bool,
    store: InterviewStore,
    outbox: Outbox,
    identity: InterviewIdentity,
    resumed: InterviewRecord | None,
) -> None:
    about = tracing.interview_attributes(ctx.room.name, identity.interview_id)
    byok = not console and settings.supabase_url is not None
    try:
        with span("key_load", {**about, "keys.source": "byok" if byok else "environment"}):
            keys = await session_provider_keys(settings, store, md, console=console)
    except KeyLoadError as e:
        await store.aclose()
        await _refuse(ctx, e.code, str(e))
        return
    started_at = f"{time.time():017.6f}"
    stored = await stored_questions(store, md.job_role)
    rt = InterviewRuntime(md, identity=identity, stored=stored)
    if resumed is not None:
        rt.resume_from(resumed)
    ctx.log_context_fields = {**ctx.log_context_fields, "interview_id": identity.interview_id}
    providers = providers_for(settings, keys, rt, vad=ctx.proc.userdata.get("vad"))
    interview = InterviewSession(
        rt,
        providers,
        store=store,
        outbox=outbox,
        mode="console" if console else "dispatch",
        publish=state_publisher(ctx.room.local_participant),
        publish_cues=cues_publisher(ctx.room.local_participant),
        job_id=ctx.job.id,
        recordings=settings.interview_recordings_path,
    )
    ClientProtocol(rt, on_change=interview.driver.publish_state).register(
        ctx.room.local_participant
    )

    async def on_shutdown(reason: str) -> None:
        await interview.driver.leave_settled()  # the words of a candidate who just left
        if rt.candidate_away:  # the room closed while waiting for a reconnect
            rt.candidate_left(final=True)
        try:
            await asyncio.wait_for(interview.saver.finalize(), FINALIZE_TIMEOUT_S)
        except Exception:
            logger.exception("finalize at shutdown failed")
        finally:
            await store.aclose()
            await interview.close_plugins()

    ctx.add_shutdown_callback(on_shutdown)
    _watch_room(ctx.room, rt, interview.driver, started_at)
    if not console:
        await _announce(ctx, identity.interview_id, started_at, voice=providers.voice)
        if providers.voice:  # a typed interview hears nothing: it subscribes to nothing
            hear_microphones(ctx.room)
    logger.info(
        "interview starting",
        extra={"interview_id": identity.interview_id, "continued": resumed is not None},
    )
    await interview.start(
        room=ctx.room,
        room_options=room_io.RoomOptions(
            # a typed interview neither listens nor speaks: its replies are captions only
            audio_input=room_audio_input() if providers.voice else False,
            audio_output=providers.voice,
            close_on_disconnect=False,
        ),
    )
    await interview.driver.ended.wait()
    assessor = assessor_for(settings, keys, providers.choice) if providers.choice else None
    try:
        await asyncio.wait_for(interview.finish(assessor), FINISH_BUDGET_S)
    except Exception:
        logger.exception("finalize failed")
    ctx.shutdown(reason=f"interview ended: {rt.ended_by}")


def _watch_room(
    room: rtc.Room, rt: InterviewRuntime, driver: SessionDriver, started_at: str
) -> None:
    """The room's comings and goings, as the interview sees them."""

    def on_left(p: rtc.RemoteParticipant) -> None:
        if p.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            return
        # left on purpose (hung up, removed): ends once their last words are in; a
        # dropped connection: grace
        final = p.disconnect_reason in LEFT_ON_PURPOSE
        driver.candidate_left(final=final)

    def on_joined(p: rtc.RemoteParticipant) -> None:
        if p.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            driver.candidate_returned()
        else:
            yield_to(p)

    def yield_to(p: rtc.RemoteParticipant) -> None:
        """Two interviewers in one room (a race no start-up check can close): the one
        that started later withdraws, saved under its own id."""
        other = p.attributes.get(INTERVIEW_ATTRIBUTE)
        mine = rt.identity.interview_id
        if p.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT or not other or other == mine:
            return
        if (p.attributes.get(STARTED_ATTRIBUTE, ""), other) < (started_at, mine):
            logger.warning("withdrawing: another interviewer started first in this room")
            rt.fail(WITHDRAWN)

    room.on("participant_disconnected", on_left)
    room.on("participant_connected", on_joined)
    room.on("participant_attributes_changed", lambda _changed, p: yield_to(p))


FLUSH_EVERY_S = 15.0
"""How often the worker's main process recovers orphans of dead job processes and
pushes what waits in the outbox (so an orphan is saved within ~15 s of its death)."""


async def flush_forever(settings: Settings) -> None:
    """In the worker's main process: recover orphans and push what waits, forever."""
    outbox = Outbox(settings.interview_outbox_path)
    store = store_for(settings)
    unavailable: str | None = None
    try:
        while True:
            try:
                _, result = await outbox.recover_and_flush(store)
                status = await outbox.status()
                metrics.outbox_status(status.pending, status.oldest_pending_age_s)
                uploaded, failed = await recordings.upload_pending(
                    store, settings.interview_recordings_path
                )
                if uploaded or failed:
                    logger.info("recordings flush", extra={"uploaded": uploaded, "failed": failed})
                if unavailable is not None:
                    logger.info("outbox available again")
                    unavailable = None
                if result.pushed or result.failed:
                    logger.info(
                        "outbox flush",
                        extra={"pushed": result.pushed, "failed": result.failed,
                               "remaining": result.remaining},
                    )  # fmt: skip
            except OutboxUnavailable as e:
                if unavailable is None:
                    logger.error("outbox unavailable: %s", e)
                unavailable = str(e)
            except Exception:
                logger.exception("outbox flush failed")
            await asyncio.sleep(FLUSH_EVERY_S)
    finally:
        await store.aclose()


def build_server(settings: Settings) -> AgentServer:
    if settings.vad_engine == "silero":
        # registered in the main process, the plugin is preloaded in the forkserver too
        importlib.import_module("livekit.plugins.silero")
    slots = max_interviews(settings.worker_max_interviews)
    # read by LiveKit's loop monitor in this process and in every job process it starts
    os.environ[LOOP_BLOCK_ENV] = str(settings.loop_block_warn_ms)
    server = AgentServer(
        setup_fnc=prewarm,
        drain_timeout=DRAIN_TIMEOUT_S,
        port=settings.health_port,
        load_fnc=InterviewLoad(slots),
        load_threshold=settings.worker_load_threshold,
        preload_modules=PRELOAD_MODULES,
        prometheus_port=settings.metrics_port,
        prometheus_multiproc_dir=str(shared) if (shared := metrics_dir_for(settings)) else None,
    )
    logger.info(
        "worker capacity",
        extra={"max_interviews": slots, "vad": settings.vad_engine},
    )
    server.rtc_session(entrypoint, agent_name=settings.agent_name)
    tasks: set[asyncio.Task[None]] = set()

    @server.on("worker_started")
    def _start_flusher() -> None:
        task = asyncio.get_running_loop().create_task(flush_forever(settings))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    return server
