// Single use of client-assertion `jti`s across every instance: the first INSERT wins, a replay
// finds the row (ON CONFLICT DO NOTHING -> not inserted). Rows are kept until the assertion expires.
//
// On PostgreSQL the inserts of concurrent requests are grouped (lib/db/grouped-statement.ts): one
// committing `INSERT ... ON CONFLICT DO NOTHING` per batch on the hot-path pool, committed before
// any caller of the batch gets its answer, so single use holds across instances exactly as with
// one INSERT per request. Batches do not wait for each other (one per hot-path connection): with
// one batch in flight at a time, a request could wait for another batch's commit before its own
// was sent, while the instance had CPU to spare (npm run bench, machine idle column). The same key
// twice in one process at once is answered here, not sent: a batch sends each key once and its
// callers would share the answer, and of two concurrent uses only one may be fresh.
// On the embedded database each insert goes through Prisma.
import { sha256Hex } from "@/lib/crypto/hash";
import { getDb } from "@/lib/db/client";
import { groupedStatement } from "@/lib/db/grouped-statement";
import { getHotPool } from "@/lib/db/hot-pool";
import { log } from "@/lib/log";

let sinceCleanup = 0;
const CLEANUP_EVERY = 500;

// expiresAt as an ISO string ending in Z, cast to timestamp: the UTC wall time, as Prisma stores it.
const insertJti = groupedStatement<{ key: string; expiresAt: Date }, { i: number }>(() => getHotPool()!, {
  name: "frontdesk-consume-jtis",
  maxKeys: 500,
  toJson: (k) => ({ key: k.key, expiresAt: k.expiresAt.toISOString() }),
  text: `
    WITH k AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(i int, "key" text, "expiresAt" timestamp(3))),
         inserted AS (INSERT INTO "ReplayNonce" ("key", "expiresAt") SELECT "key", "expiresAt" FROM k ON CONFLICT DO NOTHING RETURNING "key")
    SELECT k.i FROM k JOIN inserted USING ("key")`,
});

// Keys being inserted by this process right now.
const inFlight = new Set<string>();

async function insertOnce(key: string, expiresAt: Date): Promise<boolean> {
  if (inFlight.has(key)) return false;
  inFlight.add(key);
  try {
    return (await insertJti({ key, expiresAt })).length === 1;
  } finally {
    inFlight.delete(key);
  }
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
  // Hashed so that arbitrary jti strings become a fixed-size key.
  const key = `jti:${gatewayId}:${sha256Hex(jti)}`;
  const fresh = getHotPool()
    ? await insertOnce(key, expiresAt)
    : (await (await getDb()).$executeRaw`INSERT INTO "ReplayNonce" ("key", "expiresAt") VALUES (${key}, ${expiresAt}) ON CONFLICT DO NOTHING`) === 1;
  noteNonceStored();
  return fresh;
}
