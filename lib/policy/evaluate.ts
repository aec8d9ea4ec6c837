// Policy evaluation: a pure function of the rules and the request, so it can be tested
// exhaustively without a database. Deny by default: a gateway needs a rule naming it for the
// provider, and the user needs a rule letting them connect the provider; both must cover every
// requested scope.
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
  | "scope_not_allowed_for_user";

export type PolicyDecision =
  | { allowed: true; ruleIds: string[] }
  | { allowed: false; reason: PolicyDenyReason; deniedScopes: string[] };

export interface PolicyRequest {
  rules: readonly PolicyRuleInput[];
  gatewayId: string;
  providerId: string;
  subject: PolicySubject;
  scopes: readonly string[];
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
  const forProvider = req.rules.filter((r) => r.enabled && r.providerId === req.providerId);

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

  return { allowed: true, ruleIds: [...gatewayRules, ...userRules].map((r) => r.id) };
}
