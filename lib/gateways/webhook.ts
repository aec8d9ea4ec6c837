// Tells a gateway that one of its elicitations settled (so it can send MCP's
// notifications/elicitation/complete). Written to the outbox in the settling transaction and
// delivered from there (lib/outbox): at least once, retried with backoff. The body is a compact
// JWS signed with Frontdesk's key (verify with /.well-known/jwks.json) whose `jti` is the
// outbox event id, the same on every retry. The status endpoint remains the source of truth;
// the webhook lets the gateway stop waiting early.
import type { AuditTx } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { enqueueOutboxEvents } from "@/lib/outbox/enqueue";
import type { OutboxPayload } from "@/lib/outbox/kinds";
import { postToReceiver, type AttemptBudget } from "@/lib/outbox/post";
import { wakeOutbox } from "@/lib/outbox/wake";
import { signFrontdeskJwt } from "@/lib/signing/sign";
import { wakeElicitationWaiters } from "./elicitation-watch";

export const WEBHOOK_JWT_TYPE = "frontdesk-webhook+jwt";

/** In the transaction that settles the elicitation: one event for its gateway, if it has a webhook. */
export async function enqueueElicitationSettled(tx: AuditTx, elicitationId: string): Promise<void> {
  const found = await tx.elicitation.findUnique({
    where: { id: elicitationId },
    select: { gatewayId: true, gateway: { select: { webhookUrl: true, status: true } } },
  });
  if (!found?.gateway.webhookUrl || found.gateway.status !== "active") return;
  await enqueueOutboxEvents(tx, [{ kind: "gateway.elicitation_settled", target: found.gatewayId, payload: { elicitationId } }]);
}

/** After the settling transaction committed: wake local long-polls and deliver the webhook now. */
export function notifyElicitationSettled(elicitationId: string): void {
  wakeElicitationWaiters(elicitationId);
  wakeOutbox();
}

export async function deliverElicitationSettled(
  event: { id: string; target: string; payload: OutboxPayload<"gateway.elicitation_settled"> },
  opts: AttemptBudget,
): Promise<"delivered" | "skipped:no_webhook" | "skipped:gone"> {
  const db = await getDb();
  const elicitation = await db.elicitation.findUnique({
    where: { id: event.payload.elicitationId },
    select: { id: true, status: true, completedAt: true, gatewayId: true, gateway: { select: { webhookUrl: true, status: true } } },
  });
  if (!elicitation) return "skipped:gone";
  const url = elicitation.gateway.webhookUrl;
  // Unregistered or disabled since: a disabled gateway gets nothing.
  if (!url || elicitation.gateway.status !== "active") return "skipped:no_webhook";
  const jws = await signFrontdeskJwt(
    {
      event: "elicitation.settled",
      elicitation_id: elicitation.id,
      status: elicitation.status,
      completed_at: elicitation.completedAt ? Math.floor(elicitation.completedAt.getTime() / 1000) : null,
    },
    { audience: elicitation.gatewayId, expiresInSeconds: 300, typ: WEBHOOK_JWT_TYPE, jti: event.id },
  );
  await postToReceiver(url, jws, "application/jwt", opts);
  return "delivered";
}
