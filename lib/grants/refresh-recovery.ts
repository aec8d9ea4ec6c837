// Redoes interrupted refreshes while the provider still accepts the old refresh token.
//
// A refresh marks the grant (Grant.refreshStartedAt, refresh.ts) before it asks the provider and
// clears the mark with the outcome. A mark left behind means the refreshing process died, or its
// transaction was rolled back, after the provider may have rotated the refresh token: the new
// one is lost, the old one is spent. A provider with a reuse grace period
// (Provider.refreshReuseGraceSeconds: Okta's, Auth0's reuse interval) still takes the old token
// for that long, so every instance looks for such grants every REFRESH_RECOVERY_POLL_MS and
// refreshes them again at once, not whenever the next resolve happens to come (by then the grace
// may be over and the provider would revoke the grant). The grace is counted from the first
// interrupted attempt (the mark is not moved by a retry), never longer than the provider's.
// Without a grace nothing can be recovered: the next refresh gets invalid_grant and the grant
// becomes needs_reauth with the reason `refresh_interrupted`.
import { getDb } from "@/lib/db/client";
import { env } from "@/lib/env";
import { log } from "@/lib/log";
import { findProviderById } from "@/lib/providers/find";
import { ensureFreshGrant } from "./refresh";
import { SEALED_GRANT_SELECT } from "./sealed";

/** Grants looked at per pass; the next pass takes the rest. */
const BATCH = 50;

/** Interrupted refreshes whose provider's grace has not run out yet, oldest first. */
async function findInterrupted(): Promise<{ id: string; providerId: string }[]> {
  const db = await getDb();
  // Timestamps are stored as UTC wall time (timestamp without time zone), hence AT TIME ZONE.
  return db.$queryRaw<{ id: string; providerId: string }[]>`
    SELECT g."id", g."providerId"
      FROM "Grant" g JOIN "Provider" p ON p."id" = g."providerId"
     WHERE g."refreshStartedAt" IS NOT NULL
       AND g."status" = 'active' AND p."status" = 'active'
       AND p."refreshReuseGraceSeconds" > 0
       AND g."refreshStartedAt" > (now() AT TIME ZONE 'UTC') - make_interval(secs => p."refreshReuseGraceSeconds")
     ORDER BY g."refreshStartedAt"
     LIMIT ${BATCH}`;
}

/**
 * One pass: refreshes each interrupted grant again (skipping any another refresh holds right
 * now; it records its own outcome). Returns how many were refreshed.
 */
export async function recoverInterruptedRefreshes(): Promise<{ found: number; recovered: number }> {
  const candidates = await findInterrupted();
  if (candidates.length === 0) return { found: 0, recovered: 0 };
  const db = await getDb();
  let recovered = 0;
  for (const { id, providerId } of candidates) {
    const [grant, provider] = await Promise.all([db.grant.findUnique({ where: { id }, select: SEALED_GRANT_SELECT }), findProviderById(providerId)]);
    if (!grant || !provider) continue;
    try {
      const outcome = await ensureFreshGrant(grant, provider, {}, { recover: true });
      if (outcome.kind === "fresh" && outcome.refreshed) recovered++;
    } catch (e) {
      // The provider or the database is down: the mark stays, the next pass tries again.
      log.warn("refresh recovery failed", { grantId: id, providerId, reason: e instanceof Error ? e.name : "unknown" });
    }
  }
  if (recovered > 0) log.info("interrupted refreshes recovered", { recovered, found: candidates.length });
  return { found: candidates.length, recovered };
}

// On globalThis for the dev server only, so its copies of lib/ (instrumentation, routes, actions)
// run one loop per process; a production build has one copy per process (README, Architecture).
const holder = globalThis as typeof globalThis & { __frontdeskRefreshRecovery?: NodeJS.Timeout };

/** Starts this process's recovery loop (server processes; idempotent). */
export function startRefreshRecovery(): void {
  if (holder.__frontdeskRefreshRecovery) return;
  let running = false;
  holder.__frontdeskRefreshRecovery = setInterval(() => {
    if (running) return;
    running = true;
    recoverInterruptedRefreshes()
      .catch((e: unknown) => log.warn("refresh recovery pass failed", { reason: e instanceof Error ? e.name : "unknown" }))
      .finally(() => (running = false));
  }, env().REFRESH_RECOVERY_POLL_MS);
  holder.__frontdeskRefreshRecovery.unref();
}

export function stopRefreshRecovery(): void {
  clearInterval(holder.__frontdeskRefreshRecovery);
  holder.__frontdeskRefreshRecovery = undefined;
}
