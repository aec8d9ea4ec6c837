// Policy evaluation is a pure function: deny by default, gateway rules and user rules must both
// allow, and together cover every requested scope.
import { describe, expect, it } from "vitest";
import { evaluatePolicy, selectsSubject, type PolicyRuleInput } from "@/lib/policy/evaluate";

const rule = (r: Partial<PolicyRuleInput>): PolicyRuleInput => ({
  id: r.id ?? "pol_x",
  providerId: r.providerId ?? "prv_notes",
  gatewayId: r.gatewayId === undefined ? null : r.gatewayId,
  scopes: r.scopes ?? ["*"],
  users: r.users ?? [],
  groups: r.groups ?? [],
  enabled: r.enabled ?? true,
});

const alice = { userId: "usr_alice", subject: "alice", email: "Alice@Example.test", groups: ["engineering"] };
const base = { gatewayId: "gw_a", providerId: "prv_notes", subject: alice, scopes: ["notes:read"] };

describe("evaluatePolicy", () => {
  it("denies with no rules at all", () => {
    expect(evaluatePolicy({ ...base, rules: [] })).toEqual({ allowed: false, reason: "no_gateway_rule", deniedScopes: ["notes:read"] });
  });

  it("denies a gateway whose only rules are for another gateway or provider, or disabled", () => {
    const rules = [
      rule({ gatewayId: "gw_b" }),
      rule({ gatewayId: "gw_a", providerId: "prv_other" }),
      rule({ gatewayId: "gw_a", enabled: false }),
      rule({ gatewayId: null }),
    ];
    expect(evaluatePolicy({ ...base, rules })).toMatchObject({ allowed: false, reason: "no_gateway_rule" });
  });

  it("needs a user rule too", () => {
    expect(evaluatePolicy({ ...base, rules: [rule({ gatewayId: "gw_a" })] })).toMatchObject({ allowed: false, reason: "no_user_rule" });
  });

  it("allows with a gateway rule and an everyone user rule, naming both rules", () => {
    const rules = [rule({ id: "g", gatewayId: "gw_a" }), rule({ id: "u" })];
    expect(evaluatePolicy({ ...base, rules })).toEqual({ allowed: true, ruleIds: ["g", "u"] });
  });

  it("reports exactly the scopes a gateway may not request", () => {
    const rules = [rule({ gatewayId: "gw_a", scopes: ["notes:read"] }), rule({})];
    expect(evaluatePolicy({ ...base, rules, scopes: ["notes:read", "notes:write", "notes:admin"] })).toEqual({
      allowed: false,
      reason: "scope_not_allowed_for_gateway",
      deniedScopes: ["notes:write", "notes:admin"],
    });
  });

  it("unions the scopes of several matching rules", () => {
    const rules = [
      rule({ gatewayId: "gw_a", scopes: ["notes:read"] }),
      rule({ gatewayId: "gw_a", scopes: ["notes:write"] }),
      rule({ scopes: ["notes:read"] }),
      rule({ groups: ["engineering"], scopes: ["notes:write"] }),
    ];
    expect(evaluatePolicy({ ...base, rules, scopes: ["notes:read", "notes:write"] }).allowed).toBe(true);
  });

  it("user rules limit who may connect and which scopes", () => {
    const salesOnly = [rule({ gatewayId: "gw_a" }), rule({ groups: ["sales"] })];
    expect(evaluatePolicy({ ...base, rules: salesOnly })).toMatchObject({ allowed: false, reason: "no_user_rule" });
    const readOnly = [rule({ gatewayId: "gw_a" }), rule({ scopes: ["notes:read"] })];
    expect(evaluatePolicy({ ...base, rules: readOnly, scopes: ["notes:write"] })).toMatchObject({
      allowed: false,
      reason: "scope_not_allowed_for_user",
      deniedScopes: ["notes:write"],
    });
  });

  it("a gateway rule restricted to some users does not apply to others", () => {
    const rules = [rule({ gatewayId: "gw_a", users: ["bob"] }), rule({})];
    expect(evaluatePolicy({ ...base, rules })).toMatchObject({ allowed: false, reason: "no_gateway_rule" });
  });

  it("an empty scope request needs only the rules to exist", () => {
    const rules = [rule({ gatewayId: "gw_a", scopes: [] }), rule({ scopes: [] })];
    expect(evaluatePolicy({ ...base, rules, scopes: [] }).allowed).toBe(true);
  });
});

describe("selectsSubject", () => {
  it("matches by user id, subject, case-insensitive email, or group", () => {
    expect(selectsSubject({ users: ["usr_alice"], groups: [] }, alice)).toBe(true);
    expect(selectsSubject({ users: ["alice"], groups: [] }, alice)).toBe(true);
    expect(selectsSubject({ users: ["alice@example.test"], groups: [] }, alice)).toBe(true);
    expect(selectsSubject({ users: [], groups: ["engineering"] }, alice)).toBe(true);
    expect(selectsSubject({ users: ["bob"], groups: ["sales"] }, alice)).toBe(false);
    expect(selectsSubject({ users: [], groups: [] }, alice)).toBe(true);
  });

  it("does not let an email-looking subject match another user's email selector by case folding alone", () => {
    expect(selectsSubject({ users: ["ALICE"], groups: [] }, alice)).toBe(false);
  });
});
