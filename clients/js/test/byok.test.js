// The JavaScript client against the published vectors (tests/data/byok_vectors.json,
// checked against docs/BYOK.md by the Python suite): byte-exact sealing, opening, and
// every refusal.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { MasterKeyError, SecretDecryptionError, newSalt, open, parseMasterKeys, seal } from "../byok.js";

const VECTORS = JSON.parse(readFileSync(new URL("../../../tests/data/byok_vectors.json", import.meta.url), "utf8"));
const masterKeys = parseMasterKeys(VECTORS.byok_master_keys);
const hex = (h) => Uint8Array.from(h.match(/../g).map((b) => parseInt(b, 16)));

test("each vector seals byte for byte and opens", async () => {
  assert.ok(VECTORS.vectors.length >= 3);
  for (const v of VECTORS.vectors) {
    const opts = { userId: v.user_id, field: v.field, salt: v.encryption_salt, masterKeys };
    const sealed = await seal(v.plaintext, { ...opts, keyId: v.key_id, nonce: hex(v.nonce_hex) });
    assert.equal(sealed, v.ciphertext);
    assert.equal(await open(v.ciphertext, opts), v.plaintext);
  }
});

test("a random nonce each time, the primary key by default, unicode text", async () => {
  const opts = { userId: "6f1c2a52-8a0e-4a3f-9d3b-0d7a3a1e9b11", field: "openai_key_encrypted", salt: newSalt(), masterKeys };
  const a = await seal("sk-ünïcødé-🔑", opts);
  const b = await seal("sk-ünïcødé-🔑", opts);
  assert.notEqual(a, b);
  assert.ok(a.startsWith(`v1.${masterKeys.primary}.`));
  assert.equal(await open(a, opts), "sk-ünïcødé-🔑");
});

test("another user, column, salt, key id or a tampered text does not open", async () => {
  const v = VECTORS.vectors[0];
  const opts = { userId: v.user_id, field: v.field, salt: v.encryption_salt, masterKeys };
  const flip = (s, i) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
  const cases = [
    [v.ciphertext, { ...opts, userId: "0b5e8a9e-1111-4c2d-8e3f-123456789abc" }],
    [v.ciphertext, { ...opts, field: "deepgram_key_encrypted" }],
    [v.ciphertext, { ...opts, salt: "another" }],
    [flip(v.ciphertext, v.ciphertext.length - 3), opts],
    [v.ciphertext.replace("v1.", "v2."), opts],
    [v.ciphertext.replace(`.${v.key_id}.`, ".k9."), opts],
    ["v1.k2026.%%%", opts],
    ["v1.k2026.AAAA", opts],
    ["gAAAAABlegacy", opts],
  ];
  for (const [text, o] of cases) {
    await assert.rejects(open(text, o), (e) => {
      assert.ok(e instanceof SecretDecryptionError, String(e));
      assert.ok(!e.message.includes(text) && !e.message.includes(v.plaintext));
      return true;
    });
  }
});

test("malformed master keys are refused without showing them", () => {
  const key = Buffer.alloc(32, 7).toString("base64");
  for (const spec of ["", "nokey", `bad id:${key}`, "k1:not-base64!", "k1:AAAA", `k1:${key},k1:${key}`]) {
    assert.throws(() => parseMasterKeys(spec), (e) => e instanceof MasterKeyError && !e.message.includes(key));
  }
});
