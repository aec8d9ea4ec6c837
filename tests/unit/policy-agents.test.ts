// The agent dimension of policy (issue 11): the effective permission of a call is the
// intersection of what the user rules, the gateway rules and (when a verified agent acts) the
// agent rules allow. Checked table-driven over every combination of disagreeing rules against
// an independent, set-based evaluation written here, plus the selectors themselves.
import { describe, expect, it } from "vitest";
import { evaluatePolicy, matchesSubjectPrefix, selectsAgent, type PolicyAgent, type PolicyRuleInput } from "@/lib/policy/evaluate";

const rule = (r: Partial<PolicyRuleInput>): PolicyRuleInput => ({
  id: r.id ?? "pol_x",
  providerId: r.providerId ?? "prv_notes",
  gatewayId: r.gatewayId === undefined ? null : r.gatewayId,
  scopes: r.scopes ?? ["*"],
  users: r.users ?? [],
  groups: r.groups ?? [],
  enabled: r.enabled ?? true,
  agents: r.agents ?? [],
  agentIssuer: r.agentIssuer ?? null,
  agentSubjectPrefix: r.agentSubjectPrefix ?? null,
});

const alice = { userId: "usr_alice", subject: "alice", email: "alice@example.test", groups: ["eng"] };
const scheduler: PolicyAgent = { agentId: "agt_sched", issuer: "spiffe://corp.example", subject: "spiffe://corp.example/ns/prod/sa/scheduler" };

// What each dimension's rules allow, as a set of scopes (null: no rule at all; "*" as a member: anything).
type Grant = null | string[];
const GRANTS: Grant[] = [null, ["notes:read"], ["notes:write"], ["notes:read", "notes:write"], ["*"]];
const REQUESTS = [["notes:read"], ["notes:write"], ["notes:read", "notes:write"]];

/** Independent evaluation: a dimension allows a request iff it has a rule and its scope set covers it. */
function covers(grant: Grant, requested: string[]): boolean {
  if (grant === null) return false;
  return grant.includes("*") || requested.every((s) => grant.includes(s));
}
function expected(c: { user: Grant; gateway: Grant; agent: Grant; hasAgent: boolean; explicit: boolean; requested: string[] }): boolean {
  const userAndGateway = covers(c.user, c.requested) && covers(c.gateway, c.requested);
  if (!c.hasAgent) return userAndGateway;
  // No agent rule: the provider's default decides (deny when explicit, else inherit).
  const agentOk = c.agent === null ? !c.explicit : covers(c.agent, c.requested);
  return userAndGateway && agentOk;
}

/** The same grants as database rules, split over several rules and with noise that must not count. */
function rulesFor(c: { user: Grant; gateway: Grant; agent: Grant }): PolicyRuleInput[] {
  const rules: PolicyRuleInput[] = [
    // Noise: another gateway, another provider, a disabled rule, an agent rule for another agent.
    rule({ id: "noise-gw", gatewayId: "gw_other" }),
    rule({ id: "noise-prv", providerId: "prv_other" }),
    rule({ id: "noise-off", enabled: false }),
    rule({ id: "noise-agent", agents: ["agt_other"] }),
  ];
  const split = (prefix: string, grant: Grant, extra: Partial<PolicyRuleInput>) => {
    if (grant === null) return;
    grant.forEach((s, i) => rules.push(rule({ id: `${prefix}${i}`, scopes: [s], ...extra })));
  };
  split("u", c.user, {});
  split("g", c.gateway, { gatewayId: "gw_a" });
  // Agent rules select by id, by issuer + prefix, or through the gateway: all must apply the same way.
  split("a", c.agent, { agentSubjectPrefix: "spiffe://corp.example/ns/prod", agentIssuer: "spiffe://corp.example" });
  return rules;
}

