// The request-state keys (lib/elicitations/request-state.ts): random 256-bit keys of their own,
// stored sealed in PostgreSQL like the signing key (lib/signing/key.ts), so every instance seals
// and opens with the same keys and nothing depends on a key-encryption key's bytes (a KEK may
// live in an HSM and never leave it; here it only wraps this key's data key, through the same
// keyring seam as every other sealed row). The first instance that needs a key creates it under
// an advisory lock.
//
// Rotation (`keys request-state rotate|retire|status`, lib/cli/commands/keys.ts):
// `rotateRequestStateKey()` adds a new key, which seals from then on (other instances pick it up
// within KEY_SET_MAX_AGE_MS, and reload at once when they meet a key id they do not know); older
// active keys still open states sealed before. A state lives no longer than its elicitation, so
// a key may be retired once every state sealed under it has expired (`retireRequestStateKeys`,
// retireGraceMs after its successor appeared); a state under a retired key is then refused as
// unknown_key. Both are audited.
import { randomBytes } from "node:crypto";
import { appendAudit } from "@/lib/audit/append";
import { openField, sealFields } from "@/lib/crypto/envelope";
import { getDb, type Db } from "@/lib/db/client";
import { env } from "@/lib/env";
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

async function insertKey(tx: Tx): Promise<string> {
  const id = newId("rsk", 12);
  const sealed = await sealFields(binding(id), { key: randomBytes(32).toString("base64url") });
  await tx.requestStateKey.create({
    data: { id, keyCipher: sealed.ciphertexts.key as string, wrappedKey: sealed.wrappedKey, keyVersion: sealed.keyVersion },
  });
  return id;
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

let lastUnknownKidReload = 0;

/**
 * The key set, loaded once and re-read after KEY_SET_MAX_AGE_MS; with `needKeyId` naming a key
 * this process does not hold, re-read at once, so a state sealed under a key that another
 * instance created since opens here too. Those re-reads are throttled on their own clock (a
 * forged kid must not cost a query per call), and a throttled caller gets the newest load,
 * including one still in flight for the same new key.
 */
export async function getRequestStateKeys(needKeyId?: string | null): Promise<RequestStateKeySet> {
  if (!cached || Date.now() - cached.loadedAt > KEY_SET_MAX_AGE_MS) return load();
  const keys = await cached.keys;
  if (!needKeyId || keys.byId.has(needKeyId)) return keys;
  if (Date.now() - lastUnknownKidReload < UNKNOWN_KID_RELOAD_MS) return cached ? cached.keys : load();
  lastUnknownKidReload = Date.now();
  return load();
}

export interface KeyLifecycleActor {
  type: "admin" | "system";
  id: string;
}

export interface RequestStateKeyView {
  id: string;
  /** sealing: the newest active key; opening: an older active key; retired: opens nothing. */
  role: "sealing" | "opening" | "retired";
  createdAt: Date;
  /** When the next key was created (null for the newest). */
  supersededAt: Date | null;
  /** An opening key: from when `retire` takes it without --immediately. */
  retirableAt: Date | null;
}

/**
 * How long after a key was superseded a state sealed under it may still be presented: an
 * elicitation lives ELICITATION_TTL_SECONDS, and other instances keep sealing with the old key
 * until they re-read the keys (KEY_SET_MAX_AGE_MS).
 */
export function retireGraceMs(): number {
  return env().ELICITATION_TTL_SECONDS * 1000 + KEY_SET_MAX_AGE_MS;
}

/** Every request-state key, newest first, with its role. */
export async function listRequestStateKeys(): Promise<RequestStateKeyView[]> {
  const db = await getDb();
  const rows = await db.requestStateKey.findMany({ orderBy: { createdAt: "desc" }, select: { id: true, status: true, createdAt: true } });
  let newerActive = false;
  return rows.map((row, i) => {
    const supersededAt = i === 0 ? null : rows[i - 1]!.createdAt;
    const role = row.status !== "active" ? "retired" : newerActive ? "opening" : "sealing";
    if (row.status === "active") newerActive = true;
    return {
      id: row.id,
      role,
      createdAt: row.createdAt,
      supersededAt,
      retirableAt: role === "opening" && supersededAt ? new Date(supersededAt.getTime() + retireGraceMs()) : null,
    };
  });
}

/** Adds a new request-state key, which seals from now on (here at once, elsewhere within a minute); returns its id. */
export async function rotateRequestStateKey(actor: KeyLifecycleActor): Promise<string> {
  const db = await getDb();
  const id = await db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('frontdesk.request-state-key'))`;
    const previous = await tx.requestStateKey.findFirst({ where: { status: "active" }, orderBy: { createdAt: "desc" }, select: { id: true } });
    const created = await insertKey(tx);
    await appendAudit(
      { actorType: actor.type, actorId: actor.id, action: "request_state_key.rotated", decision: "info", context: { keyId: created, previousKeyId: previous?.id } },
      tx,
    );
    return created;
  });
  cached = undefined;
  return id;
}

/**
 * Retires the keys that no longer seal: by default only those superseded longer ago than
 * retireGraceMs() (every state sealed under them has expired); `immediately` retires every key
 * but the newest now (a key thought compromised: states under it are refused from then on, and
 * their clients get a fresh link on the next call). Other instances stop opening with a retired
 * key when they next re-read the keys (within KEY_SET_MAX_AGE_MS). Returns the retired ids.
 */
export async function retireRequestStateKeys(actor: KeyLifecycleActor, opts: { immediately?: boolean; now?: Date } = {}): Promise<string[]> {
  const db = await getDb();
  const cutoff = opts.immediately ? Infinity : (opts.now?.getTime() ?? Date.now()) - retireGraceMs();
  const retired = await db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('frontdesk.request-state-key'))`;
    const rows = await tx.requestStateKey.findMany({ where: { status: "active" }, orderBy: { createdAt: "desc" }, select: { id: true, createdAt: true } });
    const retire: string[] = [];
    // rows[i] was superseded when rows[i - 1] was created.
    for (let i = 1; i < rows.length; i++) if (rows[i - 1]!.createdAt.getTime() < cutoff) retire.push(rows[i]!.id);
    if (retire.length === 0) return retire;
    await tx.requestStateKey.updateMany({ where: { id: { in: retire } }, data: { status: "disabled" } });
    await appendAudit(
      {
        actorType: actor.type,
        actorId: actor.id,
        action: "request_state_key.retired",
        decision: "info",
        context: { keyIds: retire, immediately: opts.immediately === true },
      },
      tx,
    );
    return retire;
  });
  cached = undefined;
  return retired;
}

/** Test helper: forget the cached keys (e.g. after the database changed). */
export function forgetRequestStateKeys(): void {
  cached = undefined;
  lastUnknownKidReload = 0;
}
