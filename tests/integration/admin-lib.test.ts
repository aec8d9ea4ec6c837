// lib/admin against real PostgreSQL: policy impact preview, bulk revoke by gateway, provider edits
// with a write-only secret, sessions, grant listing, streaming export across pages, activity
// series, gateway settings. Every change must leave an admin audit record and an intact chain.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();

const { getDb } = await import("@/lib/db/client");
const { appendAudit, appendAuditMany } = await import("@/lib/audit/append");
const { verifyAuditChain } = await import("@/lib/audit/verify");
const { countAuditEvents } = await import("@/lib/audit/query");
const { createProvider } = await import("@/lib/providers/create");
const { openClientSecret } = await import("@/lib/providers/secret");
const { createGateway } = await import("@/lib/gateways/register");
const { createPolicyRule } = await import("@/lib/policy/rules");
const { saveGrant } = await import("@/lib/grants/save");
const { previewPolicyChange, validatePolicyDraft, setPolicyRuleEnabled } = await import("@/lib/admin/policy");
const { bulkRevokeGrants, findGrantsForBulkRevoke } = await import("@/lib/admin/bulk-revoke");
const { updateProvider, createProviderFromPreset, testIssuerDiscovery, setProviderStatusById } = await import("@/lib/admin/providers");
const { findProviderBySlugCached } = await import("@/lib/gateway-api/providers");
const { endSession, endUserSessions, listSessionsPage } = await import("@/lib/admin/sessions");
const { listGrantsPage } = await import("@/lib/admin/grants");
const { loadAuditNames, streamAuditExport } = await import("@/lib/admin/audit-log");
const { getActivitySeries, getOverviewCounts } = await import("@/lib/admin/overview");
const { updateGatewaySettings } = await import("@/lib/admin/gateways");

const actor = { type: "admin" as const, id: "usr_admin" };
const users = { alice: "usr_alice", bob: "usr_bob", carol: "usr_carol" };
let keysId: string;
let oauthId: string;
let gatewayA: string;
let gatewayB: string;

beforeAll(async () => {
  const db = await getDb();
  await db.user.createMany({
    data: [
      { id: users.alice, issuer: "https://idp.test", subject: "alice", email: "alice@example.test", groups: ["engineering"] },
      { id: users.bob, issuer: "https://idp.test", subject: "bob", email: "bob@example.test", groups: ["sales"] },
      { id: users.carol, issuer: "https://idp.test", subject: "carol", email: "carol@example.test", groups: [] },
    ],
  });
  keysId = (await createProvider({ slug: "keysvc", displayName: "Key Service", kind: "api_key", apiKeyHeader: "X-Api-Key" }, actor)).id;
  oauthId = (
    await createProvider(
      {
        slug: "acme",
        displayName: "Acme",
        kind: "oauth2",
        authorizationEndpoint: "https://acme.test/authorize",
        tokenEndpoint: "https://acme.test/token",
        clientId: "client",
        clientSecret: "original-secret-value",
      },
      actor,
    )
  ).id;
  gatewayA = (await createGateway({ name: "gateway-a", authMethod: "client_secret_basic" }, actor)).gateway.id;
  gatewayB = (await createGateway({ name: "gateway-b", authMethod: "client_secret_basic" }, actor)).gateway.id;
  for (const [name, id] of Object.entries(users)) {
    await saveGrant({ userId: id, providerId: keysId, scopes: ["use"], credential: { kind: "api_key", apiKey: `key-of-${name}-0123456789` } });
  }
});

afterAll(async () => {
  const chain = await verifyAuditChain();
  expect(chain.ok).toBe(true);
});

