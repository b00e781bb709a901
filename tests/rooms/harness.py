"""Real rooms for tests: the worker as users start it, and a candidate on the real-time SDK.

* :class:`WorkerProcess` runs ``python -m agent start`` as a subprocess registered with a
  local LiveKit server, with the local OpenAI- and Deepgram-compatible servers as its
  providers and the real PostgreSQL + PostgREST stack as its store; its JSON log lines
  are kept for assertions.
* :class:`Candidate` joins a room with a token, publishes a microphone track that carries
  silence in real time and espeak-ng speech when asked, subscribes to what the agent
  publishes (noting when its audio is not silent), collects ``interview.state`` messages
  and calls the agent's RPC methods.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from livekit import api, rtc

from byok.sealing import Keyring, new_salt
from persistence import KEY_COLUMNS, KEY_NAMES, KeyRow
from persistence.supabase_store import SupabaseStore

from ..fake_openai import last_user_text
from .servers import LiveKitServer, free_port

ROOM_TESTS = [
    pytest.mark.livekit,
    pytest.mark.stack,
    # in CI a missing espeak-ng is a failure (scripts/test-services installs it)
    pytest.mark.skipif(
        not shutil.which("espeak-ng") and os.environ.get("CI") != "true",
        reason="needs espeak-ng (Debian)",
    ),
]
"""The marks of every real-room test module."""

RATE = 48000
FRAME_S = 0.01
FRAME = int(RATE * FRAME_S)
LOUD_RMS = 200.0
"""A received frame louder than this is the agent speaking."""


# ---------------------------------------------------------------- the user and providers

MASTER = "rooms:" + base64.b64encode(bytes(range(7, 39))).decode()
OPENAI_KEY = "sk-test-rooms-openai-0123456789abcdef"
DEEPGRAM_KEY = "dg-test-rooms-0123456789abcdef"


def interviewer(body: dict[str, Any]) -> dict[str, Any]:
    """A plain interviewer: a greeting, then a follow-up question for every answer."""
    if body.get("response_format"):
        return {"status": 500}  # the assessment is not under test here
    if last_user_text(body) is None:
        return {"content": "Hello! Are you ready to begin?"}
    return {"content": "Thank you. Could you tell me more about that?"}


async def seal_keys(
    stack: Any, user_id: str, keys: tuple[str, ...] = ("openai", "deepgram")
) -> None:
    """Seal the user's provider keys (``keys``: which of them) into their row."""
    ring = Keyring.parse(MASTER)
    row = KeyRow(user_id=user_id, encryption_salt=new_salt(), sealed=dict.fromkeys(KEY_COLUMNS))
    values = {"openai": OPENAI_KEY, "deepgram": DEEPGRAM_KEY}
    for column, value in ((KEY_NAMES[name], values[name]) for name in keys):
        row.sealed[column] = ring.seal(
            value, user_id=user_id, field=column, salt=row.encryption_salt
        )
    store = SupabaseStore(stack.url, stack.service_key)
    try:
        await store.save_key_row(row)
    finally:
        await store.aclose()


# ---------------------------------------------------------------- speech


def speech(text: str, work: Path, rate: int = RATE) -> np.ndarray:
    """``text`` spoken by espeak-ng, as 16-bit mono samples at ``rate`` (48 kHz)."""
    path = work / f"say-{uuid.uuid4().hex[:8]}.wav"
    subprocess.run(["espeak-ng", "-s", "170", "-w", str(path), text], check=True)
    with wave.open(str(path)) as w:
        from_rate, to_rate = w.getframerate(), rate
        raw = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64)
    n = int(len(raw) * to_rate / from_rate)
    resampled = np.interp(np.arange(n) * from_rate / to_rate, np.arange(len(raw)), raw)
    return resampled.astype(np.int16)


def trimmed(samples: np.ndarray, rate: int) -> np.ndarray:
    """The voice alone (espeak-ng pads its speech with silence)."""
    from bench.turn_taking import voiced

    lead, trail = voiced(samples, rate)
    return samples[int(lead * rate) : len(samples) - int(trail * rate)]


def frames(samples: np.ndarray, rate: int) -> list[rtc.AudioFrame]:
    """``samples`` as 10 ms frames, the last one padded with silence."""
    size = rate // 100
    pad = (-len(samples)) % size
    samples = np.concatenate([samples, np.zeros(pad, dtype=np.int16)])
    return [
        rtc.AudioFrame(samples[i : i + size].tobytes(), rate, 1, size)
        for i in range(0, len(samples), size)
    ]


# ---------------------------------------------------------------- the worker


