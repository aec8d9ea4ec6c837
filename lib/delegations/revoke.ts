// Revoking a delegation: effective on the agent's next call on every instance (the credential
// path reads the row each time). By its user, or by an admin. Audited.
import { appendAudit } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";

export async function revokeDelegation(
  delegationId: string,
  actor: { type: "user" | "admin"; id: string },
  opts: { expectedUserId?: string; requestId?: string } = {},
): Promise<void> {
  const db = await getDb();
  await db.$transaction(async (tx) => {
    const now = new Date();
    const delegation = await tx.delegation.findFirst({
      where: { id: delegationId, ...(opts.expectedUserId ? { userId: opts.expectedUserId } : {}) },
      select: { id: true, userId: true, agentId: true, providerId: true, gatewayId: true, revokedAt: true },
    });
    if (!delegation) throw new AppError("not_found", "No such delegation");
    const { count } = await tx.delegation.updateMany({
      where: { id: delegation.id, revokedAt: null },
      data: { revokedAt: now, revokedById: `${actor.type}:${actor.id}` },
    });
    if (count !== 1) throw new AppError("conflict", "The delegation is already revoked");
    await appendAudit(
      {
        actorType: actor.type,
        actorId: actor.id,
        userId: delegation.userId,
        gatewayId: delegation.gatewayId,
        providerId: delegation.providerId,
        action: "delegation.revoked",
        decision: "info",
        requestId: opts.requestId ?? null,
        context: { delegationId: delegation.id, agentId: delegation.agentId },
      },
      tx,
    );
  });
}
