// Who may see and act on an elicitation: only the user it was created for (same issuer AND
// subject), only while it is pending and unexpired (design.md invariant 3). Every refused
// attempt is audited; the owner looking at their own settled request is not an attempt.
import type { Viewer } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { isElicitationId } from "@/lib/elicitations/context";
import { getElicitation } from "@/lib/elicitations/read";
import type { Elicitation, Provider } from "@/lib/generated/prisma/client";
import { findProviderById } from "@/lib/providers/find";
import { auditRefusal, type RefusalReason } from "./refusal";

export type Attempt = "view" | "approve" | "decline" | "api_key";

export type AccessResult =
  | { ok: true; elicitation: Elicitation; provider: Provider; gateway: { id: string; name: string } }
  | { ok: false; reason: RefusalReason; elicitationId?: string };

export function isOwner(elicitation: Pick<Elicitation, "userIssuer" | "userSubject">, viewer: Viewer): boolean {
  return elicitation.userIssuer === viewer.issuer && elicitation.userSubject === viewer.subject;
}

export async function checkElicitationAccess(id: string, viewer: Viewer, attempt: Attempt): Promise<AccessResult> {
  if (!isElicitationId(id)) {
    await auditRefusal({ viewer, reason: "malformed", attempt });
    return { ok: false, reason: "malformed" };
  }
  const elicitation = await getElicitation(id);
  if (!elicitation) {
    await auditRefusal({ viewer, reason: "unknown", elicitationId: id, attempt });
    return { ok: false, reason: "unknown" };
  }
  const refs = { elicitationId: id, gatewayId: elicitation.gatewayId, providerId: elicitation.providerId };
  if (!isOwner(elicitation, viewer)) {
    await auditRefusal({ viewer, reason: "wrong_user", attempt, ...refs });
    return { ok: false, reason: "wrong_user" };
  }
  if (elicitation.status === "expired" || (elicitation.status === "pending" && elicitation.expiresAt.getTime() <= Date.now())) {
    await auditRefusal({ viewer, reason: "expired", attempt, ...refs });
    return { ok: false, reason: "expired", elicitationId: id };
  }
  if (elicitation.status !== "pending") {
    if (attempt !== "view") await auditRefusal({ viewer, reason: elicitation.status, attempt, ...refs });
    return { ok: false, reason: elicitation.status, elicitationId: id };
  }
  const provider = await findProviderById(elicitation.providerId);
  if (!provider || provider.status !== "active") {
    await auditRefusal({ viewer, reason: "provider_disabled", attempt, ...refs });
    return { ok: false, reason: "provider_disabled", elicitationId: id };
  }
  const db = await getDb();
  const gateway = await db.gateway.findUnique({ where: { id: elicitation.gatewayId }, select: { id: true, name: true } });
  return { ok: true, elicitation, provider, gateway: gateway ?? { id: elicitation.gatewayId, name: "Unknown gateway" } };
}
