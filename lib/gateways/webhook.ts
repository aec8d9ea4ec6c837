// Tells a gateway that one of its elicitations settled (so it can send MCP's
// notifications/elicitation/complete). The body is a compact JWS signed with Frontdesk's key
// (verify with /.well-known/jwks.json), POSTed with a bounded timeout. Never throws: the
// status endpoint remains the source of truth, the webhook is a hint.
import { getDb } from "@/lib/db/client";
import { log } from "@/lib/log";
import { signFrontdeskJwt } from "@/lib/signing/sign";
import { wakeElicitationWaiters } from "./elicitation-watch";

export const WEBHOOK_TIMEOUT_MS = 5_000;
export const WEBHOOK_JWT_TYPE = "frontdesk-webhook+jwt";

export async function notifyElicitationSettled(elicitationId: string): Promise<void> {
  try {
    wakeElicitationWaiters(elicitationId);
    const db = await getDb();
    const elicitation = await db.elicitation.findUnique({
      where: { id: elicitationId },
      select: { id: true, status: true, completedAt: true, gatewayId: true, gateway: { select: { webhookUrl: true, status: true } } },
    });
    const url = elicitation?.gateway.webhookUrl;
    if (!elicitation || !url || elicitation.gateway.status !== "active") return;
    const jws = await signFrontdeskJwt(
      {
        event: "elicitation.settled",
        elicitation_id: elicitation.id,
        status: elicitation.status,
        completed_at: elicitation.completedAt ? Math.floor(elicitation.completedAt.getTime() / 1000) : null,
      },
      { audience: elicitation.gatewayId, expiresInSeconds: 300, typ: WEBHOOK_JWT_TYPE },
    );
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/jwt" },
      body: jws,
      redirect: "error",
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    await res.body?.cancel().catch(() => undefined);
    if (!res.ok) log.warn("elicitation webhook rejected", { elicitationId, gatewayId: elicitation.gatewayId, status: res.status });
  } catch (e) {
    log.warn("elicitation webhook failed", { elicitationId, reason: e instanceof Error ? e.name : "unknown" });
  }
}
