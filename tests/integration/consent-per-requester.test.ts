// Consent per requester (design.md invariant 11) on real PostgreSQL with the real IdP and
// upstream: a connection approved for gateway A is not handed to gateway B (allowed by policy)
// until alice approves B with one click (no upstream round trip), or an admin rule pre-approves
// B; withdrawing B leaves A alone; grants that existed before the migration keep working for
// the gateways that had used them.
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase, withClient } from "../helpers/databases";
import {
  basicAuth,
  connectNotes,
  resolveRequest,
  startGatewayTestbed,
  SUBJECT_AUDIENCE,
  type GatewayFixture,
  type GatewayTestbed,
} from "../helpers/gateway-testbed";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();
process.env.AUTH_SECRET = "integration-auth-secret-0123456789abcdef";

let bed: GatewayTestbed;
let resolve: (req: Request) => Promise<Response>;
let notesToken: string;
let grantId: string;
let gatewayB: GatewayFixture;
let preApproved: GatewayFixture;
let preApprovalRuleId: string;
const admin = { type: "admin" as const, id: "test-admin" };

// Imported after the test bed set the environment (lib/env is parsed once).
let lib: Awaited<ReturnType<typeof importLib>>;
let db: Awaited<ReturnType<typeof lib.getDb>>;
async function importLib() {
  return {
    ...(await import("@/lib/db/client")),
    ...(await import("@/lib/audit/group-commit")),
    ...(await import("@/lib/crypto/hash")),
    ...(await import("@/lib/ids")),
    ...(await import("@/lib/auth/session")),
    ...(await import("@/lib/portal/consent-view")),
    ...(await import("@/lib/portal/approve-requester")),
    ...(await import("@/lib/consent/approvals")),
    ...(await import("@/lib/grants/touch")),
  };
}

async function viewerFor(userId: string) {
  const token = `session-${lib.newId("req")}`;
  await db.session.create({ data: { sessionToken: lib.sha256Hex(token), userId, expires: new Date(Date.now() + 3600_000) } });
  return (await lib.findViewerBySessionToken(token))!;
}

async function call(gw: GatewayFixture, scopes = ["notes:read"], user: "alice" | "bob" = "alice") {
  const subjectToken = await bed.idp.signSubjectToken({ sub: bed.idp.users[user].sub, aud: SUBJECT_AUDIENCE });
  const res = await resolve(
    resolveRequest(bed.frontdeskUrl, { subject_token: subjectToken, provider: "notes", scopes }, { authorization: basicAuth(gw.id, gw.secret!) }),
  );
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) };
}

async function lastAudit(where: Record<string, unknown>) {
  await lib.flushGroupCommit();
  return db.auditEvent.findFirst({ where, orderBy: { seq: "desc" } });
}

beforeAll(async () => {
  bed = await startGatewayTestbed();
  lib = await importLib();
  db = await lib.getDb();
  resolve = (await import("@/lib/gateway-api/resolve")).handleResolve;
  const { createGateway } = await import("@/lib/gateways/register");
  const { createPolicyRule } = await import("@/lib/policy/rules");
  // Alice connected Notes when gateway A (basic) asked: A alone is approved.
  const connected = await connectNotes(bed, { approve: [bed.basic] });
  notesToken = connected.accessToken;
  grantId = connected.grantId;
  const b = await createGateway({ name: "gateway-b", authMethod: "client_secret_basic" }, admin);
  gatewayB = { id: b.gateway.id, name: b.gateway.name, secret: b.secret };
  await createPolicyRule({ providerId: bed.providerId, gatewayId: gatewayB.id, scopes: ["notes:read"] }, admin);
  const g = await createGateway({ name: "pre-approved-gateway", authMethod: "client_secret_basic" }, admin);
  preApproved = { id: g.gateway.id, name: g.gateway.name, secret: g.secret };
  // Allowed notes:read and notes:write; pre-approved (no per-user approval needed) for notes:read only.
  await createPolicyRule({ providerId: bed.providerId, gatewayId: preApproved.id, scopes: ["notes:read", "notes:write"] }, admin);
  preApprovalRuleId = (await createPolicyRule({ providerId: bed.providerId, gatewayId: preApproved.id, scopes: ["notes:read"], preApproved: true }, admin)).id;
}, 120_000);

