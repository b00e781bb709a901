"""What the worker subscribes to in a room: the microphones of the room's people, and
nothing else (agent.audio.hear_microphones). The real room's check, a candidate
publishing a camera and a screen's sound, is in tests/rooms/test_dispatch.py; here every
kind of participant and source, against stand-ins for LiveKit's room objects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from livekit import rtc

from agent.audio import hear_microphones

KIND = rtc.ParticipantKind
SOURCE = rtc.TrackSource


@dataclass
class Publication:
    source: int
    subscribed: bool = False
    requests: list[bool] = field(default_factory=list)

    def set_subscribed(self, subscribed: bool) -> None:
        self.requests.append(subscribed)
        self.subscribed = subscribed


@dataclass
class Participant:
    kind: int
    track_publications: dict[str, Publication] = field(default_factory=dict)


@dataclass
class Room:
    remote_participants: dict[str, Participant] = field(default_factory=dict)
    handlers: dict[str, list[Callable[..., Any]]] = field(default_factory=dict)

    def on(self, event: str, handler: Callable[..., Any]) -> None:
        self.handlers.setdefault(event, []).append(handler)

    def publish(self, participant: Participant, sid: str, publication: Publication) -> None:
        participant.track_publications[sid] = publication
        for handler in self.handlers.get("track_published", []):
            handler(publication, participant)


def test_only_the_microphones_of_people_are_subscribed_already_there_or_published_later() -> None:
    candidate = Participant(KIND.PARTICIPANT_KIND_STANDARD)
    phone = Participant(KIND.PARTICIPANT_KIND_SIP)
    other_agent = Participant(KIND.PARTICIPANT_KIND_AGENT)
    egress = Participant(KIND.PARTICIPANT_KIND_EGRESS)
    there = {
        "mic": Publication(SOURCE.SOURCE_MICROPHONE),
        "camera": Publication(SOURCE.SOURCE_CAMERA),
        "share": Publication(SOURCE.SOURCE_SCREENSHARE),
        "share-sound": Publication(SOURCE.SOURCE_SCREENSHARE_AUDIO),
    }
    candidate.track_publications.update(there)
    agent_mic = Publication(SOURCE.SOURCE_MICROPHONE)
    other_agent.track_publications["mic"] = agent_mic
    room = Room({"ada": candidate, "phone": phone, "agent": other_agent, "egress": egress})

    hear_microphones(room)  # type: ignore[arg-type]

    assert {sid: p.subscribed for sid, p in there.items()} == {
        "mic": True, "camera": False, "share": False, "share-sound": False,
    }  # fmt: skip
    assert not agent_mic.subscribed
    # published after joining: the same rule
    later = {
        "phone-mic": (phone, Publication(SOURCE.SOURCE_MICROPHONE)),
        "new-camera": (candidate, Publication(SOURCE.SOURCE_CAMERA)),
        "egress-mic": (egress, Publication(SOURCE.SOURCE_MICROPHONE)),
        "unknown": (candidate, Publication(SOURCE.SOURCE_UNKNOWN)),
    }
    for sid, (participant, publication) in later.items():
        room.publish(participant, sid, publication)
    assert {sid: p.subscribed for sid, (_, p) in later.items()} == {
        "phone-mic": True, "new-camera": False, "egress-mic": False, "unknown": False,
    }  # fmt: skip


def test_a_microphone_already_subscribed_is_not_asked_for_again() -> None:
    mic = Publication(SOURCE.SOURCE_MICROPHONE, subscribed=True)
    room = Room({"ada": Participant(KIND.PARTICIPANT_KIND_STANDARD, {"mic": mic})})
    hear_microphones(room)  # type: ignore[arg-type]
    assert mic.requests == []
