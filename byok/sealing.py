"""BYOK: sealing each user's provider keys for ``user_api_keys`` (spec: docs/BYOK.md).

* Master keys come only from the environment: ``BYOK_MASTER_KEYS`` is a comma-separated
  list of ``key_id:base64(32 bytes)``; the first one seals, all of them open (rotation).
* Each row has its own random ``encryption_salt``. The data key for one user is
  HKDF-SHA256(master key, salt = UTF-8 bytes of ``encryption_salt``,
  info = ``"interview-agent/byok/v1|" + user_id``), 32 bytes.
* The secret is sealed with AES-256-GCM, a random 96-bit nonce, and associated data
  ``"v1|" + key_id + "|" + user_id + "|" + field`` (``field`` is the column name), so a
  ciphertext copied to another user, another column or another key id does not open.
* Text format: ``v1.<key_id>.<base64url(nonce || ciphertext || tag), no padding>``.

Legacy values (read only): apps built from the seed schema sealed each key with Fernet
under one app-wide key and wrote a constant ``encryption_salt``. With that key in
``LEGACY_FERNET_KEY`` (comma-separated: the first is the newest) such values open; nothing
ever seals one, and ``python -m agent keys rotate`` re-seals them in the format above.

Every failure to open (wrong key, wrong user, wrong column, unknown key id, malformed or
tampered text) raises the one :class:`SecretDecryptionError`, whose message never
contains key material or the ciphertext.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT_VERSION = "v1"
NONCE_BYTES = 12
KEY_BYTES = 32
SALT_BYTES = 16
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_FERNET_VERSION = 0x80
_FERNET_OVERHEAD = 1 + 8 + 16 + 32  # version, timestamp, IV, HMAC


class SecretDecryptionError(Exception):
    """A sealed secret could not be opened. The message says why in general terms only."""


class MasterKeyError(ValueError):
    """``BYOK_MASTER_KEYS`` is missing or malformed (the message never shows a key)."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_legacy(ciphertext: str) -> bool:
    """Whether ``ciphertext`` is a Fernet token (the legacy scheme), by its shape: URL-safe
    base64 of version byte 0x80, timestamp, IV, whole AES blocks and an HMAC."""
    if ciphertext.startswith(f"{FORMAT_VERSION}."):
        return False
    try:
        raw = base64.urlsafe_b64decode(ciphertext.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False
    body = len(raw) - _FERNET_OVERHEAD
    return bool(raw) and raw[0] == _FERNET_VERSION and body > 0 and body % 16 == 0


def parse_legacy(spec: str | None) -> MultiFernet | None:
    """``LEGACY_FERNET_KEY``: one Fernet key or a comma-separated list (newest first)."""
    if not spec or not spec.strip():
        return None
    fernets = []
    for n, part in enumerate(p.strip() for p in spec.split(",")):
        try:
            fernets.append(Fernet(part.encode("ascii")))
        except (ValueError, binascii.Error, UnicodeEncodeError):
            raise MasterKeyError(
                f"LEGACY_FERNET_KEY entry {n + 1}: not a Fernet key (URL-safe base64 of 32 bytes)"
            ) from None
    return MultiFernet(fernets)


def new_salt() -> str:
    """A fresh random ``encryption_salt`` for a new row (base64 of 16 random bytes)."""
    return base64.b64encode(os.urandom(SALT_BYTES)).decode("ascii")


@dataclass(frozen=True, slots=True, repr=False)
class Keyring:
    """Master keys by id; ``primary`` seals; ``legacy`` only opens Fernet values. ``repr``
    shows ids only."""

    keys: dict[str, bytes]
    primary: str
    legacy: MultiFernet | None = None

    def __repr__(self) -> str:
        legacy = ", legacy" if self.legacy is not None else ""
        return f"Keyring(primary={self.primary!r}, ids={sorted(self.keys)}{legacy})"

    @classmethod
    def parse(cls, spec: str | None, legacy: str | None = None) -> Keyring:
        """From ``BYOK_MASTER_KEYS`` and, optionally, ``LEGACY_FERNET_KEY``."""
        fernet = parse_legacy(legacy)
        if not spec or not spec.strip():
            raise MasterKeyError("BYOK_MASTER_KEYS is not set")
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for n, part in enumerate(p.strip() for p in spec.split(",")):
            key_id, sep, encoded = part.partition(":")
            if not sep or not _KEY_ID.fullmatch(key_id):
                raise MasterKeyError(f"BYOK_MASTER_KEYS entry {n + 1}: expected key_id:base64")
            try:
                raw = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise MasterKeyError(f"BYOK_MASTER_KEYS key {key_id!r}: not base64") from None
            if len(raw) != KEY_BYTES:
                raise MasterKeyError(f"BYOK_MASTER_KEYS key {key_id!r}: must be 32 bytes")
            if key_id in keys:
                raise MasterKeyError(f"BYOK_MASTER_KEYS key {key_id!r}: listed twice")
            keys[key_id] = raw
            order.append(key_id)
        return cls(keys=keys, primary=order[0], legacy=fernet)

    # ------------------------------------------------------------ primitives

    def _data_key(self, key_id: str, salt: str, user_id: str) -> bytes:
        hkdf = HKDF(
            algorithm=hashes.SHA256(),
            length=KEY_BYTES,
            salt=salt.encode("utf-8"),
            info=f"interview-agent/byok/{FORMAT_VERSION}|{user_id}".encode(),
        )
        return hkdf.derive(self.keys[key_id])

    @staticmethod
    def _aad(key_id: str, user_id: str, field: str) -> bytes:
        return f"{FORMAT_VERSION}|{key_id}|{user_id}|{field}".encode()

    def seal(
        self,
        plaintext: str,
        *,
        user_id: str,
        field: str,
        salt: str,
        key_id: str | None = None,
        nonce: bytes | None = None,
    ) -> str:
        """Seal under ``key_id`` (default: the primary). ``nonce`` only for test vectors."""
        if not salt:
            raise ValueError("encryption_salt must not be empty")
        kid = key_id or self.primary
        nonce = nonce if nonce is not None else os.urandom(NONCE_BYTES)
        if len(nonce) != NONCE_BYTES:
            raise ValueError("nonce must be 12 bytes")
        box = AESGCM(self._data_key(kid, salt, user_id)).encrypt(
            nonce, plaintext.encode("utf-8"), self._aad(kid, user_id, field)
        )
        return f"{FORMAT_VERSION}.{kid}.{_b64url(nonce + box)}"

    def is_current(self, ciphertext: str) -> bool:
        """Sealed under the primary key in the current format (nothing to re-seal)."""
        return not is_legacy(ciphertext) and self.key_id_of(ciphertext) == self.primary

    def key_id_of(self, ciphertext: str) -> str:
        parts = ciphertext.split(".")
        if len(parts) != 3 or parts[0] != FORMAT_VERSION or not _KEY_ID.fullmatch(parts[1]):
            raise SecretDecryptionError("malformed sealed secret (unknown format)")
        return parts[1]

    def open(self, ciphertext: str, *, user_id: str, field: str, salt: str) -> str:
        if is_legacy(ciphertext):
            return self._open_legacy(ciphertext)
        key_id = self.key_id_of(ciphertext)
        if key_id not in self.keys:
            raise SecretDecryptionError(f"sealed with an unknown master key id {key_id!r}")
        try:
            blob = _unb64url(ciphertext.split(".")[2])
        except (binascii.Error, ValueError):
            raise SecretDecryptionError("malformed sealed secret (bad encoding)") from None
        if len(blob) < NONCE_BYTES + 16:
            raise SecretDecryptionError("malformed sealed secret (too short)")
        try:
            plain = AESGCM(self._data_key(key_id, salt, user_id)).decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], self._aad(key_id, user_id, field)
            )
        except InvalidTag:
            raise SecretDecryptionError(
                "sealed secret does not open: wrong key, user, column or salt, or tampered"
            ) from None
        try:
            return plain.decode("utf-8")
        except UnicodeDecodeError:
            raise SecretDecryptionError("sealed secret is not UTF-8 text") from None

    def _open_legacy(self, ciphertext: str) -> str:
        """A Fernet value: bound to no user or column (the reason to re-seal it)."""
        if self.legacy is None:
            raise SecretDecryptionError(
                "sealed with the legacy Fernet scheme: set LEGACY_FERNET_KEY to open it"
            )
        try:
            plain = self.legacy.decrypt(ciphertext.encode("ascii"))
        except InvalidToken:
            raise SecretDecryptionError(
                "legacy Fernet value does not open under LEGACY_FERNET_KEY (wrong key or tampered)"
            ) from None
        try:
            return plain.decode("utf-8")
        except UnicodeDecodeError:
            raise SecretDecryptionError("sealed secret is not UTF-8 text") from None


# ------------------------------------------ the documented API (docs/CONTRACTS.md)

_keyring: Keyring | None = None


def keyring() -> Keyring:
    """The process's keyring, from ``BYOK_MASTER_KEYS`` and ``LEGACY_FERNET_KEY`` (parsed
    once)."""
    global _keyring
    if _keyring is None:
        _keyring = Keyring.parse(
            os.environ.get("BYOK_MASTER_KEYS"), os.environ.get("LEGACY_FERNET_KEY")
        )
    return _keyring


def encrypt_secret(plaintext: str, *, user_id: str, field: str, salt: str) -> str:
    return keyring().seal(plaintext, user_id=user_id, field=field, salt=salt)


def decrypt_secret(ciphertext: str, *, user_id: str, field: str, salt: str) -> str:
    return keyring().open(ciphertext, user_id=user_id, field=field, salt=salt)
