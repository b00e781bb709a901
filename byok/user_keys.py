"""Load and open one user's keys for one session (dispatch mode with Supabase).

Each opened value is handed to the caller's ``on_open`` (the worker registers it for
redaction from its logs, ``agent/log.py``): this package knows no logging set-up."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from persistence import InterviewStore, StoreError
from providers import CATALOG, Catalog, ProviderKeys, choose, voice_requirement

from .sealing import Keyring, SecretDecryptionError, is_legacy

logger = logging.getLogger("interview.keys")


class KeyLoadError(Exception):
    """The session cannot get its keys. ``code`` goes to the client; no secret anywhere."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True, repr=False)
class LiveKitCredentials:
    url: str
    api_key: str
    api_secret: str

    def __repr__(self) -> str:
        return f"LiveKitCredentials(url={self.url!r})"


@dataclass(frozen=True, slots=True, repr=False)
class SessionKeys:
    providers: ProviderKeys
    livekit: LiveKitCredentials | None
    preference: Any = None
    """The user's saved order of providers (their row's ``provider_preference``), as read."""
    max_cost_usd: Any = None
    """The user's own spending cap per interview (their row's ``max_cost_usd``), as read."""

    def __repr__(self) -> str:
        return f"SessionKeys({self.providers!r}, livekit={self.livekit is not None})"


async def load_user_keys(
    store: InterviewStore,
    keyring: Keyring,
    user_id: str,
    *,
    catalog: Catalog = CATALOG,
    on_open: Callable[[str], None] | None = None,
) -> SessionKeys:
    """The user's keys, opened. A voice interview needs a speech-to-text key and a voice
    key of the catalog (the model's key is optional: without it the offline interviewer
    asks); a row without them is refused with ``missing_key``, naming what is needed."""
    try:
        row = await store.load_key_row(user_id)
    except StoreError as e:
        raise KeyLoadError("keys_unavailable", f"could not read the user's keys: {e}") from None
    if row is None:
        raise KeyLoadError("no_keys", "the user has no saved API keys")
    saved = {k.name for k in catalog.keys if row.sealed.get(k.column)}
    if not choose(saved, catalog=catalog).voice:
        have = ", ".join(sorted(saved)) or "none"
        raise KeyLoadError(
            "missing_key",
            f"a voice interview needs {voice_requirement(catalog)}; the user's keys: {have}",
        )
    opened: dict[str, str] = {}
    for column, sealed in row.sealed.items():
        if not sealed:
            continue
        try:
            opened[column] = keyring.open(
                sealed, user_id=user_id, field=column, salt=row.encryption_salt
            )
        except SecretDecryptionError as e:
            raise KeyLoadError("key_decrypt_failed", f"{column}: {e}") from None
        if on_open is not None:
            on_open(opened[column])
    legacy = sorted(c for c, v in row.sealed.items() if v and is_legacy(v))
    if legacy:
        logger.warning(
            "user %s: keys sealed with the legacy Fernet scheme (%s); "
            "`python -m agent keys rotate` re-seals them",
            user_id,
            ", ".join(legacy),
        )
    livekit = None
    if all(opened.get(c) for c in ("livekit_url_encrypted", "livekit_key_encrypted",
                                   "livekit_secret_encrypted")):  # fmt: skip
        livekit = LiveKitCredentials(
            url=opened["livekit_url_encrypted"],
            api_key=opened["livekit_key_encrypted"],
            api_secret=opened["livekit_secret_encrypted"],
        )
    return SessionKeys(
        providers=ProviderKeys({k.name: opened.get(k.column) for k in catalog.keys}),
        livekit=livekit,
        preference=row.preference,
        max_cost_usd=row.max_cost_usd,
    )
