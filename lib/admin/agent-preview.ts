// The agent part of a policy preview: which registered agents the provider's agent rules select,
// and, respecting every selector of those rules (agents, users, groups, gateway), what changes
// for the agents actually acting for users today. Those are the requesters in use: an agent a
// user approved via a gateway for this connection, and the agents of active delegations (a
// delegation for any gateway counts once per gateway a gateway rule of the provider names).
// Each is evaluated by the hot path's evaluator (lib/policy/evaluate.ts) before and after the
// change, scope by scope over the connection's (or the delegation's) scopes, so an agent rule
// that narrows an agent shows as the scopes it loses.
import { getDb } from "@/lib/db/client";
import { evaluatePolicy, isAgentRule, selectsAgent, type PolicyAgent, type PolicyRuleInput, type PolicySubject } from "@/lib/policy/evaluate";

export interface RequesterChange {
  /** "Report bot for alice@example.com via agentgateway". */
  requester: string;
  gained: string[];
  lost: string[];
}

export interface AgentPreview {
  agentsConsidered: number;
  selectedBefore: number;
  selectedAfter: number;
  /** Display names (a sample). */
  gained: string[];
  lost: string[];
  gainedCount: number;
  lostCount: number;
  /** The provider's agentsExplicit: unselected agents are denied (else they inherit user ∩ gateway). */
  explicit: boolean;
  /** Agents acting for a user via a gateway today (approved requesters, active delegations). */
  requestersConsidered: number;
  /** Those that gain or lose scopes (a sample), and how many of each. */
  changed: RequesterChange[];
  changedCount: number;
  requestersGaining: number;
  requestersLosing: number;
}

const SAMPLE = 20;
/** At most this many agents, approvals and delegations are read; larger installations get a partial preview. */
export const PREVIEW_AGENT_LIMIT = 50_000;

interface Requester {
  agent: PolicyAgent & { displayName: string };
  subject: PolicySubject & { label: string };
  gatewayId: string;
  /** What the requester uses: the connection's scopes (approval) or the delegation's. */
  scopes: string[];
}

/** The scopes of `r.scopes` the rules allow (each alone: coverage is per scope); "(any)" stands for a scopeless connection. */
function allowedScopes(rules: PolicyRuleInput[], providerId: string, agentsExplicit: boolean, r: Requester): Set<string> {
  const ask = (scopes: string[]) => evaluatePolicy({ rules, gatewayId: r.gatewayId, providerId, subject: r.subject, scopes, agent: r.agent, agentsExplicit }).allowed;
  if (r.scopes.length === 0) return new Set(ask([]) ? ["(any)"] : []);
  return new Set(r.scopes.filter((s) => ask([s])));
}