class WorkerProcess:
    """``python -m agent start``, registered with ``server`` under ``agent_name``."""

    def __init__(self, server: LiveKitServer, agent_name: str, env: dict[str, str]) -> None:
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OPENAI", "DEEPGRAM", "SUPABASE", "LIVEKIT", "BYOK", "INTERVIEW"))
        }
        base.update(
            LIVEKIT_URL=server.url,
            LIVEKIT_API_KEY=server.api_key,
            LIVEKIT_API_SECRET=server.api_secret,
            AGENT_NAME=agent_name,
            HEALTH_PORT=str(free_port()),
        )
        base.update(env)
        self.agent_name = agent_name
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "start"],
            env=base, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def records(self) -> list[dict[str, Any]]:
        out = []
        for line in list(self.lines):
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict):
                    out.append(record)
        return out

    def messages(self) -> list[str]:
        return [str(r.get("message", "")) for r in self.records()]

    async def wait_for(self, message: str, limit_s: float = 60.0, count: int = 1) -> None:
        deadline = time.monotonic() + limit_s
        while sum(message in m for m in self.messages()) < count:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited ({self.proc.returncode}):\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"worker never logged {message!r}:\n{self.tail()}")
            await asyncio.sleep(0.1)

    def blocked(self) -> list[str]:
        """LiveKit's "event loop blocked" warnings from the job processes."""
        return [m for m in self.messages() if m.startswith("event loop blocked")]

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.lines[-n:])

    def job_pid(self, room: str) -> int | None:
        """The process running the job of ``room`` (its log records carry the room)."""
        for r in self.records():
            if r.get("room") == room and r.get("pid") and int(r["pid"]) != self.proc.pid:
                return int(r["pid"])
        return None

    async def wait_for_job(self, room: str, limit_s: float = 30.0) -> int:
        """The pid of the process running this worker's job for ``room`` (its job
        processes' log lines reach the worker's output with some delay)."""
        deadline = time.monotonic() + limit_s
        while (pid := self.job_pid(room)) is None:
            assert time.monotonic() < deadline, f"no job for {room} in this worker"
            await asyncio.sleep(0.1)
        return pid

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, limit_s: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(limit_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._reader.join(5)
        return self.proc.returncode


# ---------------------------------------------------------------- dispatch


def token(
    server: LiveKitServer,
    room: str,
    identity: str,
    *,
    attributes: dict[str, str] | None = None,
    dispatch: api.RoomAgentDispatch | None = None,
    room_metadata: str = "",
) -> str:
    t = (
        api.AccessToken(server.api_key, server.api_secret)
        .with_identity(identity)
        .with_name(identity)
        .with_grants(api.VideoGrants(room_join=True, room=room))
    )
    if attributes:
        t = t.with_attributes(attributes)
    if dispatch is not None:
        t = t.with_room_config(api.RoomConfiguration(agents=[dispatch], metadata=room_metadata))
    return t.to_jwt()


async def dispatch(server: LiveKitServer, room: str, agent_name: str, metadata: dict) -> None:
    """The web app's server-side dispatch, through the server API."""
    async with api.LiveKitAPI(server.http_url, server.api_key, server.api_secret) as lk:
        await lk.room.create_room(api.CreateRoomRequest(name=room))
        await lk.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(
                agent_name=agent_name, room=room, metadata=json.dumps(metadata)
            )
        )


# ---------------------------------------------------------------- the candidate


@dataclass
class Heard:
    """The agent's audio as the candidate received it: when it was not silent."""

    loud: list[float] = field(default_factory=list)
    frames: int = 0

    def first_after(self, t: float) -> float | None:
        return next((x for x in self.loud if x >= t), None)


