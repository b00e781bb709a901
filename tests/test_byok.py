"""BYOK sealing: round trips, every tamper case, rotation, published test vectors."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from byok.sealing import Keyring, MasterKeyError, SecretDecryptionError, new_salt

VECTORS = json.loads((Path(__file__).parent / "data" / "byok_vectors.json").read_text())
USER_A = "6f1c2a52-8a0e-4a3f-9d3b-0d7a3a1e9b11"
USER_B = "0b5e8a9e-1111-4c2d-8e3f-123456789abc"
SECRET = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"


def ring(*ids: str) -> Keyring:
    return Keyring.parse(",".join(f"{i}:{base64.b64encode(os.urandom(32)).decode()}" for i in ids))


@pytest.fixture(scope="module")
def keys() -> Keyring:
    return ring("k1", "k0")


def test_round_trip_and_random_nonce(keys):
    salt = new_salt()
    a = keys.seal(SECRET, user_id=USER_A, field="openai_key_encrypted", salt=salt)
    b = keys.seal(SECRET, user_id=USER_A, field="openai_key_encrypted", salt=salt)
    assert a != b and a.startswith("v1.k1.")
    assert SECRET not in a
    for ct in (a, b):
        assert keys.open(ct, user_id=USER_A, field="openai_key_encrypted", salt=salt) == SECRET


@pytest.mark.parametrize(
    "change",
    ["user", "field", "salt", "master", "key_id_swap", "truncated", "garbage", "empty", "version"],
)
def test_every_tamper_case_raises_the_one_error(keys, change):
    salt = new_salt()
    ct = keys.seal(SECRET, user_id=USER_A, field="openai_key_encrypted", salt=salt)
    args = {"user_id": USER_A, "field": "openai_key_encrypted", "salt": salt}
    opener = keys
    match change:
        case "user":
            args["user_id"] = USER_B
        case "field":
            args["field"] = "deepgram_key_encrypted"
        case "salt":
            args["salt"] = new_salt()
        case "master":
            opener = Keyring.parse(f"k1:{base64.b64encode(os.urandom(32)).decode()}")
        case "key_id_swap":
            ct = ct.replace("v1.k1.", "v1.k0.")
        case "truncated":
            ct = ct[:-5]
        case "garbage":
            ct = "v1.k1.!!!not-base64!!!"
        case "empty":
            ct = ""
        case "version":
            ct = ct.replace("v1.", "v2.", 1)
    with pytest.raises(SecretDecryptionError) as err:
        opener.open(ct, **args)
    assert SECRET not in str(err.value)
    assert len(ct) < 30 or ct[8:30] not in str(err.value)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_flipping_any_byte_is_detected(keys, data):
    salt = "fixed-salt"
    ct = keys.seal(SECRET, user_id=USER_A, field="openai_key_encrypted", salt=salt)
    i = data.draw(st.integers(0, len(ct) - 1))
    replacement = data.draw(st.sampled_from("AQgw_-.1xZ"))
    if ct[i] == replacement:
        return
    tampered = ct[:i] + replacement + ct[i + 1 :]
    with pytest.raises(SecretDecryptionError):
        keys.open(tampered, user_id=USER_A, field="openai_key_encrypted", salt=salt)


def test_unknown_key_id_is_named_without_material(keys):
    other = ring("k9")
    ct = other.seal(SECRET, user_id=USER_A, field="f", salt="s")
    with pytest.raises(SecretDecryptionError, match="unknown master key id 'k9'"):
        keys.open(ct, user_id=USER_A, field="f", salt="s")


def test_rotation_old_keys_still_open_new_seals_use_primary():
    old = ring("k0")
    ct_old = old.seal(SECRET, user_id=USER_A, field="f", salt="s")
    spec_old = f"k0:{base64.b64encode(old.keys['k0']).decode()}"
    new = Keyring.parse(f"k1:{base64.b64encode(os.urandom(32)).decode()},{spec_old}")
    assert new.open(ct_old, user_id=USER_A, field="f", salt="s") == SECRET
    resealed = new.seal(
        new.open(ct_old, user_id=USER_A, field="f", salt="s"), user_id=USER_A, field="f", salt="s"
    )
    assert new.key_id_of(resealed) == "k1"
    with pytest.raises(SecretDecryptionError):
        old.open(resealed, user_id=USER_A, field="f", salt="s")


@pytest.mark.parametrize(
    "spec",
    [None, "", "nokey", "k1:not base64!", "k1:" + base64.b64encode(b"short").decode(),
     "bad id!:" + base64.b64encode(bytes(32)).decode(),
     "k1:" + base64.b64encode(bytes(32)).decode() + ",k1:" + base64.b64encode(bytes(32)).decode()],
)  # fmt: skip
def test_bad_master_key_specs_are_config_errors(spec):
    with pytest.raises(MasterKeyError) as err:
        Keyring.parse(spec)
    assert str(err.value).startswith("BYOK_MASTER_KEYS")
    assert base64.b64encode(bytes(32)).decode() not in str(err.value)


def test_repr_shows_ids_only(keys):
    assert repr(keys) == "Keyring(primary='k1', ids=['k0', 'k1'])"


def test_published_vectors_open_and_reproduce():
    keys = Keyring.parse(VECTORS["byok_master_keys"])
    for v in VECTORS["vectors"]:
        args = {"user_id": v["user_id"], "field": v["field"], "salt": v["encryption_salt"]}
        assert keys.open(v["ciphertext"], **args) == v["plaintext"]
        again = keys.seal(
            v["plaintext"], key_id=v["key_id"], nonce=bytes.fromhex(v["nonce_hex"]), **args
        )
        assert again == v["ciphertext"]


def test_vectors_follow_the_written_spec_independently():
    """Re-derive every vector from docs/BYOK.md with raw primitives, not our module."""
    masters = {}
    for part in VECTORS["byok_master_keys"].split(","):
        key_id, encoded = part.split(":", 1)
        masters[key_id] = base64.b64decode(encoded)
    for v in VECTORS["vectors"]:
        data_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=v["encryption_salt"].encode(),
            info=f"interview-agent/byok/v1|{v['user_id']}".encode(),
        ).derive(masters[v["key_id"]])  # fmt: skip
        nonce = bytes.fromhex(v["nonce_hex"])
        aad = f"v1|{v['key_id']}|{v['user_id']}|{v['field']}".encode()
        box = AESGCM(data_key).encrypt(nonce, v["plaintext"].encode(), aad)
        body = base64.urlsafe_b64encode(nonce + box).rstrip(b"=").decode()
        assert f"v1.{v['key_id']}.{body}" == v["ciphertext"]


def test_the_module_api_reads_the_master_keys_from_the_environment(monkeypatch):
    """``encrypt_secret`` / ``decrypt_secret``: the documented API for code that seals keys
    outside the worker (docs/BYOK.md), configured by ``BYOK_MASTER_KEYS`` alone."""
    from byok import sealing as byok

    master = "env:" + base64.b64encode(bytes(range(40, 72))).decode()
    monkeypatch.setenv("BYOK_MASTER_KEYS", master)
    monkeypatch.setattr(byok, "_keyring", None)
    salt = new_salt()
    sealed = byok.encrypt_secret(
        "sk-proj-SECRETSECRET-api", user_id="u1", field="openai_key_encrypted", salt=salt
    )
    assert sealed.startswith("v1.env.")
    assert (
        byok.decrypt_secret(sealed, user_id="u1", field="openai_key_encrypted", salt=salt)
        == "sk-proj-SECRETSECRET-api"
    )
    with pytest.raises(SecretDecryptionError):
        byok.decrypt_secret(sealed, user_id="u2", field="openai_key_encrypted", salt=salt)
