// The first use of a standing delegation (design.md invariant 13: "the user can be told on first
// use"). lib/delegations/authorize.ts marks the use and says whether it was the first; then the
// audit row `delegation.first_used` and the user's e-mail notice (lib/notify, if e-mail is set up
// and the user has notices on) are written in one transaction, so a notice is queued exactly when
// the first use is on record. The portal's Requests page lists recent first uses (listFirstUses).
import { appendAudit } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { enqueueDelegationFirstUseNotice } from "@/lib/notify/enqueue";
import { wakeOutbox } from "@/lib/outbox/wake";

export async function noteDelegationFirstUse(input: {
  delegationId: string;
  userId: string;
  gatewayId: string;
  providerId: string;
  agentId: string | undefined;
  requestId: string;
}): Promise<void> {
  const db = await getDb();
  await db.$transaction(async (tx) => {
    await appendAudit(
      {
        actorType: "gateway",
        actorId: input.gatewayId,
        userId: input.userId,
        gatewayId: input.gatewayId,
        providerId: input.providerId,
        action: "delegation.first_used",
        decision: "info",
        requestId: input.requestId,
        context: { delegationId: input.delegationId, agentId: input.agentId },
      },
      tx,
    );
    const user = await tx.user.findUnique({ where: { id: input.userId }, select: { id: true, email: true, noticesEnabled: true } });
    if (user) await enqueueDelegationFirstUseNotice(tx, { delegationId: input.delegationId, gatewayId: input.gatewayId, user });
  });
  wakeOutbox();
}

export interface FirstUse {
  delegationId: string;
  agentName: string;
  providerName: string;
  firstUsedAt: Date;
  state: "active" | "expired" | "revoked";
}

/** Shown to the user for this long after a first use. */
export const FIRST_USE_SHOWN_DAYS = 14;

/** The user's own delegations first used in the last FIRST_USE_SHOWN_DAYS days, newest first. */
export async function listFirstUses(userId: string): Promise<FirstUse[]> {
  const db = await getDb();
  const since = new Date(Date.now() - FIRST_USE_SHOWN_DAYS * 86_400_000);
  const rows = await db.delegation.findMany({
    where: { userId, firstUsedAt: { gte: since } },
    orderBy: { firstUsedAt: "desc" },
    take: 50,
    select: { id: true, firstUsedAt: true, expiresAt: true, revokedAt: true, agent: { select: { displayName: true } }, provider: { select: { displayName: true } } },
  });
  const now = Date.now();
  return rows.map((r) => ({
    delegationId: r.id,
    agentName: r.agent.displayName,
    providerName: r.provider.displayName,
    firstUsedAt: r.firstUsedAt!,
    state: r.revokedAt ? "revoked" : r.expiresAt.getTime() <= now ? "expired" : "active",
  }));
}
