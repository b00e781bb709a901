"""Load and open one user's full key set from the local Supabase stack.

    .venv/bin/python -m bench.keys [--runs 200]

Prints the numbers and writes bench/results/keys.json: the whole per-session step
(PostgREST read of the row + five HKDF derivations + five AES-GCM opens) and the
crypto part alone.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import time
from pathlib import Path

from bench.finalize import summary
from byok.sealing import Keyring, new_salt
from byok.user_keys import load_user_keys
from persistence import KEY_COLUMNS, KeyRow
from persistence.supabase_store import SupabaseStore
from tests.stack.local_supabase import LocalSupabase


async def run(runs: int) -> dict:
    stack = LocalSupabase().start()
    ring = Keyring.parse("k1:" + base64.b64encode(os.urandom(32)).decode())
    store = SupabaseStore(stack.url, stack.service_key)
    try:
        user = stack.create_user("bench@example.com")
        salt = new_salt()
        values = [
            "sk-proj-" + "x" * 40,
            "dg-" + "y" * 36,
            "wss://bench.livekit.cloud",
            "APIabc",
            "s" * 43,
        ]
        sealed = {
            c: ring.seal(v, user_id=user, field=c, salt=salt)
            for c, v in zip(KEY_COLUMNS, values, strict=True)
        }
        row = KeyRow(user_id=user, encryption_salt=salt, sealed=sealed)
        await store.save_key_row(row)
        await load_user_keys(store, ring, user)  # warm the connection
        whole, crypto = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            await load_user_keys(store, ring, user)
            whole.append(time.perf_counter() - t0)
            t1 = time.perf_counter()
            for c in KEY_COLUMNS:
                ring.open(row.sealed[c], user_id=user, field=c, salt=salt)
            crypto.append(time.perf_counter() - t1)
    finally:
        await store.aclose()
        stack.stop()
    return {
        "command": f"python -m bench.keys --runs {runs}",
        "load_and_open_key_set": summary(whole),
        "open_five_secrets_only": summary(crypto),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    result = asyncio.run(run(parser.parse_args().runs))
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / "keys.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
