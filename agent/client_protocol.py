"""The client protocol (docs/CONTRACTS.md): RPC methods in, state on a data topic out.

RPC methods on the agent participant:

* ``interview.skip_stage``: payload ``{"stage": id, "request_id": str}`` (both optional).
  Naming the stage makes a replayed or late request harmless: it only skips that stage
  while it is current.
* ``interview.end``: payload ``{"request_id": str}`` (optional). Ends at once.
* ``interview.pause``: payload ``{"request_id": str}`` (optional). Pauses the interview to
  continue it later (a new dispatch with ``resume_interview_id``).
* ``interview.state``: returns the current state.

Every call answers with the state as JSON plus ``"ok"`` and, when refused, ``"error"``.
Garbage payloads get a clear ``RpcError`` (1400, "bad_payload"); nothing raises past here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from livekit import rtc

from stages.machine import Effect, Rejected

from .runtime import InterviewRuntime

logger = logging.getLogger("interview.client")

STATE_TOPIC = "interview.state"
CUES_TOPIC = "interview.cues"
"""Each answer's delivery cues (pace, filler words, length against its limit)."""
RPC_SKIP = "interview.skip_stage"
RPC_END = "interview.end"
RPC_STATE = "interview.state"
RPC_PAUSE = "interview.pause"
MAX_PAYLOAD_CHARS = 4096
BAD_PAYLOAD = 1400


class RpcRegistrar(Protocol):
    def register_rpc_method(self, method_name: str, handler: Callable[..., Any]) -> Any: ...


class DataPublisher(Protocol):
    async def publish_data(
        self, payload: bytes | str, *, reliable: bool = True, topic: str = ""
    ) -> None: ...


def _payload(data: rtc.RpcInvocationData) -> dict[str, Any]:
    raw = data.payload or ""
    if len(raw) > MAX_PAYLOAD_CHARS:
        raise rtc.RpcError(BAD_PAYLOAD, "bad_payload", "payload too large")
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        raise rtc.RpcError(BAD_PAYLOAD, "bad_payload", "payload is not JSON") from None
    if not isinstance(value, dict):
        raise rtc.RpcError(BAD_PAYLOAD, "bad_payload", "payload must be a JSON object")
    for key in ("stage", "request_id"):
        if key in value and not isinstance(value[key], str):
            raise rtc.RpcError(BAD_PAYLOAD, "bad_payload", f"{key} must be a string")
    return value


class ClientProtocol:
    def __init__(self, runtime: InterviewRuntime, *, on_change: Callable[[], None]) -> None:
        self.runtime = runtime
        self._on_change = on_change

    def register(self, participant: RpcRegistrar) -> None:
        participant.register_rpc_method(RPC_SKIP, self.skip_stage)
        participant.register_rpc_method(RPC_END, self.end)
        participant.register_rpc_method(RPC_STATE, self.state)
        participant.register_rpc_method(RPC_PAUSE, self.pause)

    def _answer(self, effects: list[Effect]) -> str:
        refused = next((e for e in effects if isinstance(e, Rejected)), None)
        self._on_change()
        body: dict[str, Any] = {**self.runtime.state(), "ok": refused is None}
        if refused is not None:
            body["error"] = refused.reason
        return json.dumps(body)

    async def skip_stage(self, data: rtc.RpcInvocationData) -> str:
        p = _payload(data)
        logger.info("client skip request", extra={"stage": p.get("stage")})
        effects = self.runtime.client_skip(stage_id=p.get("stage"), request_id=p.get("request_id"))
        return self._answer(effects)

    async def end(self, data: rtc.RpcInvocationData) -> str:
        p = _payload(data)
        logger.info("client end request")
        return self._answer(self.runtime.client_end(request_id=p.get("request_id")))

    async def pause(self, data: rtc.RpcInvocationData) -> str:
        _payload(data)
        logger.info("client pause request")
        return self._answer(self.runtime.client_pause())

    async def state(self, data: rtc.RpcInvocationData) -> str:
        _payload(data)
        return self._answer([])


def state_publisher(participant: DataPublisher) -> Callable[[dict[str, Any]], Any]:
    async def publish(state: dict[str, Any]) -> None:
        await participant.publish_data(json.dumps(state), reliable=True, topic=STATE_TOPIC)

    return publish


def cues_publisher(participant: DataPublisher) -> Callable[[dict[str, Any]], Any]:
    async def publish(cues: dict[str, Any]) -> None:
        await participant.publish_data(json.dumps(cues), reliable=True, topic=CUES_TOPIC)

    return publish
