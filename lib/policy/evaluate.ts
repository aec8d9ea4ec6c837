// Policy evaluation: a pure function of the rules and the request, so it can be tested
// exhaustively without a database. Deny by default: a gateway needs a rule naming it for the
// provider, and the user needs a rule letting them connect the provider; both must cover every
// requested scope.
//
// Agent dimension: when a verified agent acts (actor token), the agent rules that select it
// must cover every scope too, so the effective permission is the intersection of the user's,
// the gateway's and the agent's. An agent no agent rule selects is denied when the provider is
// marked "agents must be allowed explicitly" (agentsExplicit), and otherwise inherits what its
// user and gateway may do. Naming an agent in a rule therefore narrows that agent.
import { withSpanSync } from "@/lib/observability/tracing";

export interface PolicyRuleInput {
  id: string;
  providerId: string;
  /** null: a user rule (who may connect the provider); set: a gateway rule (what it may request). */
  gatewayId: string | null;
  /** Allowed scopes; "*" allows any. */
  scopes: string[];
  /** User selectors: user id, subject or email. Empty users and groups select everyone. */
  users: string[];
  groups: string[];
  enabled: boolean;
  /** Gateway rules: the selected users need not approve this requester per connection (lib/consent/pre-approval.ts). */
  preApproved?: boolean;
  /** Agent rule selectors (a rule with any of them is an agent rule). All given ones must match. */
  agents?: string[];
  agentIssuer?: string | null;
  /** A subject prefix on path boundaries: "spiffe://td/ns/prod" matches ".../ns/prod" and ".../ns/prod/x". */
  agentSubjectPrefix?: string | null;
}

/** The verified agent of a call. */
export interface PolicyAgent {
  agentId: string;
  issuer: string;
  subject: string;
}

export interface PolicySubject {
  userId?: string | null;
  subject: string;
  email?: string | null;
  groups: string[];
}

export type PolicyDenyReason =
  | "no_gateway_rule"
  | "scope_not_allowed_for_gateway"
  | "no_user_rule"
  | "scope_not_allowed_for_user"
  | "no_agent_rule"
  | "scope_not_allowed_for_agent";

export type PolicyDecision =
  | { allowed: true; ruleIds: string[] }
  | { allowed: false; reason: PolicyDenyReason; deniedScopes: string[] };

export interface PolicyRequest {
  rules: readonly PolicyRuleInput[];
  gatewayId: string;
  providerId: string;
  subject: PolicySubject;
  scopes: readonly string[];
  /** The verified agent acting, if any (unverified context never counts). */
  agent?: PolicyAgent | null;
  /** The provider's agentsExplicit flag: unlisted agents are denied instead of inheriting. */
  agentsExplicit?: boolean;
}

export function isAgentRule(rule: Pick<PolicyRuleInput, "agents" | "agentIssuer" | "agentSubjectPrefix">): boolean {
  return (rule.agents?.length ?? 0) > 0 || !!rule.agentIssuer || !!rule.agentSubjectPrefix;
}

export function matchesSubjectPrefix(prefix: string, subject: string): boolean {
  if (prefix.endsWith("/")) return subject.startsWith(prefix);
  return subject === prefix || subject.startsWith(`${prefix}/`);
}

export function selectsAgent(rule: Pick<PolicyRuleInput, "agents" | "agentIssuer" | "agentSubjectPrefix">, agent: PolicyAgent): boolean {
  if (!isAgentRule(rule)) return false;
  if ((rule.agents?.length ?? 0) > 0 && !rule.agents!.includes(agent.agentId)) return false;
  if (rule.agentIssuer && rule.agentIssuer !== agent.issuer) return false;
  if (rule.agentSubjectPrefix && !matchesSubjectPrefix(rule.agentSubjectPrefix, agent.subject)) return false;
  return true;
}

export function selectsSubject(rule: Pick<PolicyRuleInput, "users" | "groups">, subject: PolicySubject): boolean {
  if (rule.users.length === 0 && rule.groups.length === 0) return true;
  const email = subject.email?.toLowerCase();
  for (const u of rule.users) {
    if (u === subject.subject || (subject.userId && u === subject.userId)) return true;
    if (email && u.includes("@") && u.toLowerCase() === email) return true;
  }
  return rule.groups.some((g) => subject.groups.includes(g));
}

function uncoveredScopes(rules: readonly PolicyRuleInput[], scopes: readonly string[]): string[] {
  if (rules.some((r) => r.scopes.includes("*"))) return [];
  const allowed = new Set(rules.flatMap((r) => r.scopes));
  return scopes.filter((s) => !allowed.has(s));
}

export function evaluatePolicy(req: PolicyRequest): PolicyDecision {
  return withSpanSync("policy.evaluate", { "frontdesk.rules": req.rules.length }, () => decide(req));
}

function decide(req: PolicyRequest): PolicyDecision {
  const enabled = req.rules.filter((r) => r.enabled && r.providerId === req.providerId);
  const forProvider = enabled.filter((r) => !isAgentRule(r));

  const gatewayRules = forProvider.filter((r) => r.gatewayId === req.gatewayId && selectsSubject(r, req.subject));
  if (gatewayRules.length === 0) return { allowed: false, reason: "no_gateway_rule", deniedScopes: [...req.scopes] };
  const gatewayDenied = uncoveredScopes(gatewayRules, req.scopes);
  if (gatewayDenied.length > 0) {
    return { allowed: false, reason: "scope_not_allowed_for_gateway", deniedScopes: gatewayDenied };
  }

  const userRules = forProvider.filter((r) => r.gatewayId === null && selectsSubject(r, req.subject));
  if (userRules.length === 0) return { allowed: false, reason: "no_user_rule", deniedScopes: [...req.scopes] };
  const userDenied = uncoveredScopes(userRules, req.scopes);
  if (userDenied.length > 0) return { allowed: false, reason: "scope_not_allowed_for_user", deniedScopes: userDenied };

  const ruleIds = [...gatewayRules, ...userRules].map((r) => r.id);
  if (!req.agent) return { allowed: true, ruleIds };
  const agent = req.agent;
  const agentRules = enabled.filter(
    (r) => isAgentRule(r) && (r.gatewayId === null || r.gatewayId === req.gatewayId) && selectsSubject(r, req.subject) && selectsAgent(r, agent),
  );
  if (agentRules.length === 0) {
    return req.agentsExplicit ? { allowed: false, reason: "no_agent_rule", deniedScopes: [...req.scopes] } : { allowed: true, ruleIds };
  }
  const agentDenied = uncoveredScopes(agentRules, req.scopes);
  if (agentDenied.length > 0) return { allowed: false, reason: "scope_not_allowed_for_agent", deniedScopes: agentDenied };
  return { allowed: true, ruleIds: [...ruleIds, ...agentRules.map((r) => r.id)] };
}
