// What the consent page shows for one elicitation the viewer may act on.
import type { Viewer } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { readElicitationContext, type ElicitationContext } from "@/lib/elicitations/context";
import { checkElicitationAccess } from "./access";
import type { RefusalReason } from "./refusal";

export interface ConsentDetails {
  elicitationId: string;
  expiresAt: Date;
  gatewayName: string;
  context: ElicitationContext;
  provider: { slug: string; displayName: string; kind: "oidc" | "oauth2" | "api_key" };
  requestedScopes: string[];
  grantedScopes: string[];
  /** Requested scopes not yet granted (incremental consent asks for these on top). */
  newScopes: string[];
}

export type ConsentView = { kind: "ready"; details: ConsentDetails } | { kind: "refused"; reason: RefusalReason };

export async function loadConsentView(id: string, viewer: Viewer): Promise<ConsentView> {
  const access = await checkElicitationAccess(id, viewer, "view");
  if (!access.ok) return { kind: "refused", reason: access.reason };
  const { elicitation, provider, gateway } = access;
  const db = await getDb();
  const grant = await db.grant.findUnique({
    where: { userId_providerId: { userId: viewer.userId, providerId: provider.id } },
    select: { scopes: true, status: true },
  });
  const grantedScopes = grant?.status === "active" ? grant.scopes : [];
  return {
    kind: "ready",
    details: {
      elicitationId: elicitation.id,
      expiresAt: elicitation.expiresAt,
      gatewayName: gateway.name,
      context: readElicitationContext(elicitation.context),
      provider: { slug: provider.slug, displayName: provider.displayName, kind: provider.kind },
      requestedScopes: elicitation.scopes,
      grantedScopes,
      newScopes: elicitation.scopes.filter((s) => !grantedScopes.includes(s)),
    },
  };
}
