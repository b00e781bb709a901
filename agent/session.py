"""One interview in one LiveKit ``AgentSession``: the single place a session is assembled.

The worker (dispatch and console), ``simulate``, the benchmarks and the voice-path tests
all build their interview here, so the order-sensitive wiring exists once: the runtime,
the providers, the session, the driver that binds them, the saver and its checkpoints,
the ``Interviewer`` agent. What differs between them is data: which providers
(:func:`providers_for` chooses the production ones from the keys), whether there is a
room, where the state goes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livekit import rtc
from livekit.agents import Agent, AgentSession, llm, room_io, stt, tts, vad

from interview.assessor import Assessor
from interview.cost import PriceTable, load_prices
from interview.recordings import AnswerRecorder
from interview.rows import SessionFacts
from interview.saving import InterviewPersistence
from observability import metrics
from observability.tracing import interview_attributes, span
from persistence import FeedbackRecord, InterviewRecord, InterviewStore, SaveResult
from persistence.outbox import Outbox
from providers import CATALOG, Catalog, Choice, Kind, ProviderKeys, choose

from .audio import SessionVAD
from .config import Settings, prices_for
from .driver import SessionDriver, StatePublisher
from .interviewer import Interviewer
from .offline_llm import OfflineInterviewerLLM
from .plugins import build_chain, model_names
from .runtime import InterviewRuntime
from .telemetry import SessionMetrics
from .turn_taking import TurnWatch, voice_turn_handling

TEXT_ONLY: dict[str, Any] = {"turn_detection": None}
PLUGIN_CLOSE_S = 3.0
logger = logging.getLogger("interview.session")


@dataclass(slots=True)
class Providers:
    """What a session talks to. A voice session has all of speech-to-text, voice and VAD."""

    llm: llm.LLM
    stt: stt.STT | None = None
    tts: tts.TTS | None = None
    vad: vad.VAD | None = None
    turn_handling: dict[str, Any] = field(default_factory=lambda: dict(TEXT_ONLY))
    models: dict[str, str | None] = field(default_factory=dict)
    turns: TurnWatch | None = None
    """How long to wait in the candidate's pauses (voice sessions; ``turn_handling``
    carries its detector)."""
    prices: PriceTable | None = None
    """What they cost, for the interview's estimate (``None``: the bundled table)."""
    choice: Choice | None = None
    """Which providers and why (``interviews.metadata.providers``)."""
    plugins: list[Any] = field(default_factory=list)
    """Every provider's plugin built for the session, those standing by too (closed
    one by one when it ends: closing a fallback adapter leaves them open)."""

    @property
    def voice(self) -> bool:
        return self.stt is not None and self.tts is not None


def choice_for(keys: ProviderKeys, rt: InterviewRuntime, *, catalog: Catalog = CATALOG) -> Choice:
    """Which providers this interview uses: the keys there, the candidate's preference
    (``providers`` in the metadata), the catalog's order (``providers/choice.py``)."""
    choice = choose(set(keys), rt.md.providers, catalog)
    for note in choice.ignored:
        rt.md.warnings.append(f"providers: {note}; the default order is used")
    return choice


def providers_for(
    settings: Settings,
    keys: ProviderKeys,
    rt: InterviewRuntime,
    *,
    vad: vad.VAD | None,
    catalog: Catalog = CATALOG,
    choice: Choice | None = None,
) -> Providers:
    """The production choice: VAD → speech-to-text → the interviewer (a model, or the
    offline interviewer without a model key) → the voice, when the keys give both ends of
    a voice; typed else. ``choice``: an already made one (``Choice.typed`` for text)."""
    choice = choice or choice_for(keys, rt, catalog=catalog)
    models = model_names(settings, choice)
    prices = prices_for(settings)
    shared: dict[tuple[str, str | None], Any] = {}
    made: list[Any] = []

    def serving(kind: Kind) -> Any:
        return build_chain(
            settings, keys, choice.chain(kind), catalog=catalog, language=rt.md.language,
            shared=shared, on_switch=lambda k, failed, now: _switched(rt, catalog, k, failed, now),
            made=made,
        )  # fmt: skip

    model = OfflineInterviewerLLM(rt) if choice.llm is None else serving(Kind.LLM)
    if not choice.voice:
        return Providers(llm=model, models=models, prices=prices, choice=choice, plugins=made)
    session_vad = SessionVAD(vad) if vad is not None else None
    turns = TurnWatch(rt, vad=session_vad)
    return Providers(
        prices=prices,
        llm=model,
        stt=serving(Kind.STT),
        tts=serving(Kind.TTS),
        vad=session_vad,
        turn_handling=voice_turn_handling(turns),
        models=models,
        turns=turns,
        choice=choice,
        plugins=made,
    )


def _switched(
    rt: InterviewRuntime, catalog: Catalog, kind: Kind, failed: str, now: str | None
) -> None:
    """A provider failed and another took over (or it serves again): in the interview's
    errors and the log; the interview goes on."""
    label = catalog.key(failed).label
    if now == failed:
        logger.info("%s: %s serves again", kind.title, label)
        return
    if now is None:
        logger.warning("%s: %s failed and no provider is left standing by", kind.title, label)
    else:
        logger.warning("%s: %s failed; %s took over", kind.title, label, catalog.key(now).label)
    rt.provider_switched(kind.value, failed, now)


