// Decline on the consent page: pending → declined (guarded), audited, gateway notified.
import type { Viewer } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { declineElicitation } from "@/lib/elicitations/settle";
import { isAppError } from "@/lib/errors";
import { notifyElicitationSettled } from "@/lib/gateways/webhook";
import { checkElicitationAccess } from "./access";
import { auditElicitationStep } from "./audit";
import type { RefusalReason } from "./refusal";

export async function declineConsent(elicitationId: string, viewer: Viewer): Promise<{ ok: true } | { ok: false; reason: RefusalReason }> {
  const access = await checkElicitationAccess(elicitationId, viewer, "decline");
  if (!access.ok) return { ok: false, reason: access.reason };
  const { elicitation } = access;
  const db = await getDb();
  try {
    await db.$transaction(async (tx) => {
      await declineElicitation(elicitation.id, { issuer: viewer.issuer, subject: viewer.subject }, tx);
      // Any authorization started earlier for it can no longer complete.
      await tx.oAuthTransaction.deleteMany({ where: { elicitationId: elicitation.id } });
      await auditElicitationStep(viewer, elicitation, { action: "elicitation.declined", decision: "deny", reason: "declined_in_portal" }, tx);
    });
  } catch (e) {
    // Lost a race with expiry or another tab: report the state it is in now.
    if (isAppError(e) && e.code === "conflict") return { ok: false, reason: "completed" };
    throw e;
  }
  void notifyElicitationSettled(elicitation.id);
  return { ok: true };
}