class Candidate:
    def __init__(self, server: LiveKitServer, room: str, identity: str = "candidate") -> None:
        self.server = server
        self.room_name = room
        self.identity = identity
        self.room = rtc.Room()
        self.states: list[dict[str, Any]] = []
        self.heard = Heard()
        self._queue: list[np.ndarray] = []
        self._spoken = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.spoke_until: list[float] = []
        """When each utterance's last sample was handed to the microphone."""
        self.agents_seen = 0
        self.subscribed: set[str] = set()
        """The names of this client's tracks another participant subscribed to."""
        self.room.on("participant_connected", self._on_participant)
        self.room.on("local_track_subscribed", lambda track: self.subscribed.add(track.name))
        self.room.on("data_received", self._on_data)
        self.room.on("track_subscribed", self._on_track)

    # ------------------------------------------------------------ connection

    async def join(self, jwt: str) -> None:
        await self.room.connect(self.server.url, jwt)
        self.source = rtc.AudioSource(RATE, 1, queue_size_ms=100)
        track = rtc.LocalAudioTrack.create_audio_track("microphone", self.source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await self.room.local_participant.publish_track(track, options)
        self._spawn(self._microphone())

    async def publish_camera_and_screen_sound(self) -> None:
        """What a page that shows the candidate's video may publish besides the
        microphone: a live camera (320x240, 10 frames a second) and a screen share's
        sound. The interviewer needs neither."""
        local = self.room.local_participant
        camera = rtc.VideoSource(320, 240)
        await local.publish_track(
            rtc.LocalVideoTrack.create_video_track("camera", camera),
            rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA),
        )
        share = rtc.AudioSource(RATE, 1, queue_size_ms=100)
        await local.publish_track(
            rtc.LocalAudioTrack.create_audio_track("screen-sound", share),
            rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_SCREENSHARE_AUDIO),
        )
        self._spawn(self._camera(camera))

    async def _camera(self, camera: rtc.VideoSource) -> None:
        gray = bytes([128, 128, 128, 255]) * (320 * 240)
        while True:
            camera.capture_frame(rtc.VideoFrame(320, 240, rtc.VideoBufferType.RGBA, gray))
            await asyncio.sleep(0.1)

    async def leave(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.room.disconnect()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------ the agent

    def agent(self) -> rtc.RemoteParticipant | None:
        for p in self.room.remote_participants.values():
            if p.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
                return p
        return None

    async def wait_for_agent(self, limit_s: float = 60.0) -> rtc.RemoteParticipant:
        deadline = time.monotonic() + limit_s
        while (p := self.agent()) is None or not p.attributes.get("interview.id"):
            assert time.monotonic() < deadline, "the agent never joined the room"
            await asyncio.sleep(0.05)
        return p

    async def greeted(self) -> str:
        """Until the interviewer has joined and finished its greeting; its interview id."""
        agent = await self.wait_for_agent()
        await self.wait_until_heard(0.0)
        await self.wait_until_quiet()
        return agent.attributes["interview.id"]

    async def rpc(self, method: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        agent = await self.wait_for_agent()
        reply = await self.room.local_participant.perform_rpc(
            destination_identity=agent.identity,
            method=method,
            payload=json.dumps(payload or {}),
            response_timeout=10.0,
        )
        return json.loads(reply)

    def _on_participant(self, participant: rtc.RemoteParticipant) -> None:
        if participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            self.agents_seen += 1

    def _on_data(self, packet: rtc.DataPacket) -> None:
        if packet.topic == "interview.state":
            with contextlib.suppress(ValueError):
                self.states.append(json.loads(packet.data))

    def _on_track(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO:
            self._spawn(self._listen(track))

    async def _listen(self, track: rtc.Track) -> None:
        stream = rtc.AudioStream(track, sample_rate=RATE, num_channels=1)
        async for event in stream:
            samples = np.frombuffer(event.frame.data, dtype=np.int16).astype(np.float64)
            self.heard.frames += 1
            if samples.size and float(np.sqrt(np.mean(samples**2))) > LOUD_RMS:
                self.heard.loud.append(time.monotonic())

    async def wait_until_heard(self, after: float, limit_s: float = 30.0) -> float:
        """When the agent's next speech (after ``after``) reached this client."""
        deadline = time.monotonic() + limit_s
        while (t := self.heard.first_after(after)) is None:
            assert time.monotonic() < deadline, "no agent speech reached the candidate"
            await asyncio.sleep(0.02)
        return t

    async def wait_until_quiet(self, quiet_s: float = 0.8, limit_s: float = 30.0) -> None:
        """Until the agent has been silent for ``quiet_s``."""
        deadline = time.monotonic() + limit_s
        while True:
            last = self.heard.loud[-1] if self.heard.loud else 0.0
            if time.monotonic() - last >= quiet_s:
                return
            assert time.monotonic() < deadline, "the agent never stopped speaking"
            await asyncio.sleep(0.05)

    async def wait_for_state(self, predicate: Any, limit_s: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + limit_s
        while True:
            for state in self.states:
                if predicate(state):
                    return state
            assert time.monotonic() < deadline, f"no such state message; got {self.states[-3:]}"
            await asyncio.sleep(0.05)

    # ------------------------------------------------------------ the microphone

    async def say(self, samples: np.ndarray, *, wait: bool = True) -> float:
        """Speak; returns when the last sample was handed to the microphone."""
        self._spoken.clear()
        self._queue.extend(samples[i : i + FRAME] for i in range(0, len(samples), FRAME))
        if wait:
            await self._spoken.wait()
            return self.spoke_until[-1]
        return time.monotonic()

    async def _microphone(self) -> None:
        silence = np.zeros(FRAME, dtype=np.int16)
        loop = asyncio.get_running_loop()
        next_t = loop.time()
        while True:
            if self._queue:
                chunk = self._queue.pop(0)
                if not self._queue:
                    self.spoke_until.append(time.monotonic())
                    self._spoken.set()
            else:
                chunk = silence
            if len(chunk) < FRAME:
                chunk = np.concatenate([chunk, silence[: FRAME - len(chunk)]])
            frame = rtc.AudioFrame(chunk.tobytes(), RATE, 1, FRAME)
            await self.source.capture_frame(frame)
            next_t += FRAME_S
            await asyncio.sleep(max(0.0, next_t - loop.time()))
