// What the consent page shows for one elicitation the viewer may act on.
import type { Viewer } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { maxDelegationDays } from "@/lib/delegations/create";
import { readElicitationContext, type ElicitationContext } from "@/lib/elicitations/context";
import { describeScope } from "@/lib/providers/scope-descriptions";
import { checkElicitationAccess } from "./access";
import type { RefusalReason } from "./refusal";

export interface ConsentDetails {
  elicitationId: string;
  expiresAt: Date;
  /**
   * connect: the upstream authorization is needed (no connection, or it lacks scopes).
   * approve_requester: the connection covers the request; only this requester is new (one click).
   */
  mode: "connect" | "approve_requester";
  gatewayName: string;
  /**
   * The agent as Frontdesk verified it (an actor token), named by its registered display name;
   * null: an unidentified agent (whatever the gateway called it is in `context`, unverified).
   */
  verifiedAgent: { id: string; displayName: string } | null;
  /** Gateway-reported context (agent label, MCP server, tool): shown, but marked unverified. */
  context: ElicitationContext;
  /** Who already may use this connection (approved requesters). */
  approvedRequesters: { gatewayName: string; agentName: string | null }[];
  /**
   * The longest standing delegation the user may give this agent at consent (DELEGATION_MAX_DAYS),
   * or null: no verified agent, so there is nobody to delegate to.
   */
  delegationMaxDays: number | null;
  provider: { slug: string; displayName: string; kind: "oidc" | "oauth2" | "api_key" };
  requestedScopes: string[];
  grantedScopes: string[];
  /** Requested scopes not yet granted (incremental consent asks for these on top). */
  newScopes: string[];
  /** Plain-language lines for the scopes above that have one (the provider's, or the OIDC standard ones). */
  scopeDescriptions: Record<string, string>;
}

export type ConsentView = { kind: "ready"; details: ConsentDetails } | { kind: "refused"; reason: RefusalReason };

export async function loadConsentView(id: string, viewer: Viewer): Promise<ConsentView> {
  const access = await checkElicitationAccess(id, viewer, "view");
  if (!access.ok) return { kind: "refused", reason: access.reason };
  const { elicitation, provider, gateway } = access;
  const db = await getDb();
  const grant = await db.grant.findUnique({
    where: { userId_providerId: { userId: viewer.userId, providerId: provider.id } },
    select: {
      scopes: true,
      status: true,
      requesterApprovals: {
        where: { withdrawnAt: null },
        orderBy: { createdAt: "asc" },
        select: { gateway: { select: { name: true } }, agent: { select: { displayName: true } } },
      },
    },
  });
  const agent = elicitation.agentId
    ? await db.agent.findUnique({ where: { id: elicitation.agentId }, select: { id: true, displayName: true, status: true } })
    : null;
  // Only a verified, active agent can be delegated to (createDelegation refuses the others too).
  const verifiedAgent = agent ? { id: agent.id, displayName: agent.displayName } : null;
  const active = grant?.status === "active";
  const grantedScopes = active ? grant.scopes : [];
  const newScopes = elicitation.scopes.filter((s) => !grantedScopes.includes(s));
  return {
    kind: "ready",
    details: {
      elicitationId: elicitation.id,
      expiresAt: elicitation.expiresAt,
      mode: active && newScopes.length === 0 ? "approve_requester" : "connect",
      gatewayName: gateway.name,
      verifiedAgent,
      context: readElicitationContext(elicitation.context),
      approvedRequesters: active
        ? grant.requesterApprovals.map((a) => ({ gatewayName: a.gateway.name, agentName: a.agent?.displayName ?? null }))
        : [],
      delegationMaxDays: agent?.status === "active" ? maxDelegationDays() : null,
      provider: { slug: provider.slug, displayName: provider.displayName, kind: provider.kind },
      requestedScopes: elicitation.scopes,
      grantedScopes,
      newScopes,
      scopeDescriptions: Object.fromEntries(
        [...new Set([...elicitation.scopes, ...grantedScopes])].flatMap((scope) => {
          const line = describeScope(scope, provider.scopeDescriptions);
          return line ? [[scope, line]] : [];
        }),
      ),
    },
  };
}
