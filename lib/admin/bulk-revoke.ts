// Bulk revocation by user, provider or gateway, built on revokeGrant (one revoke per grant:
// ciphertext deleted, RFC 7009 upstream where offered, a grant.revoked audit row each), plus one
// summary audit event for the bulk request itself.
import { appendAudit } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { AppError, isAppError } from "@/lib/errors";
import { revokeGrant } from "@/lib/grants/revoke";
import { log } from "@/lib/log";
import type { AdminActor } from "./access";

export type BulkRevokeTarget = { by: "user"; userId: string } | { by: "provider"; providerId: string } | { by: "gateway"; gatewayId: string };

/** Upstream revocation calls in flight at once. */
const CONCURRENCY = 4;
/** A single request revokes at most this many; the admin repeats for more (each run is audited). */
export const BULK_LIMIT = 5_000;

/**
 * Grants (not yet revoked) the target covers. For a gateway: every grant it ever received a
 * credential from (allowed resolves in the audit log) or last used.
 */
export async function findGrantsForBulkRevoke(target: BulkRevokeTarget): Promise<string[]> {
  const db = await getDb();
  const live = { status: { not: "revoked" as const } };
  switch (target.by) {
    case "user":
      return (await db.grant.findMany({ where: { userId: target.userId, ...live }, select: { id: true }, take: BULK_LIMIT })).map((g) => g.id);
    case "provider":
      return (await db.grant.findMany({ where: { providerId: target.providerId, ...live }, select: { id: true }, take: BULK_LIMIT })).map(
        (g) => g.id,
      );
    case "gateway": {
      const used = await db.$queryRaw<{ grantId: string }[]>`
        SELECT DISTINCT context->>'grantId' AS "grantId" FROM "AuditEvent"
        WHERE "gatewayId" = ${target.gatewayId} AND decision = 'allow'
          AND action IN ('resolve', 'token_exchange') AND context ? 'grantId'`;
      const ids = used.map((u) => u.grantId).filter(Boolean);
      return (
        await db.grant.findMany({
          where: { ...live, OR: [{ lastUsedGatewayId: target.gatewayId }, { id: { in: ids } }] },
          select: { id: true },
          take: BULK_LIMIT,
        })
      ).map((g) => g.id);
    }
  }
}

export interface BulkRevokeResult {
  revoked: number;
  upstreamRevoked: number;
  failed: number;
}

function targetContext(target: BulkRevokeTarget): { userId?: string; providerId?: string; gatewayId?: string } {
  return target.by === "user" ? { userId: target.userId } : target.by === "provider" ? { providerId: target.providerId } : { gatewayId: target.gatewayId };
}

export async function bulkRevokeGrants(target: BulkRevokeTarget, actor: AdminActor, opts: { requestId?: string } = {}): Promise<BulkRevokeResult> {
  const ids = await findGrantsForBulkRevoke(target);
  if (ids.length === 0) throw new AppError("not_found", "No active connections match; nothing was revoked.");
  const result: BulkRevokeResult = { revoked: 0, upstreamRevoked: 0, failed: 0 };
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++]!;
      try {
        const { upstreamRevoked } = await revokeGrant(id, actor, { requestId: opts.requestId });
        result.revoked++;
        if (upstreamRevoked) result.upstreamRevoked++;
      } catch (e) {
        // Revoked concurrently (not_found cannot happen for an existing id) or a database error:
        // counted and reported; the others still proceed.
        result.failed++;
        log.warn("bulk revoke: one grant failed", { grantId: id, reason: isAppError(e) ? e.code : "unknown" });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ids.length) }, worker));
  const scope = targetContext(target);
  await appendAudit({
    actorType: "admin",
    actorId: actor.id,
    ...scope,
    action: "admin.grants_bulk_revoked",
    decision: "info",
    reason: `by_${target.by}`,
    context: { matched: ids.length, ...result },
    requestId: opts.requestId ?? null,
  });
  return result;
}
