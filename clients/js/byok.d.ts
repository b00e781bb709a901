/** Master keys by id; `primary` seals, all open. */
export interface MasterKeys {
  primary: string;
  keys: Map<string, Uint8Array>;
}

export interface SealOptions {
  /** The row's user id, canonical lowercase UUID text. */
  userId: string;
  /** The column name, e.g. "openai_key_encrypted". */
  field: string;
  /** The row's encryption_salt (used as UTF-8 text). */
  salt: string;
  masterKeys: MasterKeys;
  /** Default: the primary key. */
  keyId?: string;
  /** Only for test vectors: 12 bytes. */
  nonce?: Uint8Array;
}

export type OpenOptions = Omit<SealOptions, "keyId" | "nonce">;

export class SecretDecryptionError extends Error {}
export class MasterKeyError extends Error {}

/** Parse BYOK_MASTER_KEYS ("key_id:base64(32 bytes)", comma-separated). */
export function parseMasterKeys(spec: string): MasterKeys;
/** A fresh random encryption_salt for a new row. */
export function newSalt(): string;
/** Seal one secret: "v1.<key_id>.<base64url(nonce || ciphertext || tag)>". */
export function seal(plaintext: string, options: SealOptions): Promise<string>;
/** Open one sealed secret; every failure raises SecretDecryptionError. */
export function open(ciphertext: string, options: OpenOptions): Promise<string>;