describe("policy preview", () => {
  it("shows who gains access before a rule exists, and who loses it (with active connections) if it goes", async () => {
    const draft = await validatePolicyDraft({ providerId: keysId, gatewayId: null, scopes: [], users: ["bob@example.test"], groups: ["engineering"], description: "" });
    expect(draft.scopes).toEqual(["*"]);
    const before = await previewPolicyChange({ kind: "create", draft });
    expect(before.coveredBefore).toBe(0);
    expect(before.coveredAfter).toBe(2);
    expect(before.gained.map((u) => u.id).sort()).toEqual([users.alice, users.bob]);
    expect(before.lostCount).toBe(0);

    const rule = await createPolicyRule(draft, actor);
    const ifDeleted = await previewPolicyChange({ kind: "delete", id: rule.id });
    expect(ifDeleted.lost.map((u) => u.id).sort()).toEqual([users.alice, users.bob]);
    expect(ifDeleted.lostWithActiveGrants).toBe(2);

    // Narrowing the rule to the group: bob loses access, scope change reported.
    const narrower = await previewPolicyChange({ kind: "update", id: rule.id, draft: { ...draft, users: [], scopes: ["use"] } });
    expect(narrower.lost.map((u) => u.email)).toEqual(["bob@example.test"]);
    expect(narrower.scopesBefore).toEqual(["*"]);
    expect(narrower.scopesAfter).toEqual(["use"]);

    await setPolicyRuleEnabled(rule.id, false, actor);
    const disabled = await previewPolicyChange({ kind: "enable", id: rule.id });
    expect(disabled.gainedCount).toBe(2);
    const db = await getDb();
    expect(await db.auditEvent.count({ where: { action: "admin.policy_rule_disabled", actorId: actor.id } })).toBe(1);
  });

  it("rejects drafts naming unknown providers or gateways, or mixing * with scopes", async () => {
    await expect(validatePolicyDraft({ providerId: "prv_nope", gatewayId: null, scopes: [], users: [], groups: [], description: "" })).rejects.toThrow(/provider/);
    await expect(validatePolicyDraft({ providerId: keysId, gatewayId: "gw_nope", scopes: [], users: [], groups: [], description: "" })).rejects.toThrow(/gateway/);
    await expect(validatePolicyDraft({ providerId: keysId, gatewayId: null, scopes: ["*", "read"], users: [], groups: [], description: "" })).rejects.toThrow(/\*/);
    await expect(validatePolicyDraft({ providerId: keysId, gatewayId: null, scopes: ["has space"], users: [], groups: [], description: "" })).rejects.toThrow();
  });
});

describe("bulk revoke by gateway", () => {
  it("revokes exactly the grants the gateway received credentials from, each audited as admin, plus one summary", async () => {
    const db = await getDb();
    const grants = await db.grant.findMany({ where: { providerId: keysId }, select: { id: true, userId: true } });
    const alice = grants.find((g) => g.userId === users.alice)!;
    const bob = grants.find((g) => g.userId === users.bob)!;
    // gateway A resolved alice's grant (audit) and last used bob's; gateway B used carol's.
    await appendAudit({ actorType: "gateway", actorId: gatewayA, gatewayId: gatewayA, userId: users.alice, providerId: keysId, action: "resolve", decision: "allow", context: { grantId: alice.id } });
    await appendAudit({ actorType: "gateway", actorId: gatewayA, gatewayId: gatewayA, userId: users.carol, providerId: keysId, action: "resolve", decision: "deny", context: { grantId: "grt_not_given" } });
    await db.grant.update({ where: { id: bob.id }, data: { lastUsedGatewayId: gatewayA } });
    await db.grant.updateMany({ where: { userId: users.carol }, data: { lastUsedGatewayId: gatewayB } });

    expect((await findGrantsForBulkRevoke({ by: "gateway", gatewayId: gatewayA })).sort()).toEqual([alice.id, bob.id].sort());
    const result = await bulkRevokeGrants({ by: "gateway", gatewayId: gatewayA }, actor);
    expect(result).toEqual({ revoked: 2, upstreamRevoked: 0, failed: 0 });
    const after = await db.grant.findMany({ where: { providerId: keysId }, select: { userId: true, status: true, apiKeyCipher: true } });
    for (const g of after) {
      expect(g.status).toBe(g.userId === users.carol ? "active" : "revoked");
      if (g.status === "revoked") expect(g.apiKeyCipher).toBeNull();
    }
    const revokedEvents = await db.auditEvent.findMany({ where: { action: "grant.revoked" } });
    expect(revokedEvents.map((e) => [e.actorType, e.actorId])).toEqual([
      ["admin", actor.id],
      ["admin", actor.id],
    ]);
    const summary = await db.auditEvent.findFirstOrThrow({ where: { action: "admin.grants_bulk_revoked" } });
    expect(summary).toMatchObject({ gatewayId: gatewayA, reason: "by_gateway", context: { matched: 2, revoked: 2, failed: 0, upstreamRevoked: 0 } });
    // Nothing left to revoke: a clear refusal, not a silent no-op.
    await expect(bulkRevokeGrants({ by: "gateway", gatewayId: gatewayA }, actor)).rejects.toThrow(/nothing was revoked/);
  });
});

