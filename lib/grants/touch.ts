// Grant.lastUsedAt / lastUsedGatewayId without an extra round trip per resolve: uses are
// collected in memory and written in one statement at most once a second. Losing the
// last second of "last used" on a crash is acceptable; it is attribution metadata, not audit
// (every use is in the audit log already).
import { getDb } from "@/lib/db/client";
import { log } from "@/lib/log";

const FLUSH_MS = 1_000;

// `at` travels as an ISO string ending in Z; the cast to timestamp (without zone) keeps the UTC
// wall time, which is how Prisma stores DateTime (as in lib/audit/chain.ts).
const USES_SQL = `
  UPDATE "Grant" AS g SET "lastUsedAt" = u.at, "lastUsedGatewayId" = u."gatewayId"
  FROM jsonb_to_recordset($1::jsonb) AS u(id text, at timestamp(3), "gatewayId" text)
  WHERE g.id = u.id`;
const pending = new Map<string, { at: Date; gatewayId: string }>();
let timer: NodeJS.Timeout | undefined;

export function markGrantUsed(grantId: string, gatewayId: string): void {
  pending.set(grantId, { at: new Date(), gatewayId });
  if (!timer) {
    timer = setTimeout(() => void flushGrantUses(), FLUSH_MS);
    timer.unref();
  }
}

export async function flushGrantUses(): Promise<void> {
  if (timer) clearTimeout(timer);
  timer = undefined;
  if (pending.size === 0) return;
  const batch = [...pending.entries()];
  pending.clear();
  try {
    const db = await getDb();
    // One statement for every grant used in the last second: a Prisma updateMany per grant cost
    // ~0.5 ms of CPU each, i.e. up to half a core with 1,000 active grants (npm run bench).
    // updatedAt is left alone on purpose: it tells when the grant itself last changed.
    await db.$executeRawUnsafe(USES_SQL, JSON.stringify(batch.map(([id, use]) => ({ id, at: use.at.toISOString(), gatewayId: use.gatewayId }))));
  } catch (e) {
    log.warn("recording grant use failed", { reason: e instanceof Error ? e.message : "unknown" });
  }
}
