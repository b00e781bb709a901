"""clients/js, the sealing client for web apps, under Node: its own tests against the
published vectors, and keys sealed by each side open on the other."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from byok.sealing import Keyring, SecretDecryptionError, new_salt

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "clients" / "js"
pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")

BRIDGE = """
import { open, parseMasterKeys, seal } from "./byok.js";
let input = "";
for await (const chunk of process.stdin) input += chunk;
const job = JSON.parse(input);
const masterKeys = parseMasterKeys(job.master);
const out = [];
for (const item of job.items) {
  const opts = { userId: item.user_id, field: item.field, salt: item.salt, masterKeys };
  out.push(item.sealed ? await open(item.sealed, opts) : await seal(item.plaintext, opts));
}
process.stdout.write(JSON.stringify(out));
"""


def node(job: dict) -> list[str]:
    """Run the client with ``job`` on stdin (secrets never on the command line)."""
    proc = subprocess.run(["node", "--input-type=module", "-e", BRIDGE], input=json.dumps(job),
                          capture_output=True, text=True, cwd=CLIENT, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_clients_own_tests_pass_under_node():
    proc = subprocess.run(["node", "--test", "test/"], capture_output=True, text=True,
                          cwd=CLIENT, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "# fail 0" in proc.stdout and "# pass 4" in proc.stdout


def test_keys_sealed_by_the_web_app_open_in_the_worker_and_back():
    master = ",".join(f"{k}:{base64.b64encode(os.urandom(32)).decode()}" for k in ("k2", "k1"))
    ring = Keyring.parse(master)
    users = ["6f1c2a52-8a0e-4a3f-9d3b-0d7a3a1e9b11", "0b5e8a9e-1111-4c2d-8e3f-123456789abc"]
    items = [
        {"user_id": u, "field": f, "salt": new_salt(), "plaintext": p}
        for u in users
        for f, p in (
            ("openai_key_encrypted", "sk-test-js-ünï-🔑-0123456789"),
            ("livekit_url_encrypted", "wss://example.livekit.cloud"),
        )
    ]
    by_app = node({"master": master, "items": items})  # the web app seals ...
    for item, sealed in zip(items, by_app, strict=True):
        assert sealed.startswith("v1.k2.")
        opened = ring.open(sealed, user_id=item["user_id"], field=item["field"], salt=item["salt"])
        assert opened == item["plaintext"]  # ... and the worker opens
        with pytest.raises(SecretDecryptionError):  # bound to its user as the worker's are
            ring.open(sealed, user_id=users[1] if item["user_id"] == users[0] else users[0],
                      field=item["field"], salt=item["salt"])  # fmt: skip
    by_worker = [
        {
            **i,
            "sealed": ring.seal(
                i["plaintext"], user_id=i["user_id"], field=i["field"], salt=i["salt"], key_id="k1"
            ),
        }
        for i in items
    ]
    assert node({"master": master, "items": by_worker}) == [i["plaintext"] for i in items]
