// Reading an elicitation. Expiry is applied lazily: a pending elicitation past its deadline is
// moved to `expired` with one guarded statement (so exactly one reader audits it).
import { appendAudit, auditSubjectRef } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { recordElicitation } from "@/lib/observability/metrics";
import type { Elicitation } from "@/lib/generated/prisma/client";
import { announceElicitationChange } from "@/lib/gateways/elicitation-watch";
import { enqueueElicitationSettled, notifyElicitationSettled } from "@/lib/gateways/webhook";
import { isElicitationId } from "./context";

export async function getElicitation(id: string): Promise<Elicitation | null> {
  if (!isElicitationId(id)) return null;
  const db = await getDb();
  const found = await db.elicitation.findUnique({ where: { id } });
  if (!found || found.status !== "pending" || found.expiresAt.getTime() > Date.now()) return found;
  const expired = await db.$transaction(async (tx) => {
    const now = new Date();
    const { count } = await tx.elicitation.updateMany({
      where: { id, status: "pending", expiresAt: { lte: now } },
      data: { status: "expired" },
    });
    if (count === 1) {
      const user = await tx.user.findUnique({
        where: { issuer_subject: { issuer: found.userIssuer, subject: found.userSubject } },
        select: { id: true },
      });
      await appendAudit(
        {
          actorType: "system",
          userId: user?.id ?? auditSubjectRef(found.userIssuer, found.userSubject),
          gatewayId: found.gatewayId,
          providerId: found.providerId,
          action: "elicitation.expired",
          decision: "info",
          context: { elicitationId: id },
        },
        tx,
      );
      await enqueueElicitationSettled(tx, id);
      await announceElicitationChange(tx, id);
    }
    return count === 1;
  });
  if (expired) {
    recordElicitation("expired");
    notifyElicitationSettled(id);
    return { ...found, status: "expired" };
  }
  return db.elicitation.findUnique({ where: { id } });
}
