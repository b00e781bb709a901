"""BYOK: sealing each user's provider keys (docs/BYOK.md) and opening them for a session.

No LiveKit and no logging set-up: ``agent/`` registers opened keys for redaction.
"""

from .sealing import (
    Keyring,
    MasterKeyError,
    SecretDecryptionError,
    is_legacy,
    new_salt,
)
from .user_keys import KeyLoadError, LiveKitCredentials, SessionKeys, load_user_keys

__all__ = [
    "KeyLoadError",
    "Keyring",
    "LiveKitCredentials",
    "MasterKeyError",
    "SecretDecryptionError",
    "SessionKeys",
    "is_legacy",
    "load_user_keys",
    "new_salt",
]