afterAll(async () => {
  await bed?.close();
});

describe("consent per requester", () => {
  let elicitationId: string;

  it("gateway A, which alice approved, gets her credential", async () => {
    const a = await call(bed.basic);
    expect(a.status, a.text).toBe(200);
    expect(a.body.header.value).toBe(`Bearer ${notesToken}`);
    const audit = await lastAudit({ action: "resolve", gatewayId: bed.basic.id });
    expect(audit).toMatchObject({ decision: "allow" });
    expect((audit!.context as any).consent).toMatchObject({ via: "user" });
  });

  it("gateway B, allowed by policy but not approved by alice, gets an elicitation, not her token", async () => {
    const b = await call(gatewayB);
    expect(b.status).toBe(403);
    expect(b.text).not.toContain(notesToken);
    expect(b.body.error.code).toBe(-32042);
    expect(b.body.error.message).toMatch(/already connected|not yet for this requester/);
    elicitationId = b.body.error.data.elicitations[0].elicitationId;
    const row = await db.elicitation.findUniqueOrThrow({ where: { id: elicitationId } });
    expect(row).toMatchObject({ gatewayId: gatewayB.id, agentId: null, status: "pending", scopes: ["notes:read"] });
    expect(await lastAudit({ action: "resolve", gatewayId: gatewayB.id })).toMatchObject({
      decision: "deny",
      reason: "interaction_required:requester_not_approved",
    });
    // Asking again hands out the same link.
    expect((await call(gatewayB)).body.error.data.elicitations[0].elicitationId).toBe(elicitationId);
  });

  it("the consent page offers one click, names B and who already may use the connection", async () => {
    const alice = await viewerFor(bed.users.alice);
    const view = await lib.loadConsentView(elicitationId, alice);
    expect(view.kind).toBe("ready");
    if (view.kind !== "ready") return;
    expect(view.details).toMatchObject({
      mode: "approve_requester",
      gatewayName: gatewayB.name,
      verifiedAgent: null,
      approvedRequesters: [{ gatewayName: bed.basic.name, agentName: null }],
      delegationMaxDays: null,
      newScopes: [],
    });
  });

  it("only alice can approve; her one click completes it with no upstream round trip, and B gets the credential", async () => {
    const bob = await viewerFor(bed.users.bob);
    expect(await lib.approveRequester(elicitationId, bob)).toEqual({ ok: false, reason: "wrong_user" });
    expect((await call(gatewayB)).status).toBe(403);

    const alice = await viewerFor(bed.users.alice);
    expect(await lib.approveRequester(elicitationId, alice)).toEqual({ ok: true });
    const row = await db.elicitation.findUniqueOrThrow({ where: { id: elicitationId } });
    expect(row.status).toBe("completed");
    // No upstream authorization was started for it.
    expect(await db.oAuthTransaction.count({ where: { elicitationId } })).toBe(0);
    expect(await lastAudit({ action: "consent.requester_approved", gatewayId: gatewayB.id })).toMatchObject({
      actorType: "user",
      actorId: bed.users.alice,
      decision: "allow",
      reason: "one_click",
    });
    expect(await lib.approveRequester(elicitationId, alice)).toEqual({ ok: false, reason: "completed" });

    const b = await call(gatewayB);
    expect(b.status).toBe(200);
    expect(b.body.header.value).toBe(`Bearer ${notesToken}`);
  });

  it("records who used the connection last, per requester", async () => {
    await lib.flushGrantUses();
    const requesters = (await lib.listRequestersByGrant(bed.users.alice)).get(grantId)!;
    expect(requesters.map((r) => [r.gatewayId, r.approvedBy, r.lastUsedAt !== null])).toEqual(
      expect.arrayContaining([
        [bed.basic.id, "user", true],
        [gatewayB.id, "user", true],
      ]),
    );
  });

  it("an admin pre-approval lets a gateway in without asking, for the scopes it names only", async () => {
    const c = await call(preApproved);
    expect(c.status).toBe(200);
    expect(c.body.header.value).toBe(`Bearer ${notesToken}`);
    expect(await lastAudit({ action: "consent.requester_approved", gatewayId: preApproved.id })).toMatchObject({
      actorType: "system",
      actorId: preApprovalRuleId,
      reason: "policy_pre_approval",
    });
    const approval = await db.requesterApproval.findFirstOrThrow({ where: { grantId, gatewayId: preApproved.id } });
    expect(approval).toMatchObject({ approvedBy: "policy", approvedById: preApprovalRuleId, agentId: null });
    // Bob has no grant: pre-approval never creates a connection.
    expect((await call(preApproved, ["notes:read"], "bob")).body.error.code).toBe(-32042);
  });

  it("a pre-approval does not cover scopes the rule does not name, and ends with the rule", async () => {
    const { saveGrant } = await import("@/lib/grants/save");
    // Alice's connection gains notes:write (e.g. through gateway A).
    const minted = await bed.upstream.mintTokens({ accountId: bed.idp.users.alice.sub, scope: "notes:read notes:write" });
    await saveGrant({
      userId: bed.users.alice,
      providerId: bed.providerId,
      scopes: ["notes:read", "notes:write"],
      credential: { kind: "oauth", accessToken: minted.accessToken, refreshToken: minted.refreshToken, expiresAt: new Date(Date.now() + 3600_000) },
    });
    notesToken = minted.accessToken;
    const write = await call(preApproved, ["notes:read", "notes:write"]);
    expect(write.status).toBe(403);
    expect(write.text).not.toContain(notesToken);
    expect((await call(preApproved)).status).toBe(200);

    const { deletePolicyRule } = await import("@/lib/policy/rules");
    await deletePolicyRule(preApprovalRuleId, admin);
    const after = await call(preApproved);
    expect(after.status).toBe(403);
    expect(after.body.error.code).toBe(-32042);
  });

  it("withdrawing B does not affect A; B asks again; bob cannot withdraw alice's requester", async () => {
    const approval = await db.requesterApproval.findFirstOrThrow({ where: { grantId, gatewayId: gatewayB.id } });
    await expect(lib.withdrawApproval(approval.id, { type: "user", id: bed.users.bob }, { expectedUserId: bed.users.bob })).rejects.toMatchObject({
      code: "not_found",
    });
    await lib.withdrawApproval(approval.id, { type: "user", id: bed.users.alice }, { expectedUserId: bed.users.alice });
    expect(await lastAudit({ action: "consent.requester_withdrawn" })).toMatchObject({ actorId: bed.users.alice, gatewayId: gatewayB.id });
    await expect(lib.withdrawApproval(approval.id, { type: "user", id: bed.users.alice }, { expectedUserId: bed.users.alice })).rejects.toMatchObject({
      code: "not_found",
    });

    const b = await call(gatewayB);
    expect(b.status).toBe(403);
    expect(b.text).not.toContain(notesToken);
    expect(b.body.error.code).toBe(-32042);
    const a = await call(bed.basic);
    expect(a.status).toBe(200);
    expect(a.body.header.value).toBe(`Bearer ${notesToken}`);
    // The connection itself is untouched.
    expect((await db.grant.findUniqueOrThrow({ where: { id: grantId } })).status).toBe("active");
  });

  it("a withdrawal outranks an admin pre-approval", async () => {
    const { createPolicyRule } = await import("@/lib/policy/rules");
    const { id: ruleId } = await createPolicyRule({ providerId: bed.providerId, gatewayId: preApproved.id, scopes: ["notes:read"], preApproved: true }, admin);
    expect((await call(preApproved)).status).toBe(200);
    const approval = await db.requesterApproval.findFirstOrThrow({ where: { grantId, gatewayId: preApproved.id } });
    await lib.withdrawApproval(approval.id, { type: "user", id: bed.users.alice }, { expectedUserId: bed.users.alice });
    expect((await call(preApproved)).status).toBe(403);
    const { deletePolicyRule } = await import("@/lib/policy/rules");
    await deletePolicyRule(ruleId, admin);
  });

  it("revoking the connection ends every approval: a reconnect asks each requester afresh", async () => {
    const { revokeGrant } = await import("@/lib/grants/revoke");
    await revokeGrant(grantId, { type: "user", id: bed.users.alice }, { expectedUserId: bed.users.alice });
    expect(await db.requesterApproval.count({ where: { grantId, withdrawnAt: null } })).toBe(0);
    // The rows stay: they record which gateways were handed the grant's tokens.
    expect(await db.requesterApproval.count({ where: { grantId } })).toBeGreaterThanOrEqual(3);
  });
});