describe("provider edits", () => {
  it("keeps the client secret unless a new one is typed, never audits its value, and validates like creation", async () => {
    const first = await updateProvider(oauthId, { displayName: "Acme Corp", defaultScopes: ["read"] }, actor);
    expect(first.changed.sort()).toEqual(["defaultScopes", "displayName"]);
    expect(await openClientSecret(oauthId)).toBe("original-secret-value");

    const second = await updateProvider(oauthId, { clientSecret: "rotated-secret-value" }, actor);
    expect(second.changed).toEqual(["clientSecret"]);
    expect(await openClientSecret(oauthId)).toBe("rotated-secret-value");
    const db = await getDb();
    const events = await db.auditEvent.findMany({ where: { action: "admin.provider_updated" }, orderBy: { seq: "asc" } });
    expect(events.map((e) => e.context)).toEqual([{ changed: ["displayName", "defaultScopes"] }, { changed: ["clientSecret"] }]);
    expect(JSON.stringify(await db.auditEvent.findMany({ select: { reason: true, context: true } }))).not.toContain("rotated-secret-value");

    await expect(updateProvider(oauthId, { tokenEndpoint: "http://acme.test/token" }, actor)).rejects.toThrow(/https/);
    await expect(updateProvider(oauthId, { tokenEndpoint: undefined }, actor)).rejects.toThrow(/tokenEndpoint/);
    expect((await updateProvider(oauthId, { displayName: "Acme Corp" }, actor)).changed).toEqual([]);
  });

  it("stores the plain-language scope lines an admin writes, and refuses unusable ones", async () => {
    const edit = await updateProvider(oauthId, { scopeDescriptions: { read: "Read your Acme projects" } }, actor);
    expect(edit.changed).toEqual(["scopeDescriptions"]);
    expect(edit.provider.scopeDescriptions).toEqual({ read: "Read your Acme projects" });
    await expect(updateProvider(oauthId, { scopeDescriptions: { read: "x".repeat(201) } }, actor)).rejects.toThrow(/scopeDescriptions/);
    expect((await updateProvider(oauthId, { scopeDescriptions: {} }, actor)).provider.scopeDescriptions).toEqual({});
  });

  it("a disable is seen by the gateway API's provider cache at once", async () => {
    expect((await findProviderBySlugCached("acme"))?.status).toBe("active");
    await setProviderStatusById(oauthId, "disabled", actor);
    expect((await findProviderBySlugCached("acme"))?.status).toBe("disabled");
    await setProviderStatusById(oauthId, "active", actor);
    expect((await findProviderBySlugCached("acme"))?.status).toBe("active");
    await expect(setProviderStatusById("prv_nope", "disabled", actor)).rejects.toThrow(/No such provider/);
  });
});

