// The acts-on-behalf-of chain the audit detail page shows (lib/admin/audit-chain.ts), and the
// sentence for an effective policy decision (lib/admin/policy-text.ts).
import { describe, expect, it } from "vitest";
import { delegationChain } from "@/lib/admin/audit-chain";
import { describeEffectiveDecision } from "@/lib/admin/policy-text";

const names = {
  users: new Map([["usr_alice", "alice@example.com"]]),
  gateways: new Map([["gw_1", "agentgateway"]]),
  agents: new Map([["agt_1", "Scheduler"]]),
};

describe("delegation chain of an audit event", () => {
  it("user, delegation, verified agent, its earlier actors, gateway: in that order, each once", () => {
    const chain = delegationChain(
      {
        userId: "usr_alice",
        gatewayId: "gw_1",
        agentId: "agt_1",
        context: {
          mode: "delegation",
          delegationId: "dlg_1",
          actor: { issuer: "spiffe://corp", subject: "spiffe://corp/sa/scheduler", name: "old name", act: [{ sub: "spiffe://corp/sa/orchestrator" }, { sub: "ci", iss: "https://ci" }] },
          agentId: "claimed-by-gateway",
        },
      },
      names,
    );
    expect(chain.map((l) => [l.role, l.label, l.verified])).toEqual([
      ["user", "alice@example.com", true],
      ["delegation", "dlg_1", true],
      ["agent", "Scheduler", true],
      ["earlier actor", "spiffe://corp/sa/orchestrator", true],
      ["earlier actor", "ci", true],
      ["gateway", "agentgateway", true],
    ]);
    expect(chain[2]!.detail).toBe("spiffe://corp/sa/scheduler from spiffe://corp");
    expect(chain[4]!.detail).toBe("https://ci");
  });

  it("a subject token's own act chain (ToolHive) is shown; a gateway's claimed agent is marked unverified", () => {
    const chain = delegationChain({ userId: "usr_alice", gatewayId: "gw_1", agentId: null, context: { subjectAct: { sub: "toolhive-client", act: { sub: "earlier" } }, agentId: "claimed" } }, names);
    expect(chain.map((l) => [l.role, l.label, l.verified])).toEqual([
      ["user", "alice@example.com", true],
      ["subject token actor", "toolhive-client", true],
      ["subject token actor", "earlier", true],
      ["claimed agent", "claimed", false],
      ["gateway", "agentgateway", true],
    ]);
  });

  it("tolerates rows without context or with malformed links", () => {
    expect(delegationChain({ userId: null, gatewayId: null, agentId: null, context: null }, names)).toEqual([]);
    const odd = delegationChain({ userId: "usr_x", gatewayId: null, agentId: null, context: { actor: { act: [1, { sub: 2 }, { sub: "ok" }] } } }, names);
    expect(odd.map((l) => l.label)).toEqual(["usr_x", "agent", "ok"]);
  });
});

describe("effective decision sentence", () => {
  it("names the outcome, the refusing dimension and what each dimension allows", () => {
    expect(describeEffectiveDecision({ decision: { allowed: true, ruleIds: ["a"] }, user: ["*"], gateway: ["notes:read"], agent: "inherits", agentsExplicit: false })).toBe(
      "Allowed. Effective = user ∩ gateway ∩ agent: user rules allow any scope; gateway rules allow notes:read; agent rules allow no agent rule (inherits user ∩ gateway).",
    );
    expect(
      describeEffectiveDecision({ decision: { allowed: false, reason: "scope_not_allowed_for_agent", deniedScopes: ["notes:write"] }, user: ["*"], gateway: ["*"], agent: ["notes:read"], agentsExplicit: true }),
    ).toBe("Denied: the agent's rules do not cover notes:write. Effective = user ∩ gateway ∩ agent: user rules allow any scope; gateway rules allow any scope; agent rules allow notes:read.");
    expect(describeEffectiveDecision({ decision: { allowed: false, reason: "no_user_rule", deniedScopes: ["x"] }, user: null, gateway: ["*"], agentsExplicit: false })).toBe(
      "Denied: no user rule lets this user connect the provider. Effective = user ∩ gateway: user rules allow no rule; gateway rules allow any scope.",
    );
  });
});