describe("migration to per-requester consent", () => {
  it("approves the gateways that had used a grant or created it, and no other", async () => {
    const url = await createTestDatabase(inject("pgAdminUrl"), { migrated: false });
    const { applyMigrations, migrationsDir, pgRunner } = await import("@/lib/db/migrate");
    const all = readdirSync(migrationsDir()).filter((d) => /^\d{14}_/.test(d)).sort();
    const mine = all.findIndex((d) => d.includes("_requester_approvals"));
    expect(mine).toBeGreaterThan(0);
    // The schema as it was before: every migration up to this one.
    const before = mkdtempSync(path.join(os.tmpdir(), "frontdesk-migrations-"));
    try {
      cpSync(path.join(migrationsDir(), "migration_lock.toml"), path.join(before, "migration_lock.toml"));
      for (const d of all.slice(0, mine)) cpSync(path.join(migrationsDir(), d), path.join(before, d), { recursive: true });
      await withClient(url, (c) => applyMigrations(pgRunner(c), { dir: before }));
    } finally {
      rmSync(before, { recursive: true, force: true });
    }
    await withClient(url, async (c) => {
      const q = (sql: string) => c.query(sql);
      await q(`INSERT INTO "User" (id, issuer, subject, "updatedAt") VALUES ('usr_m', 'https://idp', 'm', now())`);
      await q(`INSERT INTO "Provider" (id, slug, "displayName", kind, "updatedAt") VALUES ('prv_m', 'm', 'M', 'oauth2', now())`);
      for (const gw of ["gw_used", "gw_audit", "gw_created", "gw_other", "gw_revoked"]) {
        await q(`INSERT INTO "Gateway" (id, name, "authMethod", "updatedAt") VALUES ('${gw}', '${gw}', 'client_secret_basic', now())`);
      }
      await q(`INSERT INTO "User" (id, issuer, subject, "updatedAt") VALUES ('usr_r', 'https://idp', 'r', now())`);
      await q(`INSERT INTO "Grant" (id, "userId", "providerId", status, "lastUsedAt", "lastUsedGatewayId", "updatedAt")
               VALUES ('grt_m', 'usr_m', 'prv_m', 'active', now(), 'gw_used', now()),
                      ('grt_r', 'usr_r', 'prv_m', 'revoked', now(), 'gw_revoked', now())`);
      await q(`INSERT INTO "AuditEvent" (seq, id, "actorType", "gatewayId", action, decision, context, "prevHash", hash)
               VALUES (1, 'evt_1', 'gateway', 'gw_audit', 'token_exchange', 'allow', '{"grantId":"grt_m"}', '', ''),
                      (2, 'evt_2', 'gateway', 'gw_other', 'resolve', 'deny', '{"grantId":"grt_m"}', '', '')`);
      await q(`INSERT INTO "Elicitation" (id, "userIssuer", "userSubject", "gatewayId", "providerId", scopes, status, "expiresAt")
               VALUES ('eli_1', 'https://idp', 'm', 'gw_created', 'prv_m', '{}', 'completed', now()),
                      ('eli_2', 'https://idp', 'm', 'gw_other', 'prv_m', '{}', 'declined', now())`);
    });
    const result = await withClient(url, (c) => applyMigrations(pgRunner(c)));
    expect(result.applied.some((m) => m.includes("_requester_approvals"))).toBe(true);
    const rows = await withClient(url, (c) =>
      c.query(`SELECT "grantId", "gatewayId", "agentId", "approvedBy"::text, "withdrawnAt" FROM "RequesterApproval" ORDER BY "gatewayId"`),
    );
    expect(rows.rows).toEqual([
      { grantId: "grt_m", gatewayId: "gw_audit", agentId: null, approvedBy: "migrated", withdrawnAt: null },
      { grantId: "grt_m", gatewayId: "gw_created", agentId: null, approvedBy: "migrated", withdrawnAt: null },
      { grantId: "grt_m", gatewayId: "gw_used", agentId: null, approvedBy: "migrated", withdrawnAt: null },
    ]);
  });
});
