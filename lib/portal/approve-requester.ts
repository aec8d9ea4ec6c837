// One-click approval of a new requester (design.md invariant 11): the user already holds a
// connection covering the request, so approving records the requester and completes the
// elicitation, with no upstream round trip. Audited, gateway notified like any completion.
import type { Viewer } from "@/lib/auth/session";
import { approveElicitationRequester } from "@/lib/consent/approvals";
import { getDb } from "@/lib/db/client";
import { completeElicitation } from "@/lib/elicitations/settle";
import { isAppError } from "@/lib/errors";
import { notifyElicitationSettled } from "@/lib/gateways/webhook";
import { missingScopes } from "@/lib/grants/sealed";
import { checkElicitationAccess } from "./access";
import { checkConsentDelegation, delegateAtConsent } from "./consent-delegation";
import { auditElicitationStep } from "./audit";
import type { RefusalReason } from "./refusal";

export type ApproveRequesterResult =
  | { ok: true }
  | { ok: false; reason: RefusalReason }
  /** The connection no longer covers the request (revoked, re-authorization needed, fewer scopes): connect instead. */
  | { ok: false; reason: "needs_connect" };

/** `delegateDays`: the user also chose a standing delegation to the requesting agent (consent-delegation.ts). */
export async function approveRequester(elicitationId: string, viewer: Viewer, opts: { delegateDays?: number | null } = {}): Promise<ApproveRequesterResult> {
  const access = await checkElicitationAccess(elicitationId, viewer, "approve");
  if (!access.ok) return { ok: false, reason: access.reason };
  const { elicitation } = access;
  const delegateDays = opts.delegateDays ?? null;
  checkConsentDelegation(elicitation, delegateDays);
  const db = await getDb();
  try {
    const outcome = await db.$transaction(async (tx) => {
      const grant = await tx.grant.findUnique({
        where: { userId_providerId: { userId: viewer.userId, providerId: elicitation.providerId } },
        select: { id: true, status: true, scopes: true },
      });
      if (!grant || grant.status !== "active" || missingScopes(grant.scopes, elicitation.scopes).length > 0) return "needs_connect" as const;
      const approvalId = await approveElicitationRequester(tx, { grantId: grant.id, userId: viewer.userId, elicitation, how: "one_click" });
      await delegateAtConsent(tx, { viewer, grantId: grant.id, elicitation, days: delegateDays });
      await completeElicitation(elicitation.id, { issuer: viewer.issuer, subject: viewer.subject }, tx);
      await auditElicitationStep(
        viewer,
        elicitation,
        { action: "elicitation.completed", decision: "allow", context: { scopes: elicitation.scopes, method: "requester_approval", approvalId } },
        tx,
      );
      return "approved" as const;
    });
    if (outcome === "needs_connect") return { ok: false, reason: "needs_connect" };
  } catch (e) {
    if (isAppError(e) && e.code === "conflict") return { ok: false, reason: "completed" };
    throw e;
  }
  void notifyElicitationSettled(elicitation.id);
  return { ok: true };
}
