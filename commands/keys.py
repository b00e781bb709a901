"""``python -m agent keys set|check|rotate``: manage sealed user keys in Supabase.

Secrets are read from standard input (``name=value`` lines) or the environment, never
from the command line, and never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid

from agent.config import ConfigError, Settings, keyring_for, load_settings
from byok.sealing import Keyring, SecretDecryptionError, is_legacy, new_salt
from persistence import KEY_COLUMNS, KEY_NAMES, KeyRow, StoreError
from persistence.supabase_store import SupabaseStore
from providers import CATALOG, choose, unconfigured, voice_requirement
from stages.metadata import provider_preferences

NAMES = KEY_NAMES
ENV = {
    **{k.name: k.env for k in CATALOG.keys},
    "livekit_url": "USER_LIVEKIT_URL",
    "livekit_key": "USER_LIVEKIT_API_KEY",
    "livekit_secret": "USER_LIVEKIT_API_SECRET",
}


def _fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _secrets_from_stdin(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip().lower()
        if not sep or name not in NAMES:
            raise ValueError(f"stdin line {n}: expected one of {', '.join(NAMES)} as name=value")
        if value.strip():
            found[name] = value.strip()
    return found


def _secrets_from_env() -> dict[str, str]:
    return {name: os.environ[var] for name, var in ENV.items() if os.environ.get(var)}


def _secrets_from_input(use_stdin: bool) -> dict[str, str]:
    """The keys to seal: from stdin (``--stdin``, or piped in) or from the environment,
    never both. Keys in both places are refused: the operator's own environment (an
    ``OPENAI_API_KEY`` of theirs) must never be sealed into a user's row by accident."""
    piped = use_stdin or not sys.stdin.isatty()
    from_stdin = _secrets_from_stdin(sys.stdin.read()) if piped else {}
    from_env = _secrets_from_env()
    if (from_stdin or use_stdin) and from_env:
        names = ", ".join(ENV[n] for n in sorted(from_env))
        raise ValueError(
            f"keys given on stdin and in the environment ({names}): "
            "unset those variables or pipe nothing, so it is clear which keys to seal"
        )
    return from_stdin or from_env


def _store_and_ring(settings: Settings) -> tuple[SupabaseStore, Keyring]:
    if not settings.supabase_url or not settings.supabase_service_role_key:
        raise ConfigError("keys commands need SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY")
    ring = keyring_for(settings)
    store = SupabaseStore(
        settings.supabase_url, settings.supabase_service_role_key.get_secret_value()
    )
    return store, ring


async def _set(store: SupabaseStore, ring: Keyring, user_id: str, secrets: dict[str, str]) -> int:
    row = await store.load_key_row(user_id) or KeyRow(
        user_id=user_id, encryption_salt=new_salt(), sealed=dict.fromkeys(KEY_COLUMNS)
    )
    if not any(v and not is_legacy(v) for v in row.sealed.values()):
        # nothing sealed under the row's salt yet (empty, or only legacy values, which do
        # not use it, under the legacy scheme's constant salt): give the row its own
        row.encryption_salt = new_salt()
    for name, value in secrets.items():
        column = NAMES[name]
        row.sealed[column] = ring.seal(
            value, user_id=user_id, field=column, salt=row.encryption_salt
        )
    await store.save_key_row(row)
    print(f"saved {len(secrets)} key(s) for user {user_id}: {', '.join(sorted(secrets))}")
    return 0


