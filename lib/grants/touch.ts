// Grant.lastUsedAt / lastUsedGatewayId without an extra round trip per resolve: uses are
// collected in memory and written in one statement per grant at most once a second. Losing the
// last second of "last used" on a crash is acceptable; it is attribution metadata, not audit
// (every use is in the audit log already).
import { getDb } from "@/lib/db/client";
import { log } from "@/lib/log";

const FLUSH_MS = 1_000;
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
    await Promise.all(
      batch.map(([id, use]) =>
        db.grant.updateMany({ where: { id }, data: { lastUsedAt: use.at, lastUsedGatewayId: use.gatewayId } }),
      ),
    );
  } catch (e) {
    log.warn("recording grant use failed", { reason: e instanceof Error ? e.message : "unknown" });
  }
}
