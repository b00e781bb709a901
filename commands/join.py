"""``python -m agent join --user-id U --room R``: interview in one room of the user's own
LiveKit project, with the LiveKit URL/key/secret opened from their ``user_api_keys``
(the worker that serves it: ``agent/user_project.py``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid

from agent.config import ConfigError, Settings, keyring_for, load_settings, store_for
from agent.log import register_secret
from byok.user_keys import KeyLoadError, LiveKitCredentials, load_user_keys
from persistence.supabase_store import SupabaseStore


def join_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent join")
    parser.add_argument("--user-id", required=True)
    parser.add_argument("--room", required=True)
    args = parser.parse_args(argv)
    try:
        user_id = str(uuid.UUID(args.user_id))
    except ValueError:
        print("error: --user-id must be a UUID", file=sys.stderr)
        return 2
    try:
        settings = load_settings()
        lk = _user_livekit(settings, user_id)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyLoadError as e:
        print(f"error: {e} ({e.code})", file=sys.stderr)
        return 1
    from agent.user_project import serve_room

    serve_room(settings, lk, args.room, user_id)
    return 0


def _user_livekit(settings: Settings, user_id: str) -> LiveKitCredentials:
    """The user's own LiveKit project, opened from their ``user_api_keys`` row."""
    store = store_for(settings)
    if not isinstance(store, SupabaseStore):
        raise ConfigError("join needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY")
    ring = keyring_for(settings)

    async def load() -> LiveKitCredentials | None:
        try:
            keys = await load_user_keys(store, ring, user_id, on_open=register_secret)
        finally:
            await store.aclose()
        return keys.livekit

    lk = asyncio.run(load())
    if lk is None:
        # the three are needed together (a LiveKit project's URL, API key and secret)
        raise KeyLoadError(
            "missing_key", "the user's keys lack: livekit_url, livekit_key, livekit_secret"
        )
    return lk