async def _check(store: SupabaseStore, ring: Keyring, user_id: str, settings: Settings) -> int:
    row = await store.load_key_row(user_id)
    if row is None:
        print(f"user {user_id}: no keys saved")
        return 1
    ok = True
    for name, column in NAMES.items():
        sealed = row.sealed.get(column)
        if not sealed:
            state = "absent"
        else:
            try:
                ring.open(sealed, user_id=user_id, field=column, salt=row.encryption_salt)
                if is_legacy(sealed):
                    state = "present, opens (legacy Fernet: run keys rotate)"
                else:
                    state = f"present, opens (key {ring.key_id_of(sealed)})"
            except SecretDecryptionError as e:
                state = f"present, does NOT open: {e}"
                ok = False
        print(f"{name:15} {state}")
    saved = {k.name for k in CATALOG.keys if row.sealed.get(k.column)}
    for name in sorted(saved):
        missing = unconfigured(name, settings.setting)
        if missing:
            saved.discard(name)
            print(f"{name}: set aside here: this deployment has no {', '.join(missing)}")
    if row.preference is not None:
        warnings: list[str] = []
        order = provider_preferences(row.preference, warnings, where="saved providers")
        print(f"saved order: {json.dumps(order)}" + "".join(f"; {w}" for w in warnings))
    else:
        order = {}
    choice = choose(saved, order)
    if not choice.voice:
        ok = False
        print(f"no voice interview: it needs {voice_requirement()}")
    else:
        print(f"interviews run as: {choice.reason}")
    return 0 if ok else 1


def _reseal(ring: Keyring, row: KeyRow) -> bool:
    """Re-seal ``row`` in place under the primary key; whether anything changed. A row
    with a legacy value gets a fresh salt and every value re-sealed (the legacy scheme
    wrote one constant salt for all users). Raises :class:`SecretDecryptionError` before
    changing anything if any value does not open."""
    present = {c: v for c, v in row.sealed.items() if v}
    legacy = any(is_legacy(v) for v in present.values())
    stale = {c: v for c, v in present.items() if legacy or not ring.is_current(v)}
    plain = {
        c: ring.open(v, user_id=row.user_id, field=c, salt=row.encryption_salt)
        for c, v in stale.items()
    }
    if legacy:
        row.encryption_salt = new_salt()
    for column, value in plain.items():
        row.sealed[column] = ring.seal(
            value, user_id=row.user_id, field=column, salt=row.encryption_salt
        )
    return bool(plain)


async def _rotate(store: SupabaseStore, ring: Keyring) -> int:
    rotated = current = failed = raced = 0
    for row in await store.key_rows():
        try:
            changed = _reseal(ring, row)
        except SecretDecryptionError as e:
            failed += 1
            print(f"user {row.user_id}: not rotated: {e}", file=sys.stderr)
            continue
        if not changed:
            current += 1
        elif await store.save_key_row(row, expected_updated_at=row.updated_at):
            rotated += 1
        else:
            raced += 1  # changed meanwhile: a re-run picks it up
    print(
        f"rotated {rotated}, already on {ring.primary} {current}, "
        f"changed meanwhile {raced}, failed {failed}"
    )
    return 0 if failed == 0 and raced == 0 else 1


def keys_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent keys")
    sub = parser.add_subparsers(dest="action", required=True)
    p_set = sub.add_parser("set", help="seal and save a user's keys (stdin name=value or env)")
    p_set.add_argument("--user-id", required=True)
    p_set.add_argument("--stdin", action="store_true", help="read name=value lines from stdin")
    p_check = sub.add_parser("check", help="which keys are present and open (never shown)")
    p_check.add_argument("--user-id", required=True)
    sub.add_parser(
        "rotate", help="re-seal every row under the first master key (legacy values too)"
    )
    args = parser.parse_args(argv)
    user_id = getattr(args, "user_id", None)
    if user_id is not None:
        try:
            user_id = str(uuid.UUID(user_id))
        except ValueError:
            return _fail("--user-id must be a UUID")
    try:
        settings = load_settings()
        store, ring = _store_and_ring(settings)
        secrets: dict[str, str] = {}
        if args.action == "set":
            secrets = _secrets_from_input(args.stdin)
    except (ConfigError, ValueError) as e:
        return _fail(str(e))
    if args.action == "set" and not secrets:
        return _fail("no keys given: pipe name=value lines on stdin or set OPENAI_API_KEY etc.")

    async def run() -> int:
        try:
            if args.action == "set":
                return await _set(store, ring, user_id, secrets)
            if args.action == "check":
                return await _check(store, ring, user_id, settings)
            return await _rotate(store, ring)
        except StoreError as e:
            return _fail(str(e), 1)
        finally:
            await store.aclose()

    return asyncio.run(run())
