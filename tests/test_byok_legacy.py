"""Legacy keys: values an earlier app sealed with Fernet under one app-wide key (and the
constant salt 'salt_v1') open with LEGACY_FERNET_KEY, are never written, and re-seal into
the current format with a fresh salt."""

from __future__ import annotations

import base64
import logging
import os

import pytest
from cryptography.fernet import Fernet

from byok.sealing import Keyring, MasterKeyError, SecretDecryptionError, is_legacy, new_salt
from byok.user_keys import load_user_keys
from commands.keys import _reseal
from persistence import KEY_COLUMNS, KeyRow

USER = "6f1c2a52-8a0e-4a3f-9d3b-0d7a3a1e9b11"
OPENAI = "sk-test-legacy-openai-0123456789abcdef"
DEEPGRAM = "dg-test-legacy-deepgram-0123456789"
LEGACY_KEY = Fernet.generate_key().decode()
MASTER = "k1:" + base64.b64encode(os.urandom(32)).decode()


def ring(legacy: str | None = LEGACY_KEY) -> Keyring:
    return Keyring.parse(MASTER, legacy)


def legacy_row(openai_sealed: str | None = None) -> KeyRow:
    """A row as the seed app wrote it: Fernet values and the literal 'salt_v1'."""
    f = Fernet(LEGACY_KEY.encode())
    sealed = dict.fromkeys(KEY_COLUMNS)
    sealed["openai_key_encrypted"] = openai_sealed or f.encrypt(OPENAI.encode()).decode()
    sealed["deepgram_key_encrypted"] = f.encrypt(DEEPGRAM.encode()).decode()
    return KeyRow(user_id=USER, encryption_salt="salt_v1", sealed=sealed)


def test_a_legacy_value_opens_with_the_legacy_key_only():
    row = legacy_row()
    value = row.sealed["openai_key_encrypted"]
    assert value and is_legacy(value)
    assert ring().open(value, user_id=USER, field="openai_key_encrypted", salt="salt_v1") == OPENAI
    with pytest.raises(SecretDecryptionError, match="set LEGACY_FERNET_KEY") as err:
        ring(None).open(value, user_id=USER, field="openai_key_encrypted", salt="salt_v1")
    wrong = ring(Fernet.generate_key().decode())
    with pytest.raises(SecretDecryptionError, match="does not open under LEGACY_FERNET_KEY"):
        wrong.open(value, user_id=USER, field="openai_key_encrypted", salt="salt_v1")
    tampered = value[:-8] + ("A" if value[-8] != "A" else "B") + value[-7:]
    with pytest.raises(SecretDecryptionError):
        ring().open(tampered, user_id=USER, field="openai_key_encrypted", salt="salt_v1")
    assert value not in str(err.value) and LEGACY_KEY not in str(err.value)


def test_sealing_never_writes_the_legacy_scheme_and_shapes_are_told_apart():
    sealed = ring().seal(OPENAI, user_id=USER, field="openai_key_encrypted", salt=new_salt())
    assert sealed.startswith("v1.k1.") and not is_legacy(sealed)
    for other in ("", "gAAAAA", "not a token", "sk-proj-plaintext", "v1.k1.AAAA", "gAAAAA===="):
        assert not is_legacy(other)


def test_a_malformed_legacy_key_is_a_clear_error_that_hides_it():
    for bad in ("not-a-key", LEGACY_KEY[:-4], f"{LEGACY_KEY},short"):
        with pytest.raises(MasterKeyError, match="LEGACY_FERNET_KEY entry") as err:
            Keyring.parse(MASTER, bad)
        assert LEGACY_KEY not in str(err.value)
    assert "legacy" in repr(ring()) and LEGACY_KEY not in repr(ring())
    older, newer = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    value = Fernet(older.encode()).encrypt(b"sk-old").decode()
    both = Keyring.parse(MASTER, f"{newer},{older}")
    assert both.open(value, user_id=USER, field="openai_key_encrypted", salt="x") == "sk-old"


def test_rotating_a_mixed_row_reseals_everything_under_a_fresh_salt():
    r = ring()
    row = legacy_row(
        r.seal(OPENAI, user_id=USER, field="openai_key_encrypted", salt="salt_v1")
    )  # one current value under the constant salt, one legacy value
    assert _reseal(r, row)
    assert row.encryption_salt != "salt_v1"
    for column, plain in (("openai_key_encrypted", OPENAI), ("deepgram_key_encrypted", DEEPGRAM)):
        value = row.sealed[column]
        assert value and value.startswith("v1.k1.") and not is_legacy(value)
        assert r.open(value, user_id=USER, field=column, salt=row.encryption_salt) == plain
    assert not _reseal(r, row)  # re-runnable: nothing left to do


def test_a_wrong_legacy_key_leaves_the_row_untouched():
    row = legacy_row()
    before = (row.encryption_salt, dict(row.sealed))
    with pytest.raises(SecretDecryptionError):
        _reseal(ring(Fernet.generate_key().decode()), row)
    assert (row.encryption_salt, row.sealed) == before


class OneRow:
    def __init__(self, row: KeyRow) -> None:
        self.row = row

    async def load_key_row(self, user_id: str) -> KeyRow | None:
        return self.row if user_id == self.row.user_id else None


async def test_a_session_opens_legacy_keys_and_says_so_once(caplog):
    with caplog.at_level(logging.WARNING, logger="interview.keys"):
        keys = await load_user_keys(OneRow(legacy_row()), ring(), USER)  # type: ignore[arg-type]
    assert (keys.providers["openai"], keys.providers["deepgram"]) == (OPENAI, DEEPGRAM)
    said = [r.getMessage() for r in caplog.records if "legacy Fernet" in r.getMessage()]
    assert len(said) == 1 and "deepgram_key_encrypted, openai_key_encrypted" in said[0]
    assert OPENAI not in caplog.text and LEGACY_KEY not in caplog.text
