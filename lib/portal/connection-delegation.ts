// "Let an agent act for me while I am away" from the connections page (design.md invariant 13;
// the consent page's offer is lib/portal/consent-delegation.ts). A user delegates to an agent
// they already know: a verified agent they approved as a requester of one of their connections
// (so it is named by its registered name, proven by an actor token), optionally only through a
// gateway they approved the same way. Scopes within the connection's, 1..DELEGATION_MAX_DAYS
// days: lib/delegations/create.ts checks those, in the transaction that creates it.
import { createDelegation, maxDelegationDays } from "@/lib/delegations/create";
import type { RequesterSummary } from "@/lib/consent/approvals";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";

export interface DelegationChoices {
  agents: { id: string; name: string }[];
  gateways: { id: string; name: string }[];
  maxDays: number;
}

/** What the form offers, from the requesters the page already loaded (all of the user's connections). */
export function delegationChoices(requesters: Iterable<RequesterSummary[]>): DelegationChoices {
  const agents = new Map<string, string>();
  const gateways = new Map<string, string>();
  for (const list of requesters) {
    for (const r of list) {
      if (r.withdrawnAt || !r.agentId || !r.agentName) continue;
      agents.set(r.agentId, r.agentName);
      gateways.set(r.gatewayId, r.gatewayName);
    }
  }
  const sorted = (m: Map<string, string>) => [...m].map(([id, name]) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name));
  return { agents: sorted(agents), gateways: sorted(gateways), maxDays: maxDelegationDays() };
}

export interface PortalDelegationDraft {
  userId: string;
  grantId: string;
  agentId: string;
  /** null: through any gateway policy allows. */
  gatewayId: string | null;
  scopes: string[];
  days: number;
}

/** Creates the delegation if the agent (and gateway) are among those the form offers this user. */
export async function delegateFromConnections(draft: PortalDelegationDraft) {
  const db = await getDb();
  const approved = (where: { agentId: string } | { gatewayId: string; agentId: { not: null } }) =>
    db.requesterApproval.findFirst({ where: { ...where, withdrawnAt: null, grant: { userId: draft.userId } }, select: { id: true } });
  const [agent, gateway] = await Promise.all([
    approved({ agentId: draft.agentId }),
    draft.gatewayId ? approved({ gatewayId: draft.gatewayId, agentId: { not: null } }) : true,
  ]);
  // The same refusal as an inactive agent or gateway: the form never offered it.
  if (!agent) throw new AppError("not_found", "No such active agent", { field: "agent" });
  if (!gateway) throw new AppError("not_found", "No such active gateway", { field: "gateway" });
  return createDelegation(draft);
}
