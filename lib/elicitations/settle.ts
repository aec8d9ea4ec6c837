// State transitions out of `pending`, each one guarded statement: the row changes only if it is
// still pending, not expired, and (for the user's own actions) belongs to that user. A second
// completion, a completion after expiry, or one by another user changes nothing and fails.
// The gateway's webhook event is written to the outbox in the same transaction
// (lib/gateways/webhook.ts); callers call notifyElicitationSettled after the commit.
import { getDb, type Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { recordElicitation } from "@/lib/observability/metrics";
import { announceElicitationChange } from "@/lib/gateways/elicitation-watch";
import { enqueueElicitationSettled } from "@/lib/gateways/webhook";

type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

export interface ElicitationOwner {
  issuer: string;
  subject: string;
}

async function transition(
  id: string,
  owner: ElicitationOwner | null,
  data: { status: "completed" | "declined" | "failed"; completedAt?: Date; failureReason?: string },
  tx?: Tx,
): Promise<void> {
  if (!tx) return (await getDb()).$transaction((own) => transition(id, owner, data, own));
  const db = tx;
  const now = new Date();
  const { count } = await db.elicitation.updateMany({
    where: {
      id,
      status: "pending",
      expiresAt: { gt: now },
      ...(owner ? { userIssuer: owner.issuer, userSubject: owner.subject } : {}),
    },
    data,
  });
  if (count !== 1) throw new AppError("conflict", "the request is no longer pending");
  await enqueueElicitationSettled(db, id);
  await announceElicitationChange(db, id);
  recordElicitation(data.status);
}

/** pending → completed, by its own user, before it expires. */
export function completeElicitation(id: string, owner: ElicitationOwner, tx?: Tx): Promise<void> {
  return transition(id, owner, { status: "completed", completedAt: new Date() }, tx);
}

/** pending → declined, by its own user (in the portal, or at the provider: access_denied). */
export function declineElicitation(id: string, owner: ElicitationOwner, tx?: Tx): Promise<void> {
  return transition(id, owner, { status: "declined", completedAt: new Date() }, tx);
}

/** pending → failed, with a short machine-readable reason (never upstream text verbatim). */
export function failElicitation(id: string, owner: ElicitationOwner, reason: string, tx?: Tx): Promise<void> {
  return transition(id, owner, { status: "failed", completedAt: new Date(), failureReason: reason.slice(0, 100) }, tx);
}
