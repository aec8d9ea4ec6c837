// Single use of client-assertion `jti`s across every instance: the first INSERT wins, a replay
// finds the row (ON CONFLICT DO NOTHING -> 0 rows). Rows are kept until the assertion expires.
import { sha256Hex } from "@/lib/crypto/hash";
import { getDb } from "@/lib/db/client";
import { log } from "@/lib/log";

let sinceCleanup = 0;
const CLEANUP_EVERY = 500;

/** true when this (gateway, jti) was not seen before; false for a replay. */
export async function consumeAssertionId(gatewayId: string, jti: string, expiresAt: Date): Promise<boolean> {
  const db = await getDb();
  // Hashed so that arbitrary jti strings become a fixed-size key.
  const key = `jti:${gatewayId}:${sha256Hex(jti)}`;
  const inserted = await db.$executeRaw`INSERT INTO "ReplayNonce" ("key", "expiresAt") VALUES (${key}, ${expiresAt}) ON CONFLICT DO NOTHING`;
  if (++sinceCleanup >= CLEANUP_EVERY) {
    sinceCleanup = 0;
    // Expired nonces can no longer be replayed (the assertion itself would be expired).
    db.replayNonce.deleteMany({ where: { expiresAt: { lt: new Date(Date.now() - 60_000) } } }).catch((e: unknown) => {
      log.warn("replay nonce cleanup failed", { reason: e instanceof Error ? e.message : "unknown" });
    });
  }
  return inserted === 1;
}