describe("policy: user x gateway x agent", () => {
  const cases: { user: Grant; gateway: Grant; agent: Grant; hasAgent: boolean; explicit: boolean; requested: string[] }[] = [];
  for (const user of GRANTS)
    for (const gateway of GRANTS)
      for (const agent of GRANTS)
        for (const hasAgent of [false, true])
          for (const explicit of [false, true])
            for (const requested of REQUESTS) cases.push({ user, gateway, agent, hasAgent, explicit, requested });

  it(`agrees with the independent evaluation on all ${cases.length} combinations`, () => {
    let allowedCount = 0;
    for (const c of cases) {
      const decision = evaluatePolicy({
        rules: rulesFor(c),
        gatewayId: "gw_a",
        providerId: "prv_notes",
        subject: alice,
        scopes: c.requested,
        agent: c.hasAgent ? scheduler : null,
        agentsExplicit: c.explicit,
      });
      expect({ case: c, allowed: decision.allowed }).toEqual({ case: c, allowed: expected(c) });
      if (decision.allowed) allowedCount++;
    }
    // The table exercises both outcomes substantially (a table of all-denies would prove nothing).
    expect(allowedCount).toBeGreaterThan(100);
    expect(cases.length - allowedCount).toBeGreaterThan(100);
  });

  it("names the dimension that refused", () => {
    const rules = [rule({ id: "g", gatewayId: "gw_a" }), rule({ id: "u" }), rule({ id: "a", agents: ["agt_sched"], scopes: ["notes:read"] })];
    const req = { rules, gatewayId: "gw_a", providerId: "prv_notes", subject: alice, agent: scheduler };
    expect(evaluatePolicy({ ...req, scopes: ["notes:read"] })).toEqual({ allowed: true, ruleIds: ["g", "u", "a"] });
    expect(evaluatePolicy({ ...req, scopes: ["notes:write"] })).toEqual({ allowed: false, reason: "scope_not_allowed_for_agent", deniedScopes: ["notes:write"] });
    const unlisted = { ...scheduler, agentId: "agt_new" };
    expect(evaluatePolicy({ ...req, agent: unlisted, scopes: ["notes:write"], agentsExplicit: true })).toMatchObject({ allowed: false, reason: "no_agent_rule" });
    expect(evaluatePolicy({ ...req, agent: unlisted, scopes: ["notes:write"], agentsExplicit: false })).toMatchObject({ allowed: true });
  });

  it("agent rules are not user rules: an agent rule alone lets no user connect", () => {
    const rules = [rule({ gatewayId: "gw_a" }), rule({ agents: ["agt_sched"] })];
    expect(evaluatePolicy({ rules, gatewayId: "gw_a", providerId: "prv_notes", subject: alice, scopes: ["notes:read"], agent: scheduler })).toMatchObject({
      allowed: false,
      reason: "no_user_rule",
    });
  });

  it("an agent rule limited to a gateway or to users applies only there", () => {
    const base = [rule({ gatewayId: "gw_a" }), rule({ gatewayId: "gw_b" }), rule({})];
    const viaB = rule({ id: "a", agents: ["agt_sched"], gatewayId: "gw_b" });
    const forBob = rule({ id: "a2", agents: ["agt_sched"], users: ["bob"] });
    const req = { gatewayId: "gw_a", providerId: "prv_notes", subject: alice, scopes: ["notes:read"], agent: scheduler, agentsExplicit: true };
    expect(evaluatePolicy({ ...req, rules: [...base, viaB] })).toMatchObject({ allowed: false, reason: "no_agent_rule" });
    expect(evaluatePolicy({ ...req, rules: [...base, viaB], gatewayId: "gw_b" })).toMatchObject({ allowed: true });
    expect(evaluatePolicy({ ...req, rules: [...base, forBob] })).toMatchObject({ allowed: false, reason: "no_agent_rule" });
  });
});

describe("agent selectors", () => {
  it("match every given selector", () => {
    expect(selectsAgent(rule({ agents: ["agt_sched"] }), scheduler)).toBe(true);
    expect(selectsAgent(rule({ agents: ["agt_other"] }), scheduler)).toBe(false);
    expect(selectsAgent(rule({ agentIssuer: "spiffe://corp.example" }), scheduler)).toBe(true);
    expect(selectsAgent(rule({ agentIssuer: "https://other" }), scheduler)).toBe(false);
    expect(selectsAgent(rule({ agentIssuer: "spiffe://corp.example", agents: ["agt_other"] }), scheduler)).toBe(false);
    // A rule without agent selectors is not an agent rule.
    expect(selectsAgent(rule({}), scheduler)).toBe(false);
  });

  it("subject prefixes work on path boundaries", () => {
    expect(matchesSubjectPrefix("spiffe://corp.example/ns/prod", "spiffe://corp.example/ns/prod")).toBe(true);
    expect(matchesSubjectPrefix("spiffe://corp.example/ns/prod", "spiffe://corp.example/ns/prod/sa/x")).toBe(true);
    expect(matchesSubjectPrefix("spiffe://corp.example/ns/prod", "spiffe://corp.example/ns/production/sa/x")).toBe(false);
    expect(matchesSubjectPrefix("spiffe://corp.example/ns/prod/", "spiffe://corp.example/ns/prod/sa/x")).toBe(true);
    expect(matchesSubjectPrefix("spiffe://corp.example", "spiffe://corp.example.evil/ns")).toBe(false);
  });
});
