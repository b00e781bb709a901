// Seal and open users' provider keys in the worker's BYOK format (docs/BYOK.md):
// HKDF-SHA256 per-user data key, AES-256-GCM with the user id and column in the
// associated data, text "v1.<key_id>.<base64url(nonce || ciphertext || tag)>".
//
// Web Crypto only (globalThis.crypto.subtle): Node >= 18, Deno (Supabase Edge
// Functions), Bun, and browsers. The master keys are a server secret: run this where
// they live (the web app's server or an edge function), never in a browser bundle.

const VERSION = "v1";
const NONCE_BYTES = 12;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const encoder = new TextEncoder();

/** Every failure to open raises this; its message never holds key material or ciphertext. */
export class SecretDecryptionError extends Error {
  constructor(message) {
    super(message);
    this.name = "SecretDecryptionError";
  }
}

/** BYOK_MASTER_KEYS is missing or malformed (the message never shows a key). */
export class MasterKeyError extends Error {
  constructor(message) {
    super(message);
    this.name = "MasterKeyError";
  }
}

function subtle() {
  const s = globalThis.crypto && globalThis.crypto.subtle;
  if (!s) throw new Error("Web Crypto (crypto.subtle) is not available in this runtime");
  return s;
}

function b64decode(text) {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function b64encode(bytes) {
  let bin = "";
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return btoa(bin);
}

function b64urlEncode(bytes) {
  return b64encode(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function b64urlDecode(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new SecretDecryptionError("malformed sealed secret (bad encoding)");
  const std = text.replace(/-/g, "+").replace(/_/g, "/");
  try {
    return b64decode(std + "=".repeat((4 - (std.length % 4)) % 4));
  } catch {
    throw new SecretDecryptionError("malformed sealed secret (bad encoding)");
  }
}

/**
 * Parse BYOK_MASTER_KEYS: "key_id:base64(32 bytes)", comma-separated; the first seals,
 * all open.
 */
export function parseMasterKeys(spec) {
  if (!spec || !spec.trim()) throw new MasterKeyError("BYOK_MASTER_KEYS is not set");
  const keys = new Map();
  let primary = null;
  spec.split(",").forEach((raw, n) => {
    const part = raw.trim();
    const at = part.indexOf(":");
    const keyId = at < 0 ? "" : part.slice(0, at);
    if (at < 0 || !KEY_ID.test(keyId)) {
      throw new MasterKeyError(`BYOK_MASTER_KEYS entry ${n + 1}: expected key_id:base64`);
    }
    const encoded = part.slice(at + 1).trim();
    let key;
    try {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) throw new Error();
      key = b64decode(encoded);
    } catch {
      throw new MasterKeyError(`BYOK_MASTER_KEYS key '${keyId}': not base64`);
    }
    if (key.length !== KEY_BYTES) throw new MasterKeyError(`BYOK_MASTER_KEYS key '${keyId}': must be 32 bytes`);
    if (keys.has(keyId)) throw new MasterKeyError(`BYOK_MASTER_KEYS key '${keyId}': listed twice`);
    keys.set(keyId, key);
    primary = primary ?? keyId;
  });
  return { primary, keys };
}

/** A fresh random encryption_salt for a new row (base64 of 16 random bytes). */
export function newSalt() {
  return b64encode(globalThis.crypto.getRandomValues(new Uint8Array(SALT_BYTES)));
}

async function dataKey(master, salt, userId) {
  const base = await subtle().importKey("raw", master, "HKDF", false, ["deriveKey"]);
  return subtle().deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: encoder.encode(salt), info: encoder.encode(`interview-agent/byok/${VERSION}|${userId}`) },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

function aad(keyId, userId, field) {
  return encoder.encode(`${VERSION}|${keyId}|${userId}|${field}`);
}

/**
 * Seal one secret for user_api_keys.
 * @param {string} plaintext
 * @param {{userId: string, field: string, salt: string, masterKeys: {primary: string, keys: Map<string, Uint8Array>}, keyId?: string, nonce?: Uint8Array}} options
 *   userId: canonical lowercase UUID text; field: the column name; salt: the row's
 *   encryption_salt; keyId: default the primary; nonce: only for test vectors.
 * @returns {Promise<string>}
 */
export async function seal(plaintext, { userId, field, salt, masterKeys, keyId, nonce }) {
  if (!salt) throw new Error("encryption_salt must not be empty");
  const kid = keyId ?? masterKeys.primary;
  const master = masterKeys.keys.get(kid);
  if (!master) throw new MasterKeyError(`no master key with id '${kid}'`);
  const iv = nonce ?? globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  if (iv.length !== NONCE_BYTES) throw new Error("nonce must be 12 bytes");
  const key = await dataKey(master, salt, userId);
  const box = new Uint8Array(
    await subtle().encrypt({ name: "AES-GCM", iv, additionalData: aad(kid, userId, field), tagLength: 128 }, key, encoder.encode(plaintext)),
  );
  const blob = new Uint8Array(iv.length + box.length);
  blob.set(iv, 0);
  blob.set(box, iv.length);
  return `${VERSION}.${kid}.${b64urlEncode(blob)}`;
}

/**
 * Open one sealed secret. Every failure raises SecretDecryptionError.
 * @returns {Promise<string>}
 */
export async function open(ciphertext, { userId, field, salt, masterKeys }) {
  const parts = typeof ciphertext === "string" ? ciphertext.split(".") : [];
  if (parts.length !== 3 || parts[0] !== VERSION || !KEY_ID.test(parts[1])) {
    throw new SecretDecryptionError("malformed sealed secret (unknown format)");
  }
  const [, kid, encoded] = parts;
  const master = masterKeys.keys.get(kid);
  if (!master) throw new SecretDecryptionError(`sealed with an unknown master key id '${kid}'`);
  const blob = b64urlDecode(encoded);
  if (blob.length < NONCE_BYTES + 16) throw new SecretDecryptionError("malformed sealed secret (too short)");
  let plain;
  try {
    const key = await dataKey(master, salt, userId);
    plain = await subtle().decrypt(
      { name: "AES-GCM", iv: blob.slice(0, NONCE_BYTES), additionalData: aad(kid, userId, field), tagLength: 128 },
      key,
      blob.slice(NONCE_BYTES),
    );
  } catch {
    throw new SecretDecryptionError("sealed secret does not open: wrong key, user, column or salt, or tampered");
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(plain);
  } catch {
    throw new SecretDecryptionError("sealed secret is not UTF-8 text");
  }
}
