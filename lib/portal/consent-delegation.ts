// "Also let this agent act for me while I am away, for N days" on the consent page (design.md
// invariant 13). Offered only when the request carries a verified agent (an actor token proved
// it): a claimed agent name proves nothing, so there would be nobody to delegate to. The
// delegation covers exactly what was asked (the request's scopes), only through the gateway that
// asked, for 1..DELEGATION_MAX_DAYS days, and is created in the same transaction as the approval.
import type { AuditTx } from "@/lib/audit/append";
import type { Viewer } from "@/lib/auth/session";
import { checkDelegationDays, insertDelegation } from "@/lib/delegations/create";
import { AppError, isAppError } from "@/lib/errors";
import type { Elicitation } from "@/lib/generated/prisma/client";
import { auditElicitationStep } from "./audit";

/** Before anything is started: the days are within bounds and there is a verified agent. */
export function checkConsentDelegation(elicitation: Pick<Elicitation, "agentId">, days: number | null): void {
  if (days === null) return;
  if (!elicitation.agentId) throw new AppError("invalid_request", "Only a verified agent can be given a standing delegation");
  checkDelegationDays(days);
}

/**
 * Creates the delegation with the approval. If it can no longer be created (the agent was
 * disabled, the user narrowed the scopes at the provider, the maximum was lowered) the approval
 * still stands: the refusal is audited and the user sees no delegation on their connections page.
 */
export async function delegateAtConsent(
  tx: AuditTx,
  input: { viewer: Pick<Viewer, "userId">; grantId: string; elicitation: Elicitation; days: number | null },
): Promise<string | null> {
  const { elicitation, days } = input;
  if (days === null || !elicitation.agentId) return null;
  try {
    const delegation = await insertDelegation(
      tx,
      {
        userId: input.viewer.userId,
        grantId: input.grantId,
        agentId: elicitation.agentId,
        scopes: elicitation.scopes,
        days,
        gatewayId: elicitation.gatewayId,
      },
      { elicitationId: elicitation.id },
    );
    return delegation.id;
  } catch (e) {
    if (!isAppError(e) || (e.code !== "not_found" && e.code !== "invalid_request")) throw e;
    await auditElicitationStep(input.viewer, elicitation, { action: "delegation.not_created", decision: "deny", reason: e.message.slice(0, 120) }, tx);
    return null;
  }
}
