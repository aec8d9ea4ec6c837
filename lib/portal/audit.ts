// The audit record of one step a signed-in user takes on an elicitation (approve, complete,
// decline, fail…), so every portal decision is attributed the same way.
import { appendAudit, type AuditTx } from "@/lib/audit/append";
import type { Viewer } from "@/lib/auth/session";

export interface ElicitationStep {
  action: string;
  decision: "allow" | "deny" | "info";
  reason?: string | null;
  /** Extra, non-secret attributes; the elicitation id is always recorded. */
  context?: Record<string, unknown>;
}

export async function auditElicitationStep(
  viewer: Pick<Viewer, "userId">,
  elicitation: { id: string; gatewayId: string; providerId: string },
  step: ElicitationStep,
  tx?: AuditTx,
): Promise<void> {
  await appendAudit(
    {
      actorType: "user",
      actorId: viewer.userId,
      userId: viewer.userId,
      gatewayId: elicitation.gatewayId,
      providerId: elicitation.providerId,
      action: step.action,
      decision: step.decision,
      reason: step.reason ?? null,
      context: { elicitationId: elicitation.id, ...step.context },
    },
    tx,
  );
}