class InterviewSession:
    """The runtime, the ``AgentSession``, the driver, the saver and the agent of one
    interview, wired in the one order that works."""

    def __init__(
        self,
        rt: InterviewRuntime,
        providers: Providers,
        *,
        store: InterviewStore,
        outbox: Outbox,
        mode: str,
        publish: StatePublisher | None = None,
        publish_cues: StatePublisher | None = None,
        job_id: str | None = None,
        checkpoints: bool = True,
        on_saved: Callable[[SaveResult], None] | None = None,
        watch_silence: bool | None = None,
        agent: Agent | None = None,
        recordings: Path | None = None,
    ) -> None:
        """``watch_silence``: prompt a silent candidate (default: in voice sessions).
        ``publish_cues``: where each answer's delivery cues go (``interview.cues``).
        ``agent``: another agent in place of the ``Interviewer`` (the benchmarks' plain
        LiveKit baseline)."""
        self.rt = rt
        self.providers = providers
        rt.timed = providers.voice
        rt.spending.prices = providers.prices or load_prices()
        self.mode = mode
        self.job_id = job_id
        self.session: AgentSession = AgentSession(
            llm=providers.llm,
            stt=providers.stt,
            tts=providers.tts,
            vad=providers.vad if providers.voice else None,
            turn_handling=providers.turn_handling,
        )
        if providers.turns is not None:
            providers.turns.attach(self.session)
        self.session.on(
            "session_usage_updated",
            lambda ev: rt.usage_updated([u.model_dump() for u in ev.usage.model_usage]),
        )
        silence = providers.voice if watch_silence is None else watch_silence
        self.driver = SessionDriver(
            self.session, rt, publish=publish, watch_silence=silence,
            publish_cues=publish_cues if rt.md.live_cues else None,
        )  # fmt: skip
        # the answers' audio, only with the candidate's consent and only in a voice session
        recorder = (
            AnswerRecorder(recordings, rt.identity.interview_id)
            if recordings is not None and rt.md.record_audio and providers.voice
            else None
        )
        self.saver = InterviewPersistence(
            rt,
            outbox=outbox,
            store=store,
            facts=self.facts,
            on_saved=on_saved or (lambda _: self.driver.publish_saved()),
            recorder=recorder,
        )
        if checkpoints:
            rt.on_message(self.saver.checkpoint_soon)
        self.agent: Agent = agent or Interviewer(rt, recorder)
        SessionMetrics(self.session)

    def facts(self) -> SessionFacts:
        return SessionFacts(
            mode=self.mode,
            models=self.providers.models,
            providers=self.providers.choice.summary() if self.providers.choice else None,
            usage=[u.model_dump() for u in self.session.usage.model_usage],
            timed=self.providers.voice,
            job_id=self.job_id,
            prices=self.providers.prices,
        )

    async def start(
        self, *, room: rtc.Room | None = None, room_options: room_io.RoomOptions | None = None
    ) -> None:
        ident = self.rt.identity
        about = {**interview_attributes(ident.room_name, ident.interview_id), "mode": self.mode}
        with span("session_start", about):
            metrics.interview_started(self.mode)
            if room is None:
                await self.session.start(self.agent)
            else:
                # LiveKit's session host (on by default) would let any participant of the
                # room read the interviewer's instructions and context, type turns past
                # the interview's own RPCs, and receive every session event: off. What
                # the page gets is docs/CONTRACTS.md's topics and RPCs.
                await self.session.start(
                    agent=self.agent, room=room, room_options=room_options, session_host=False
                )
            self.driver.start()

    async def wait_for_greeting(self, limit_s: float) -> None:
        """Until the interviewer's opening words have been delivered."""
        if isinstance(self.agent, Interviewer):
            await self.agent.wait_for_greeting(limit_s)

    async def finish(
        self, assessor: Assessor | None = None
    ) -> tuple[InterviewRecord, FeedbackRecord]:
        """Save the interview (and the model's assessment, with an assessor), then stop
        driving the session. Returns the rows as last saved."""
        try:
            return await self.saver.finalize(assessor)
        finally:
            if assessor is not None:
                await assessor.aclose()
            await self.driver.aclose()

    async def aclose(self) -> None:
        await self.driver.aclose()
        await self.session.aclose()
        await self.close_plugins()

    async def close_plugins(self) -> None:
        """Close the plugins' own connections (pooled WebSockets of a streaming voice or
        speech-to-text), which LiveKit's session leaves open: the provider sees the
        session end rather than a socket left idle until the process exits."""
        p = self.providers
        serving = [x for x in (p.stt, p.tts, p.llm) if x is not None]
        for plugin in [*serving, *(x for x in p.plugins if all(x is not y for y in serving))]:
            try:
                await asyncio.wait_for(plugin.aclose(), PLUGIN_CLOSE_S)
            except Exception as e:  # closing is best effort: the interview is saved
                logger.warning("closing %s failed: %s", type(plugin).__name__, type(e).__name__)
