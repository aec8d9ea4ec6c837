// Envelope encryption of secrets at rest (design.md invariant 2): every record gets a fresh
// random 256-bit data key (DEK); each secret field is sealed with AES-256-GCM under it, and the
// DEK is stored wrapped by the active key-encryption key (KEK) beside the ciphertexts.
//
// Binding, so nothing sealed for one place opens in another:
//  - a field's AAD names table, record id, owner, provider and field: a ciphertext copied to
//    another row, user, provider or column fails authentication;
//  - the wrapped DEK's AAD names table, record id and KEK version: a wrapped key copied to another
//    row fails, and rotation only ever re-wraps the DEK (field ciphertexts stay untouched).
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { ensureKeyring, keyringWithVersion, KeyStoreUnavailableError, type KeyEncryptionKeys } from "./keyring";
import { withSpan } from "@/lib/observability/tracing";

export type SealedTable = "Grant" | "Provider" | "OAuthTransaction" | "SigningKey" | "RequestStateKey";

/** Where a sealed value lives. `owner` is the userId, or "" / a fixed marker where there is no user. */
export interface SealBinding {
  table: SealedTable;
  id: string;
  owner: string;
  provider: string;
}

/** The row's wrapped data key (base64url) and the KEK version it is wrapped under. */
export interface DataKeyRef {
  wrappedKey: string;
  keyVersion: string;
}

/** Decryption failed. The message names the place and the reason, never key material or plaintext. */
export class DecryptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DecryptError";
  }
}

// Ciphertext layout (then base64url): format byte | 12-byte IV | 16-byte GCM tag | ciphertext.
// The format byte lets a future layout or algorithm coexist with stored v1 values.
const FIELD_FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const DEK_BYTES = 32;

// AADs are JSON arrays of strings: an injective encoding, so no two different bindings can
// produce the same bytes (unlike joining with a separator that may occur in an id).
export function fieldAad(binding: SealBinding, field: string): Buffer {
  return Buffer.from(JSON.stringify(["frontdesk/field/1", binding.table, binding.id, binding.owner, binding.provider, field]));
}

export function dataKeyAad(table: SealedTable, id: string, keyVersion: string): Buffer {
  return Buffer.from(JSON.stringify(["frontdesk/dek/1", table, id, keyVersion]));
}

/** Wraps a DEK for a row under the active KEK. */
export async function wrapDataKey(keyring: KeyEncryptionKeys, table: SealedTable, id: string, dataKey: Buffer): Promise<DataKeyRef> {
  const keyVersion = keyring.activeVersion;
  const wrapped = await keyring.wrap(keyVersion, dataKey, dataKeyAad(table, id, keyVersion));
  return { wrappedKey: wrapped.toString("base64url"), keyVersion };
}

/** Unwraps a row's DEK; `what` names the value being opened for the error message. */
export async function unwrapDataKey(
  keyring: KeyEncryptionKeys,
  table: SealedTable,
  id: string,
  ref: DataKeyRef,
  what: string,
): Promise<Buffer> {
  // A version this process has not loaded (another instance already wraps under a new key):
  // read the key source again before giving up.
  keyring = await keyringWithVersion(keyring, ref.keyVersion);
  if (!keyring.hasVersion(ref.keyVersion)) {
    throw new DecryptError(`cannot decrypt ${what} (key version ${ref.keyVersion} unknown)`);
  }
  let dataKey: Buffer;
  try {
    dataKey = await keyring.unwrap(ref.keyVersion, Buffer.from(ref.wrappedKey, "base64url"), dataKeyAad(table, id, ref.keyVersion));
  } catch (e) {
    // The key store is down, not the row corrupt: a retryable 503 for the caller.
    if (e instanceof KeyStoreUnavailableError) throw e;
    // Deliberately no cause attached: crypto library errors are not useful to the caller.
    throw new DecryptError(`cannot decrypt ${what} (data key does not authenticate for this row under key version ${ref.keyVersion})`);
  }
  if (dataKey.length !== DEK_BYTES) throw new DecryptError(`cannot decrypt ${what} (data key has the wrong length)`);
  return dataKey;
}

function sealOne(dataKey: Buffer, aad: Buffer, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", dataKey, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([Buffer.of(FIELD_FORMAT), iv, cipher.getAuthTag(), body]).toString("base64url");
}

/**
 * Seals the given fields of one row. Without `existing`, a fresh DEK is generated (a new row, or
 * re-sealing every secret of a row). With `existing`, the row's DEK is reused so one field can be
 * updated while the others stay readable; the returned ref is that same DEK, re-wrapped under the
 * active KEK if it was on an older one. Store all returned values in the same UPDATE.
 * null/undefined fields come back as null (nothing to seal).
 */
export async function sealFields<F extends string>(
  binding: SealBinding,
  fields: Record<F, string | null | undefined>,
  existing?: DataKeyRef,
): Promise<DataKeyRef & { ciphertexts: Record<F, string | null> }> {
  const dataKey = existing
    ? await unwrapDataKey(await ensureKeyring(), binding.table, binding.id, existing, `${binding.table} ${binding.id} (existing data key)`)
    : randomBytes(DEK_BYTES);
  try {
    // Read after the unwrap: it may have reloaded the keys (and with them the active version).
    const keyring = await ensureKeyring();
    const ref =
      existing && existing.keyVersion === keyring.activeVersion
        ? { wrappedKey: existing.wrappedKey, keyVersion: existing.keyVersion }
        : await wrapDataKey(keyring, binding.table, binding.id, dataKey);
    const ciphertexts = {} as Record<F, string | null>;
    for (const field of Object.keys(fields) as F[]) {
      const value = fields[field];
      ciphertexts[field] = value === null || value === undefined ? null : sealOne(dataKey, fieldAad(binding, field), value);
    }
    return { ...ref, ciphertexts };
  } finally {
    dataKey.fill(0);
  }
}

/** Opens one sealed field of a row. Throws DecryptError if anything does not authenticate. */
export function openField(binding: SealBinding, key: DataKeyRef, field: string, ciphertext: string): Promise<string> {
  return withSpan("crypto.decrypt", { "frontdesk.table": binding.table, "frontdesk.field": field, "frontdesk.kek_version": key.keyVersion }, () => openOne(binding, key, field, ciphertext));
}

async function openOne(binding: SealBinding, key: DataKeyRef, field: string, ciphertext: string): Promise<string> {
  const what = `${binding.table}.${field}`;
  const raw = Buffer.from(ciphertext, "base64url");
  if (raw.length < 1 + IV_BYTES + TAG_BYTES || raw[0] !== FIELD_FORMAT) {
    throw new DecryptError(`cannot decrypt ${what} (unknown ciphertext format)`);
  }
  const dataKey = await unwrapDataKey(await ensureKeyring(), binding.table, binding.id, key, what);
  try {
    const decipher = createDecipheriv("aes-256-gcm", dataKey, raw.subarray(1, 1 + IV_BYTES));
    decipher.setAAD(fieldAad(binding, field));
    decipher.setAuthTag(raw.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch {
    throw new DecryptError(`cannot decrypt ${what} (ciphertext does not authenticate for this row, owner, provider and field)`);
  } finally {
    dataKey.fill(0);
  }
}
