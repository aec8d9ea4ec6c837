// The dashboard's agent-policy previews against real PostgreSQL: the effective decision for one
// user, gateway and agent (what the gateway API would decide, and what each dimension allows),
// and the "who is affected" preview of an agent rule, which must respect every selector of the
// rule (agents, users, gateway): it reports the agents acting for users today (approved
// requesters and active delegations) that gain or lose scopes, evaluated before and after.
import { beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();

const { getDb } = await import("@/lib/db/client");
const { createProvider } = await import("@/lib/providers/create");
const { createGateway } = await import("@/lib/gateways/register");
const { createPolicyRule, deletePolicyRule } = await import("@/lib/policy/rules");
const { forgetPolicyRules } = await import("@/lib/policy/load");
const { saveGrant } = await import("@/lib/grants/save");
const { registerAgent, setAgentStatus } = await import("@/lib/agents/admin");
const { recordApproval } = await import("@/lib/consent/approvals");
const { createDelegation } = await import("@/lib/delegations/create");
const { previewPolicyChange, validatePolicyDraft } = await import("@/lib/admin/policy");
const { previewEffectiveDecision, setAgentsExplicit } = await import("@/lib/admin/agent-policy");
const { describePreview } = await import("@/lib/admin/policy-text");

const actor = { type: "admin" as const, id: "usr_admin" };
const users = { alice: "usr_alice", bob: "usr_bob", carol: "usr_carol" };
const WORKLOADS = "https://workloads.test";
let notes: string;
let gatewayA: string;
let gatewayB: string;
let reportBot: string;
let digest: string;
let retired: string;
const grants: Record<string, string> = {};

beforeAll(async () => {
  const db = await getDb();
  await db.user.createMany({
    data: [
      { id: users.alice, issuer: "https://idp.test", subject: "alice", email: "alice@example.test", groups: ["finance"] },
      { id: users.bob, issuer: "https://idp.test", subject: "bob", email: "bob@example.test", groups: ["sales"] },
      { id: users.carol, issuer: "https://idp.test", subject: "carol", email: "carol@example.test", groups: [] },
    ],
  });
  notes = (await createProvider({ slug: "notes", displayName: "Notes", kind: "api_key", apiKeyHeader: "X-Api-Key" }, actor)).id;
  gatewayA = (await createGateway({ name: "gateway-a", authMethod: "client_secret_basic" }, actor)).gateway.id;
  gatewayB = (await createGateway({ name: "gateway-b", authMethod: "client_secret_basic" }, actor)).gateway.id;
  reportBot = (await registerAgent({ issuer: WORKLOADS, subject: "spiffe://corp.test/ns/prod/report", displayName: "Report bot" }, actor)).id;
  digest = (await registerAgent({ issuer: WORKLOADS, subject: "spiffe://corp.test/ns/prod/digest", displayName: "Digest" }, actor)).id;
  retired = (await registerAgent({ issuer: WORKLOADS, subject: "spiffe://corp.test/ns/prod/retired", displayName: "Retired" }, actor)).id;
  for (const [name, id] of Object.entries(users)) {
    grants[name] = (await saveGrant({ userId: id, providerId: notes, scopes: ["notes:read", "notes:write"], credential: { kind: "api_key", apiKey: `key-of-${name}-0123456789` } })).grantId;
  }
  // Everyone may connect Notes with any scope; gateway A may request anything, gateway B only reading.
  await createPolicyRule({ providerId: notes, gatewayId: null, scopes: ["*"], users: [], groups: [], description: "everyone" }, actor);
  await createPolicyRule({ providerId: notes, gatewayId: gatewayA, scopes: ["*"], users: [], groups: [], description: "gateway A" }, actor);
  await createPolicyRule({ providerId: notes, gatewayId: gatewayB, scopes: ["notes:read"], users: [], groups: [], description: "gateway B reads" }, actor);

  // The agents acting for users today: approvals, delegations, and some that do not count.
  const approve = (grantId: string, gatewayId: string, agentId: string) =>
    db.$transaction((tx) => recordApproval(tx, { grantId, requester: { gatewayId, agentId }, approvedBy: "user", approvedById: "test" }));
  await approve(grants.alice!, gatewayA, reportBot); // Report bot for alice via A
  await approve(grants.bob!, gatewayA, reportBot); // Report bot for bob via A
  await approve(grants.alice!, gatewayB, digest); // Digest for alice via B
  await approve(grants.carol!, gatewayA, retired); // an agent disabled below: not in use
  await approve(grants.carol!, gatewayB, reportBot);
  await db.requesterApproval.updateMany({ where: { grantId: grants.carol!, gatewayId: gatewayB }, data: { withdrawnAt: new Date() } }); // withdrawn: not in use
  await createDelegation({ userId: users.bob, grantId: grants.bob!, agentId: digest, scopes: ["notes:read"], days: 7 }); // any gateway: via A and via B
  const revoked = await createDelegation({ userId: users.carol, grantId: grants.carol!, agentId: digest, scopes: ["notes:read"], days: 7, gatewayId: gatewayA });
  await db.delegation.update({ where: { id: revoked.id }, data: { revokedAt: new Date() } }); // revoked: not in use
  const expired = await createDelegation({ userId: users.carol, grantId: grants.carol!, agentId: reportBot, scopes: ["notes:write"], days: 1, gatewayId: gatewayA });
  await db.delegation.update({ where: { id: expired.id }, data: { expiresAt: new Date(Date.now() - 1000) } }); // expired: not in use
  await setAgentStatus(retired, "disabled", actor);
});

const agentDraft = (over: { agents?: string[]; users?: string[]; gatewayId?: string | null; scopes?: string[]; agentSubjectPrefix?: string | null }) =>
  validatePolicyDraft({ providerId: notes, gatewayId: null, scopes: ["notes:read"], users: [], groups: [], description: "", agents: [], agentIssuer: null, agentSubjectPrefix: null, ...over });

describe("effective decision", () => {
  it("is the hot path's decision, with what each dimension allows; agent rules apply only to the users and gateway they select", async () => {
    const ask = (userId: string, gatewayId: string, agentId: string | null, scopes: string[]) => previewEffectiveDecision({ userId, gatewayId, agentId, providerId: notes, scopes });

    // No agent rule: the agent inherits user ∩ gateway.
    const inherits = await ask(users.alice, gatewayA, reportBot, ["notes:write"]);
    expect(inherits).toMatchObject({ decision: { allowed: true }, user: ["*"], gateway: ["*"], agent: "inherits", agentsExplicit: false });
    expect((await ask(users.alice, gatewayB, null, ["notes:write"])).decision).toMatchObject({ allowed: false, reason: "scope_not_allowed_for_gateway", deniedScopes: ["notes:write"] });

    // Report bot may only read, and only for alice, and only through gateway A.
    const rule = await createPolicyRule(await agentDraft({ agents: [reportBot], users: ["alice@example.test"], gatewayId: gatewayA }), actor);
    try {
      forgetPolicyRules();
      const narrowed = await ask(users.alice, gatewayA, reportBot, ["notes:read", "notes:write"]);
      expect(narrowed.decision).toMatchObject({ allowed: false, reason: "scope_not_allowed_for_agent", deniedScopes: ["notes:write"] });
      expect(narrowed.agent).toEqual(["notes:read"]);
      expect((await ask(users.alice, gatewayA, reportBot, ["notes:read"])).decision.allowed).toBe(true);
      // The rule selects neither bob nor gateway B: there the agent still inherits.
      expect(await ask(users.bob, gatewayA, reportBot, ["notes:write"])).toMatchObject({ decision: { allowed: true }, agent: "inherits" });
      expect(await ask(users.alice, gatewayB, reportBot, ["notes:read"])).toMatchObject({ decision: { allowed: true }, agent: "inherits" });
      // Without an agent it is the user's own call: the agent rule does not apply.
      expect((await ask(users.alice, gatewayA, null, ["notes:write"])).agent).toBeUndefined();

      // Agents must be allowed explicitly: the agents no rule selects are denied, the selected one keeps its rule.
      await setAgentsExplicit(notes, true, actor);
      forgetPolicyRules();
      expect((await ask(users.bob, gatewayA, reportBot, ["notes:read"])).decision).toMatchObject({ allowed: false, reason: "no_agent_rule" });
      expect(await ask(users.bob, gatewayA, reportBot, ["notes:read"])).toMatchObject({ agent: null, agentsExplicit: true });
      expect((await ask(users.alice, gatewayA, reportBot, ["notes:read"])).decision.allowed).toBe(true);
    } finally {
      await setAgentsExplicit(notes, false, actor);
      await deletePolicyRule(rule.id, actor);
      forgetPolicyRules();
    }
  });

  it("refuses unknown users, gateways, agents, providers and an empty scope list", async () => {
    const base = { userId: users.alice, gatewayId: gatewayA, agentId: reportBot, providerId: notes, scopes: ["notes:read"] };
    await expect(previewEffectiveDecision({ ...base, userId: "usr_nope" })).rejects.toMatchObject({ code: "invalid_body", message: "user: no such user" });
    await expect(previewEffectiveDecision({ ...base, gatewayId: "gw_nope" })).rejects.toMatchObject({ code: "invalid_body", message: "gateway: no such gateway" });
    await expect(previewEffectiveDecision({ ...base, agentId: "agt_nope" })).rejects.toMatchObject({ code: "invalid_body", message: "agent: no such agent" });
    await expect(previewEffectiveDecision({ ...base, providerId: "prv_nope" })).rejects.toMatchObject({ code: "invalid_body", message: "provider: no such provider" });
    await expect(previewEffectiveDecision({ ...base, scopes: [] })).rejects.toMatchObject({ code: "invalid_body" });
  });
});

describe("who is affected by an agent rule", () => {
  // In use: Report bot for alice via A, for bob via A; Digest for alice via B (approvals); Digest
  // for bob by delegation (notes:read, any gateway: via A and via B). Not in use: the disabled
  // agent's approval, the withdrawn approval, the revoked and the expired delegation.
  const IN_USE = 5;

  it("reports only the requesters the rule's agents, users and gateway select, by the scopes they lose", async () => {
    const forAliceViaA = await previewPolicyChange({ kind: "create", draft: await agentDraft({ agents: [reportBot], users: ["alice@example.test"], gatewayId: gatewayA }) });
    expect(forAliceViaA.agents).toMatchObject({ agentsConsidered: 3, selectedBefore: 0, selectedAfter: 1, gained: ["Report bot"], requestersConsidered: IN_USE, requestersGaining: 0, requestersLosing: 1 });
    expect(forAliceViaA.agents!.changed).toEqual([{ requester: "Report bot for alice@example.test via gateway-a", gained: [], lost: ["notes:write"] }]);
    expect(describePreview(forAliceViaA)).toContain("agents acting for users today (approved or delegated, via their gateway): 5; 0 gain scopes, 1 lose scopes (Report bot for alice@example.test via gateway-a: −notes:write)");

    // The same agent selected for alice but only via gateway B: her calls via A are untouched,
    // and via B she had no Report bot approval; nobody loses anything.
    const viaB = await previewPolicyChange({ kind: "create", draft: await agentDraft({ agents: [reportBot], users: ["alice@example.test"], gatewayId: gatewayB }) });
    expect(viaB.agents).toMatchObject({ selectedAfter: 1, requestersLosing: 0, requestersGaining: 0, changed: [] });

    // For everyone, any gateway: bob's Report bot loses writing too.
    const everyone = await previewPolicyChange({ kind: "create", draft: await agentDraft({ agents: [reportBot] }) });
    expect(everyone.agents!.changed.map((c) => [c.requester, c.lost])).toEqual([
      ["Report bot for alice@example.test via gateway-a", ["notes:write"]],
      ["Report bot for bob@example.test via gateway-a", ["notes:write"]],
    ]);

    // A group selector: only the users of the group (alice is in finance).
    const finance = await previewPolicyChange({
      kind: "create",
      draft: await validatePolicyDraft({ providerId: notes, gatewayId: null, scopes: ["notes:read"], users: [], groups: ["finance"], description: "", agents: [reportBot], agentIssuer: null, agentSubjectPrefix: null }),
    });
    expect(finance.agents!.changed.map((c) => c.requester)).toEqual(["Report bot for alice@example.test via gateway-a"]);
  });

  it("with agents allowed explicitly, a rule for a trust-domain path shows who gains, per gateway (a delegation for any gateway counts via each)", async () => {
    await setAgentsExplicit(notes, true, actor);
    try {
      const prefix = await previewPolicyChange({ kind: "create", draft: await agentDraft({ agentSubjectPrefix: "spiffe://corp.test/ns/prod/digest", scopes: ["*"] }) });
      expect(prefix.agents).toMatchObject({ explicit: true, selectedAfter: 1, gained: ["Digest"], requestersConsidered: IN_USE, requestersGaining: 3, requestersLosing: 0 });
      // Gateway B still allows only reading, so Digest for alice via B gains notes:read alone.
      expect(prefix.agents!.changed).toEqual([
        { requester: "Digest for alice@example.test via gateway-b", gained: ["notes:read"], lost: [] },
        { requester: "Digest for bob@example.test via gateway-a", gained: ["notes:read"], lost: [] },
        { requester: "Digest for bob@example.test via gateway-b", gained: ["notes:read"], lost: [] },
      ]);

      // Deleting a saved rule: who loses it.
      const saved = await createPolicyRule(await agentDraft({ agents: [reportBot], users: ["bob"] }), actor);
      const ifDeleted = await previewPolicyChange({ kind: "delete", id: saved.id });
      expect(ifDeleted.agents).toMatchObject({ selectedBefore: 1, selectedAfter: 0, lost: ["Report bot"], requestersLosing: 1 });
      expect(ifDeleted.agents!.changed).toEqual([{ requester: "Report bot for bob@example.test via gateway-a", gained: [], lost: ["notes:read"] }]);
      await deletePolicyRule(saved.id, actor);
    } finally {
      await setAgentsExplicit(notes, false, actor);
    }
  });
});
