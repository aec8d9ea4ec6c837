// Single use of client-assertion `jti`s across every instance: the first INSERT wins, a replay
// finds the row (ON CONFLICT DO NOTHING -> not inserted). Rows are kept until the assertion expires.
//
// On PostgreSQL the inserts of concurrent requests are grouped: one
// `INSERT ... ON CONFLICT DO NOTHING RETURNING "key"` per batch on the hot-path pool, committed
// before any caller of the batch gets its answer, so single use holds across instances exactly as
// with one INSERT per request. One Prisma statement per token exchange cost more CPU than the
// rest of the assertion check, and single-row inserts on the small pool queued behind each
// other's commits (npm run bench). On the embedded database each insert goes through Prisma.
import { sha256Hex } from "@/lib/crypto/hash";
import { getDb } from "@/lib/db/client";
import { getHotPool } from "@/lib/db/hot-pool";
import { log } from "@/lib/log";

let sinceCleanup = 0;
const CLEANUP_EVERY = 500;
const MAX_BATCH = 500;

// expiresAt as an ISO string ending in Z, cast to timestamp: the UTC wall time, as Prisma stores it.
const INSERT_BATCH_SQL = `
  INSERT INTO "ReplayNonce" ("key", "expiresAt")
  SELECT "key", "expiresAt" FROM jsonb_to_recordset($1::jsonb) AS r("key" text, "expiresAt" timestamp(3))
  ON CONFLICT DO NOTHING
  RETURNING "key"`;

interface Pending {
  key: string;
  expiresAt: Date;
  resolve: (fresh: boolean) => void;
  reject: (error: unknown) => void;
}

const queue: Pending[] = [];
let draining: Promise<void> | null = null;

async function insertBatch(batch: Pending[]): Promise<void> {
  // The same key twice in one batch: the first is the use, every later one a replay.
  const first = new Map<string, Pending>();
  const repeats: Pending[] = [];
  for (const p of batch) {
    if (first.has(p.key)) repeats.push(p);
    else first.set(p.key, p);
  }
  try {
    const pool = getHotPool();
    if (!pool) throw new Error("no PostgreSQL pool");
    const rows = [...first.values()].map((p) => ({ key: p.key, expiresAt: p.expiresAt.toISOString() }));
    const result = await pool.query<{ key: string }>({ name: "frontdesk-consume-jtis", text: INSERT_BATCH_SQL, values: [JSON.stringify(rows)] });
    const inserted = new Set(result.rows.map((r) => r.key));
    for (const p of first.values()) p.resolve(inserted.has(p.key));
    for (const p of repeats) p.resolve(false);
  } catch (e) {
    for (const p of batch) p.reject(e);
  }
}

async function drain(): Promise<void> {
  try {
    // Let inserts issued in the same turn of the event loop join the first batch.
    await new Promise((r) => setImmediate(r));
    while (queue.length > 0) await insertBatch(queue.splice(0, MAX_BATCH));
  } finally {
    draining = null;
  }
}

function insertGrouped(key: string, expiresAt: Date): Promise<boolean> {
  const done = new Promise<boolean>((resolve, reject) => queue.push({ key, expiresAt, resolve, reject }));
  draining ??= drain();
  return done;
}

/**
 * Every writer of ReplayNonce calls this after an insert: every CLEANUP_EVERY inserts, rows that
 * expired over a minute ago are deleted in the background (their tokens or assertions would no
 * longer verify, so forgetting them opens nothing).
 */
export function noteNonceStored(): void {
  if (++sinceCleanup < CLEANUP_EVERY) return;
  sinceCleanup = 0;
  void getDb()
    .then((db) => db.replayNonce.deleteMany({ where: { expiresAt: { lt: new Date(Date.now() - 60_000) } } }))
    .catch((e: unknown) => {
      log.warn("replay nonce cleanup failed", { reason: e instanceof Error ? e.message : "unknown" });
    });
}

/** true when this (gateway, jti) was not seen before; false for a replay. */
export async function consumeAssertionId(gatewayId: string, jti: string, expiresAt: Date): Promise<boolean> {
  const db = await getDb();
  // Hashed so that arbitrary jti strings become a fixed-size key.
  const key = `jti:${gatewayId}:${sha256Hex(jti)}`;
  const fresh = getHotPool()
    ? await insertGrouped(key, expiresAt)
    : (await db.$executeRaw`INSERT INTO "ReplayNonce" ("key", "expiresAt") VALUES (${key}, ${expiresAt}) ON CONFLICT DO NOTHING`) === 1;
  noteNonceStored();
  return fresh;
}
