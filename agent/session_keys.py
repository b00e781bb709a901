"""Load and open one user's keys for one session (dispatch mode with Supabase)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from persistence import KEY_NAMES, InterviewStore, StoreError

from .byok import Keyring, SecretDecryptionError, is_legacy
from .log import register_secret
from .providers import ProviderKeys

logger = logging.getLogger("interview.keys")

REQUIRED = ("openai_key_encrypted", "deepgram_key_encrypted")


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

    def __repr__(self) -> str:
        return f"SessionKeys({self.providers!r}, livekit={self.livekit is not None})"


async def load_user_keys(
    store: InterviewStore,
    keyring: Keyring,
    user_id: str,
    *,
    required: tuple[str, ...] = REQUIRED,
) -> SessionKeys:
    try:
        row = await store.load_key_row(user_id)
    except StoreError as e:
        raise KeyLoadError("keys_unavailable", f"could not read the user's keys: {e}") from None
    if row is None:
        raise KeyLoadError("no_keys", "the user has no saved API keys")
    missing = [c for c in required if not row.sealed.get(c)]
    if missing:
        short = {column: name for name, column in KEY_NAMES.items()}
        names = ", ".join(short[c] for c in missing)
        raise KeyLoadError("missing_key", f"the user's keys lack: {names}")
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
        register_secret(opened[column])
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
        providers=ProviderKeys(
            openai=opened.get("openai_key_encrypted"),
            deepgram=opened.get("deepgram_key_encrypted"),
        ),
        livekit=livekit,
    )
