// The request-state keys (lib/elicitations/request-state.ts): random 256-bit keys of their own,
// stored sealed in PostgreSQL like the signing key (lib/signing/key.ts), so every instance seals
// and opens with the same keys and nothing depends on a key-encryption key's bytes (a KEK may
// live in an HSM and never leave it; here it only wraps this key's data key, through the same
// keyring seam as every other sealed row). The first instance that needs a key creates it under
// an advisory lock.
//
// Rotation: `rotateRequestStateKey()` adds a new key, which seals from then on (other instances
// pick it up within KEY_SET_MAX_AGE_MS, and reload at once when they meet a key id they do not
// know); older active keys still open states sealed before. A state lives no longer than its
// elicitation, so a key may be retired ELICITATION_TTL_SECONDS after its successor appeared
// (`retireRequestStateKeys`); a state under a retired key is then refused as unknown_key.
import { randomBytes } from "node:crypto";
import { openField, sealFields } from "@/lib/crypto/envelope";
import { getDb, type Db } from "@/lib/db/client";
import { newId } from "@/lib/ids";
import type { RequestStateKey, RequestStateKeySet } from "./request-state";

export const KEY_SET_MAX_AGE_MS = 60_000;
const UNKNOWN_KID_RELOAD_MS = 5_000;

const KEY_SELECT = { id: true, keyCipher: true, wrappedKey: true, keyVersion: true } as const;

function binding(id: string) {
  return { table: "RequestStateKey" as const, id, owner: "", provider: "" };
}

async function openKey(row: { id: string; keyCipher: string; wrappedKey: string; keyVersion: string }): Promise<RequestStateKey> {
  const secret = Buffer.from(await openField(binding(row.id), row, "key", row.keyCipher), "base64url");
  if (secret.length !== 32) throw new Error(`request-state key ${row.id} has the wrong length`);
  return { id: row.id, secret: new Uint8Array(secret) };
}

type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

async function insertKey(tx: Tx): Promise<void> {
  const id = newId("rsk", 12);
  const sealed = await sealFields(binding(id), { key: randomBytes(32).toString("base64url") });
  await tx.requestStateKey.create({
    data: { id, keyCipher: sealed.ciphertexts.key as string, wrappedKey: sealed.wrappedKey, keyVersion: sealed.keyVersion },
  });
}

async function loadKeySet(): Promise<RequestStateKeySet> {
  const db = await getDb();
  const read = () => db.requestStateKey.findMany({ where: { status: "active" }, orderBy: { createdAt: "desc" }, select: KEY_SELECT });
  let rows = await read();
  if (rows.length === 0) {
    await db.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('frontdesk.request-state-key'))`;
      const again = await tx.requestStateKey.count({ where: { status: "active" } });
      if (again === 0) await insertKey(tx);
    });
    rows = await read();
  }
  const keys = await Promise.all(rows.map(openKey));
  return { active: keys[0]!, byId: new Map(keys.map((k) => [k.id, k])) };
}

interface Cached {
  keys: Promise<RequestStateKeySet>;
  loadedAt: number;
}
let cached: Cached | undefined;

function load(): Promise<RequestStateKeySet> {
  const attempt = loadKeySet();
  const entry = { keys: attempt, loadedAt: Date.now() };
  cached = entry;
  attempt.catch(() => {
    if (cached === entry) cached = undefined;
  });
  return attempt;
}

/**
 * The key set, loaded once and re-read after KEY_SET_MAX_AGE_MS; with `needKeyId` naming a key
 * this process does not hold, re-read at once (at most every few seconds), so a key rotated on
 * another instance opens here too.
 */
export async function getRequestStateKeys(needKeyId?: string | null): Promise<RequestStateKeySet> {
  const now = Date.now();
  if (!cached || now - cached.loadedAt > KEY_SET_MAX_AGE_MS) return load();
  const keys = await cached.keys;
  if (needKeyId && !keys.byId.has(needKeyId) && now - cached.loadedAt > UNKNOWN_KID_RELOAD_MS) return load();
  return keys;
}

/** Adds a new request-state key, which seals from now on; returns its id. */
export async function rotateRequestStateKey(): Promise<string> {
  const db = await getDb();
  await db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('frontdesk.request-state-key'))`;
    await insertKey(tx);
  });
  cached = undefined;
  const keys = await getRequestStateKeys();
  return keys.active.id;
}

/**
 * Retires every active key except the newest that was superseded before `supersededBefore`
 * (a state lives at most ELICITATION_TTL_SECONDS, so pass now minus that). Returns the ids.
 */
export async function retireRequestStateKeys(supersededBefore: Date): Promise<string[]> {
  const db = await getDb();
  const rows = await db.requestStateKey.findMany({ where: { status: "active" }, orderBy: { createdAt: "desc" }, select: { id: true, createdAt: true } });
  const retire: string[] = [];
  // rows[i] was superseded when rows[i - 1] was created.
  for (let i = 1; i < rows.length; i++) if (rows[i - 1]!.createdAt < supersededBefore) retire.push(rows[i]!.id);
  if (retire.length > 0) await db.requestStateKey.updateMany({ where: { id: { in: retire } }, data: { status: "disabled" } });
  cached = undefined;
  return retire;
}

/** Test helper: forget the cached keys (e.g. after the database changed). */
export function forgetRequestStateKeys(): void {
  cached = undefined;
}