async function requestersInUse(providerId: string, gatewaysForAny: string[]): Promise<Requester[]> {
  const db = await getDb();
  const now = new Date();
  const agent = { select: { id: true, issuer: true, subject: true, displayName: true } } as const;
  const user = { select: { id: true, subject: true, email: true, name: true, groups: true } } as const;
  const [approvals, delegations] = await Promise.all([
    db.requesterApproval.findMany({
      where: { agentId: { not: null }, withdrawnAt: null, agent: { status: "active" }, grant: { providerId, status: "active" } },
      select: { gatewayId: true, agent, grant: { select: { scopes: true, user } } },
      orderBy: { createdAt: "asc" },
      take: PREVIEW_AGENT_LIMIT,
    }),
    db.delegation.findMany({
      where: { providerId, revokedAt: null, expiresAt: { gt: now }, agent: { status: "active" }, grant: { status: "active" } },
      select: { gatewayId: true, scopes: true, agent, user },
      orderBy: { createdAt: "asc" },
      take: PREVIEW_AGENT_LIMIT,
    }),
  ]);
  const toAgent = (a: { id: string; issuer: string; subject: string; displayName: string }) => ({ agentId: a.id, issuer: a.issuer, subject: a.subject, displayName: a.displayName });
  const toSubject = (u: { id: string; subject: string; email: string | null; name: string | null; groups: string[] }) => ({
    userId: u.id,
    subject: u.subject,
    email: u.email,
    groups: u.groups,
    label: u.email ?? u.name ?? u.subject,
  });
  const all: Requester[] = [];
  for (const a of approvals) {
    if (a.agent) all.push({ agent: toAgent(a.agent), subject: toSubject(a.grant.user), gatewayId: a.gatewayId, scopes: a.grant.scopes });
  }
  for (const d of delegations) {
    for (const gatewayId of d.gatewayId ? [d.gatewayId] : gatewaysForAny) {
      all.push({ agent: toAgent(d.agent), subject: toSubject(d.user), gatewayId, scopes: d.scopes });
    }
  }
  // One entry per (agent, user, gateway, scopes): an approval and a delegation may coincide.
  const seen = new Set<string>();
  return all.filter((r) => {
    const key = JSON.stringify([r.agent.agentId, r.subject.userId, r.gatewayId, [...r.scopes].sort()]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * `current` and `proposed`: every rule of the provider (user, gateway and agent rules), before and
 * after the change; the agent selection counts look at the enabled agent rules among them.
 */
export async function previewAgents(providerId: string, current: PolicyRuleInput[], proposed: PolicyRuleInput[]): Promise<AgentPreview> {
  const db = await getDb();
  const forProvider = (rules: PolicyRuleInput[]) => rules.filter((r) => r.enabled && r.providerId === providerId);
  const before = forProvider(current);
  const after = forProvider(proposed);
  const gatewaysForAny = [...new Set([...before, ...after].filter((r) => r.gatewayId && !isAgentRule(r)).map((r) => r.gatewayId!))];
  const [provider, agents, requesters, gateways] = await Promise.all([
    db.provider.findUnique({ where: { id: providerId }, select: { agentsExplicit: true } }),
    db.agent.findMany({ select: { id: true, issuer: true, subject: true, displayName: true }, orderBy: { createdAt: "asc" }, take: PREVIEW_AGENT_LIMIT }),
    requestersInUse(providerId, gatewaysForAny),
    db.gateway.findMany({ select: { id: true, name: true } }),
  ]);
  const explicit = provider?.agentsExplicit ?? false;

  const agentRulesBefore = before.filter(isAgentRule);
  const agentRulesAfter = after.filter(isAgentRule);
  const gained: string[] = [];
  const lost: string[] = [];
  let selectedBefore = 0;
  let selectedAfter = 0;
  for (const a of agents) {
    const ref = { agentId: a.id, issuer: a.issuer, subject: a.subject };
    const was = agentRulesBefore.some((r) => selectsAgent(r, ref));
    const is = agentRulesAfter.some((r) => selectsAgent(r, ref));
    if (was) selectedBefore++;
    if (is) selectedAfter++;
    if (!was && is) gained.push(a.displayName);
    if (was && !is) lost.push(a.displayName);
  }

  const gatewayName = new Map(gateways.map((g) => [g.id, g.name]));
  const changed: RequesterChange[] = [];
  let changedCount = 0;
  let requestersGaining = 0;
  let requestersLosing = 0;
  for (const r of requesters) {
    const was = allowedScopes(before, providerId, explicit, r);
    const is = allowedScopes(after, providerId, explicit, r);
    const plus = [...is].filter((s) => !was.has(s));
    const minus = [...was].filter((s) => !is.has(s));
    if (plus.length) requestersGaining++;
    if (minus.length) requestersLosing++;
    if (!plus.length && !minus.length) continue;
    changedCount++;
    if (changed.length < SAMPLE) {
      changed.push({ requester: `${r.agent.displayName} for ${r.subject.label} via ${gatewayName.get(r.gatewayId) ?? r.gatewayId}`, gained: plus, lost: minus });
    }
  }
  return {
    agentsConsidered: agents.length,
    selectedBefore,
    selectedAfter,
    gained: gained.slice(0, SAMPLE),
    lost: lost.slice(0, SAMPLE),
    gainedCount: gained.length,
    lostCount: lost.length,
    explicit,
    requestersConsidered: requesters.length,
    changed: changed.sort((a, b) => a.requester.localeCompare(b.requester)),
    changedCount,
    requestersGaining,
    requestersLosing,
  };
}