describe("sessions", () => {
  it("lists live sessions and ends one or all of a user's, audited", async () => {
    const db = await getDb();
    const inAnHour = new Date(Date.now() + 3600_000);
    await db.session.createMany({
      data: [
        { id: "ses_1", sessionToken: "h1", userId: users.alice, expires: inAnHour, userAgent: "Firefox" },
        { id: "ses_2", sessionToken: "h2", userId: users.alice, expires: inAnHour, userAgent: "Chrome" },
        { id: "ses_3", sessionToken: "h3", userId: users.bob, expires: inAnHour },
        { id: "ses_old", sessionToken: "h4", userId: users.bob, expires: new Date(Date.now() - 1000) },
      ],
    });
    const page = await listSessionsPage({}, { page: 1, pageSize: 25 });
    expect(page.total).toBe(3);
    expect((await listSessionsPage({ q: "firefox" }, { page: 1, pageSize: 25 })).rows.map((r) => r.id)).toEqual(["ses_1"]);
    expect((await listSessionsPage({ includeExpired: true }, { page: 1, pageSize: 25 })).total).toBe(4);

    await endSession("ses_3", actor);
    await expect(endSession("ses_3", actor)).rejects.toThrow(/already ended/);
    expect(await endUserSessions(users.alice, actor)).toEqual({ ended: 2 });
    expect(await db.session.count({ where: { userId: users.alice } })).toBe(0);
    expect(await db.auditEvent.count({ where: { action: { in: ["admin.session_ended", "admin.user_sessions_ended"] }, actorType: "admin" } })).toBe(2);
  });
});

describe("listing and export", () => {
  it("filters and searches grants on the server", async () => {
    const all = await listGrantsPage({}, { page: 1, pageSize: 25 });
    expect(all.total).toBe(3);
    const search = await listGrantsPage({ q: "CAROL@" }, { page: 1, pageSize: 25 });
    expect(search.rows.map((r) => r.user.id)).toEqual([users.carol]);
    expect(search.rows[0]?.lastUsedGateway?.name).toBe("gateway-b");
    expect((await listGrantsPage({ status: "revoked", providerId: keysId }, { page: 1, pageSize: 25 })).total).toBe(2);
    expect((await listGrantsPage({ gatewayId: gatewayB }, { page: 1, pageSize: 25 })).total).toBe(1);
    expect(await listGrantsPage({}, { page: 2, pageSize: 25 })).toMatchObject({ rows: [], total: 3, pageCount: 1 });
  });

  it("streams a filtered export over several pages, newest first, each event once", async () => {
    await appendAuditMany(
      Array.from({ length: 1_234 }, (_, i) => ({
        actorType: "gateway" as const,
        actorId: gatewayB,
        gatewayId: gatewayB,
        providerId: keysId,
        action: "resolve",
        decision: i % 3 === 0 ? ("deny" as const) : ("allow" as const),
        context: { i },
      })),
    );
    const filter = { gatewayId: gatewayB, decision: "allow" as const };
    const text = await new Response(await streamAuditExport(filter, "jsonl")).text();
    const lines = text.trim().split("\n").map((l) => JSON.parse(l) as { seq: string; decision: string; gatewayId: string });
    expect(lines.length).toBe(await countAuditEvents(filter));
    expect(lines.length).toBeGreaterThan(500);
    expect(new Set(lines.map((l) => l.seq)).size).toBe(lines.length);
    expect(lines.every((l) => l.decision === "allow" && l.gatewayId === gatewayB)).toBe(true);
    const seqs = lines.map((l) => BigInt(l.seq));
    expect(seqs.every((s, i) => i === 0 || s < seqs[i - 1]!)).toBe(true);
    const csv = await new Response(await streamAuditExport(filter, "csv")).text();
    expect(csv.trim().split("\r\n")).toHaveLength(lines.length + 1);
  });

  it("counts resolves per hour, allowed vs denied vs consent needed", async () => {
    await appendAudit({ actorType: "gateway", actorId: gatewayB, action: "token_exchange", decision: "deny", reason: "interaction_required:no_grant" });
    await appendAudit({ actorType: "user", actorId: users.alice, action: "elicitation.completed", decision: "info" });
    const series = await getActivitySeries("hour");
    expect(series).toHaveLength(48);
    const now = series[series.length - 1]!;
    const db = await getDb();
    const allowed = await db.auditEvent.count({ where: { action: { in: ["resolve", "token_exchange"] }, decision: "allow" } });
    expect(now.resolvesAllowed).toBe(allowed);
    expect(now.resolvesElicited).toBe(1);
    expect(now.resolvesDenied).toBe(await db.auditEvent.count({ where: { action: "resolve", decision: "deny" } }));
    expect(now.elicitationsCompleted).toBe(1);
    expect(series.slice(0, -1).every((p) => p.resolvesAllowed === 0)).toBe(true);
    const days = await getActivitySeries("day");
    expect(days).toHaveLength(30);
    expect(days[29]!.resolvesAllowed).toBe(allowed);
    const counts = await getOverviewCounts();
    expect(counts).toMatchObject({ users: 3, activeGrants: 1, activeGateways: 2 });
  });
});

