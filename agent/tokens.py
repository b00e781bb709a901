"""Participant tokens: one room, one identity, and (for a new interview) the dispatch of
this agent with its metadata in the room's configuration."""

from __future__ import annotations

from datetime import timedelta

from livekit import api


def make_token(
    *, api_key: str, api_secret: str, agent_name: str | None, room: str, identity: str,
    metadata: str, ttl: timedelta,
) -> str:  # fmt: skip
    """A token to join ``room`` (only that room) as ``identity`` that dispatches
    ``agent_name`` with ``metadata`` when the room is made (``None``: a token to rejoin,
    which dispatches nothing)."""
    token = (
        api.AccessToken(api_key, api_secret)
        .with_identity(identity)
        .with_name(identity)
        .with_ttl(ttl)
        .with_grants(api.VideoGrants(room_join=True, room=room))
    )
    if agent_name is not None:
        token = token.with_room_config(
            api.RoomConfiguration(
                agents=[api.RoomAgentDispatch(agent_name=agent_name, metadata=metadata)]
            )
        )
    return token.to_jwt()