describe("audit names", () => {
  it("names a person the same way by user id and by issuer|subject reference, and an unknown subject by its issuer host", async () => {
    const names = await loadAuditNames([
      { userId: users.alice },
      { actorId: "https://idp.test|alice" },
      { userId: "https://idp.test|auth0|42" },
      { userId: "https://other.example/tenant|dave" },
    ]);
    expect(names.users.get(users.alice)).toBe("alice@example.test");
    expect(names.users.get("https://idp.test|alice")).toBe("alice@example.test");
    expect(names.users.get("https://idp.test|auth0|42")).toBe("auth0|42 at idp.test");
    expect(names.users.get("https://other.example/tenant|dave")).toBe("dave at other.example");
  });
});

describe("gateway settings", () => {
  it("sets the trusted-subject flag and webhook, refuses plain-http webhooks and keys on secret gateways", async () => {
    const updated = await updateGatewaySettings(gatewayB, { trustedSubject: true, webhookUrl: "https://hooks.example.test/frontdesk" }, actor);
    expect(updated).toMatchObject({ trustedSubject: true, webhookUrl: "https://hooks.example.test/frontdesk" });
    await expect(updateGatewaySettings(gatewayB, { webhookUrl: "http://hooks.example.test/" }, actor)).rejects.toThrow(/https/);
    await expect(updateGatewaySettings(gatewayB, { jwksUri: "https://keys.example.test/jwks" }, actor)).rejects.toThrow(/private_key_jwt/);
    const cleared = await updateGatewaySettings(gatewayB, { webhookUrl: null, trustedSubject: false }, actor);
    expect(cleared).toMatchObject({ trustedSubject: false, webhookUrl: null });
    const db = await getDb();
    const events = await db.auditEvent.findMany({ where: { action: "admin.gateway_updated" }, orderBy: { seq: "asc" } });
    expect(events.map((e) => (e.context as { changed: string[] }).changed)).toEqual([
      ["webhookUrl", "trustedSubject"],
      ["webhookUrl", "trustedSubject"],
    ]);
  });
});

describe("provider presets and discovery", () => {
  it("creates a provider from a preset with the admin's client credentials, audited as admin", async () => {
    const p = await createProviderFromPreset({ preset: "github", slug: "github", clientId: "Iv1.abc", clientSecret: "gh-client-secret-value" }, actor);
    expect(p).toMatchObject({ kind: "oauth2", preset: "github", tokenEndpoint: "https://github.com/login/oauth/access_token", clientId: "Iv1.abc" });
    expect(await openClientSecret(p.id)).toBe("gh-client-secret-value");
    const db = await getDb();
    expect(await db.auditEvent.count({ where: { action: "admin.provider_created", providerId: p.id, actorType: "admin" } })).toBe(1);
    await expect(createProviderFromPreset({ preset: "microsoft", slug: "ms", clientId: "x", clientSecret: "y" }, actor)).rejects.toThrow(/tenant/);
    await expect(createProviderFromPreset({ preset: "nope", slug: "nope" }, actor)).rejects.toThrow(/unknown preset/);
  });

  it("refuses plain-http issuers that are not explicitly allowed, and reports unreachable ones", async () => {
    await expect(testIssuerDiscovery("http://idp.example.test")).rejects.toThrow(/https/);
    await expect(testIssuerDiscovery("not a url")).rejects.toThrow(/not a URL/);
    await expect(testIssuerDiscovery("https://127.0.0.1:1")).rejects.toThrow(/Discovery failed/);
  });
});
