// Standing delegations (design.md invariant 13) on real PostgreSQL with the real IdP and
// upstream: alice delegates Notes to a scheduled agent for 7 days; the agent, with no subject
// token, gets her credential in delegation mode; another agent, another user, wider scopes, the
// wrong gateway, an expired or revoked delegation, or no verified actor at all are refused,
// each audited. The actor token itself is verified by lib/agents (its own tests); here the
// verified actor is the Agent row such a verification yields.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basicAuth, connectNotes, resolveRequest, startGatewayTestbed, type GatewayTestbed } from "../helpers/gateway-testbed";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();

let bed: GatewayTestbed;
let smtp: SmtpSink;
let lib: Awaited<ReturnType<typeof importLib>>;
let db: Awaited<ReturnType<typeof lib.getDb>>;
let notesToken: string;
let grantId: string;
const agents: Record<"scheduler" | "other", { agentId: string; issuer: string; subject: string; displayName: string; actChain: [] }> = {} as never;

async function importLib() {
  return {
    ...(await import("@/lib/db/client")),
    ...(await import("@/lib/audit/group-commit")),
    ...(await import("@/lib/gateway-api/resolve-credential")),
    ...(await import("@/lib/gateway-api/resolve")),
    ...(await import("@/lib/gateways/authenticate")),
    ...(await import("@/lib/delegations/create")),
    ...(await import("@/lib/delegations/revoke")),
    ...(await import("@/lib/delegations/list")),
    ...(await import("@/lib/delegations/subject")),
    ...(await import("@/lib/providers/find")),
  };
}

beforeAll(async () => {
  smtp = await startSmtpSink();
  bed = await startGatewayTestbed({ extraEnv: { SMTP_URL: smtp.url, NOTIFY_EMAIL_FROM: "Frontdesk <frontdesk@frontdesk.test>" } });
  lib = await importLib();
  db = await lib.getDb();
  const connected = await connectNotes(bed, { scope: "notes:read notes:write", approve: [bed.basic] });
  notesToken = connected.accessToken;
  grantId = connected.grantId;
  for (const name of ["scheduler", "other"] as const) {
    const row = await db.agent.create({
      data: { id: `agt_${name}`, issuer: "spiffe://corp.test", subject: `spiffe://corp.test/jobs/${name}`, displayName: `${name} job` },
    });
    agents[name] = { agentId: row.id, issuer: row.issuer, subject: row.subject, displayName: row.displayName, actChain: [] };
  }
}, 120_000);

afterAll(async () => {
  await bed?.close();
  await smtp?.close();
});

async function gatewayOf(fixture: { id: string }) {
  const row = await db.gateway.findUniqueOrThrow({ where: { id: fixture.id } });
  // As lib/gateways/authenticate hands it over (no secret hash to re-check for this test).
  return { ...row, usedMethod: "client_secret_basic", checkedSecretHash: null } as never;
}

async function delegated(opts: { user?: "alice" | "bob"; agent?: "scheduler" | "other" | null; scopes?: string[]; gateway?: { id: string } } = {}) {
  const user = opts.user ?? "alice";
  const provider = (await lib.findProviderById(bed.providerId))!;
  return lib.resolveCredential({
    action: "resolve",
    gateway: await gatewayOf(opts.gateway ?? bed.basic),
    subject: lib.namedByAgent({ issuer: bed.idp.issuer, subject: bed.idp.users[user].sub }),
    actor: opts.agent === null ? undefined : agents[opts.agent ?? "scheduler"],
    provider,
    scopes: opts.scopes ?? ["notes:read"],
    context: {},
    requestId: `req_${Math.random().toString(36).slice(2)}`,
  });
}

async function lastResolveAudit() {
  await lib.flushGroupCommit();
  return db.auditEvent.findFirstOrThrow({ where: { action: "resolve" }, orderBy: { seq: "desc" } });
}

describe("standing delegations", () => {
  let delegationId: string;

  it("are bounded: at most DELEGATION_MAX_DAYS, scopes within the connection, the user's own connection only", async () => {
    const base = { userId: bed.users.alice, grantId, agentId: agents.scheduler.agentId, scopes: ["notes:read"] };
    await expect(lib.createDelegation({ ...base, days: lib.maxDelegationDays() + 1 })).rejects.toMatchObject({ code: "invalid_request" });
    await expect(lib.createDelegation({ ...base, days: 0 })).rejects.toMatchObject({ code: "invalid_request" });
    await expect(lib.createDelegation({ ...base, days: 7, scopes: ["notes:admin"] })).rejects.toMatchObject({ code: "invalid_request" });
    await expect(lib.createDelegation({ ...base, days: 7, scopes: [] })).rejects.toMatchObject({ code: "invalid_request" });
    await expect(lib.createDelegation({ ...base, days: 7, userId: bed.users.bob })).rejects.toMatchObject({ code: "not_found" });
    expect(await db.delegation.count()).toBe(0);
  });

  it("alice delegates Notes (read) to the scheduler for 7 days; it gets her credential with no subject token", async () => {
    const d = await lib.createDelegation({ userId: bed.users.alice, grantId, agentId: agents.scheduler.agentId, scopes: ["notes:read"], days: 7 });
    delegationId = d.id;
    const days = (d.expiresAt.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThanOrEqual(7);
    const outcome = await delegated();
    expect(outcome.kind).toBe("credential");
    if (outcome.kind !== "credential" || outcome.credential.kind !== "oauth") throw new Error("no credential");
    expect(outcome.credential.accessToken).toBe(notesToken);
    const audit = await lastResolveAudit();
    expect(audit).toMatchObject({ decision: "allow", userId: bed.users.alice, gatewayId: bed.basic.id });
    expect(audit.context).toMatchObject({ mode: "delegation", delegationId, subjectSource: "delegation", consent: { via: "delegation" } });
    // The first use is recorded (and audited) once.
    await delegated();
    await lib.flushGroupCommit();
    expect(await db.auditEvent.count({ where: { action: "delegation.first_used" } })).toBe(1);
    const [listed] = await lib.listUserDelegations(bed.users.alice);
    expect(listed).toMatchObject({ id: delegationId, agentName: "scheduler job", providerName: "Notes", state: "active", scopes: ["notes:read"] });
    expect(listed!.firstUsedAt).not.toBeNull();
  });

  it("its first use tells alice once: audited, one e-mail naming the agent, service, gateway and permissions (no token), listed on her Requests page", async () => {
    const { drainOutbox } = await import("@/lib/outbox/worker");
    const { listFirstUses } = await import("@/lib/delegations/first-use");
    const alice = await db.user.findUniqueOrThrow({ where: { id: bed.users.alice } });
    await drainOutbox();
    const mail = await smtp.waitFor((m) => m.envelopeTo.includes(alice.email!) && m.subject.includes("for the first time"));
    expect(mail.subject).toBe("scheduler job used your Notes account for the first time while you were away");
    expect(mail.text).toContain(`Agent scheduler job (verified by its actor token) used your Notes account for the first time through the delegation you gave it, via ${bed.basic.name}`);
    expect(mail.text).toContain("with these permissions: notes:read");
    expect(mail.text).toContain(`${process.env.FRONTDESK_URL}/connections`);
    expect(mail.raw).not.toContain(notesToken);
    await lib.flushGroupCommit();
    expect(await db.auditEvent.findMany({ where: { action: "delegation.first_used" }, select: { userId: true, gatewayId: true, context: true } })).toEqual([
      { userId: bed.users.alice, gatewayId: bed.basic.id, context: { delegationId, agentId: agents.scheduler.agentId } },
    ]);
    expect(await listFirstUses(bed.users.alice)).toMatchObject([{ delegationId, agentName: "scheduler job", providerName: "Notes", state: "active" }]);
    expect(await listFirstUses(bed.users.bob)).toEqual([]);

    // Later uses: nothing more.
    expect((await delegated()).kind).toBe("credential");
    await drainOutbox();
    expect(await db.outboxEvent.count({ where: { kind: "notice.delegation_email" } })).toBe(1);
    expect(smtp.messages.filter((m) => m.subject.includes("for the first time"))).toHaveLength(1);

    // With notices off: audited and listed, but no e-mail is queued.
    await db.user.update({ where: { id: alice.id }, data: { noticesEnabled: false } });
    // A second delegation to the scheduler: the newest covering one answers, so this is its first use.
    const quiet = await lib.createDelegation({ userId: alice.id, grantId, agentId: agents.scheduler.agentId, scopes: ["notes:read"], days: 1 });
    try {
      expect((await delegated()).kind).toBe("credential");
      await lib.flushGroupCommit();
      expect(await db.auditEvent.count({ where: { action: "delegation.first_used" } })).toBe(2);
      expect(await db.outboxEvent.count({ where: { kind: "notice.delegation_email" } })).toBe(1);
      expect((await listFirstUses(alice.id)).map((u) => u.delegationId)).toEqual([quiet.id, delegationId]);
    } finally {
      await db.user.update({ where: { id: alice.id }, data: { noticesEnabled: true } });
      await lib.revokeDelegation(quiet.id, { type: "user", id: alice.id }, { expectedUserId: alice.id });
    }
  });

  it("another agent, another user, wider scopes, or no verified actor: refused with one clear error, audited with the reason", async () => {
    const cases: [Parameters<typeof delegated>[0], string][] = [
      [{ agent: "other" }, "delegation:no_delegation"],
      [{ user: "bob" }, "delegation:no_delegation"],
      [{ scopes: ["notes:read", "notes:write"] }, "delegation:scope_not_delegated"],
      [{ agent: null }, "delegation:no_actor"],
    ];
    for (const [opts, reason] of cases) {
      await expect(delegated(opts)).rejects.toMatchObject({ code: "delegation_denied", status: 403 });
      expect(await lastResolveAudit()).toMatchObject({ decision: "deny", reason });
    }
  });

  it("a delegation limited to one gateway refuses the others", async () => {
    const d = await lib.createDelegation({ userId: bed.users.alice, grantId, agentId: agents.other.agentId, scopes: ["notes:read"], days: 1, gatewayId: bed.trusted.id });
    await expect(delegated({ agent: "other" })).rejects.toMatchObject({ code: "delegation_denied" });
    expect(await lastResolveAudit()).toMatchObject({ reason: "delegation:wrong_gateway" });
    expect((await delegated({ agent: "other", gateway: bed.trusted })).kind).toBe("credential");
    await lib.revokeDelegation(d.id, { type: "user", id: bed.users.alice }, { expectedUserId: bed.users.alice });
  });

  it("expiry is enforced on every call", async () => {
    await db.delegation.update({ where: { id: delegationId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await expect(delegated()).rejects.toMatchObject({ code: "delegation_denied" });
    expect(await lastResolveAudit()).toMatchObject({ reason: "delegation:expired" });
    await db.delegation.update({ where: { id: delegationId }, data: { expiresAt: new Date(Date.now() + 3600_000) } });
    expect((await delegated()).kind).toBe("credential");
  });

  it("revoked by its user (bob cannot), it is refused on the next call; an admin can revoke too", async () => {
    await expect(lib.revokeDelegation(delegationId, { type: "user", id: bed.users.bob }, { expectedUserId: bed.users.bob })).rejects.toMatchObject({ code: "not_found" });
    await lib.revokeDelegation(delegationId, { type: "user", id: bed.users.alice }, { expectedUserId: bed.users.alice });
    await expect(delegated()).rejects.toMatchObject({ code: "delegation_denied" });
    expect(await lastResolveAudit()).toMatchObject({ reason: "delegation:revoked" });
    await expect(lib.revokeDelegation(delegationId, { type: "admin", id: "adm" })).rejects.toMatchObject({ code: "conflict" });

    const again = await lib.createDelegation({ userId: bed.users.alice, grantId, agentId: agents.scheduler.agentId, scopes: ["notes:read"], days: 2 });
    await lib.revokeDelegation(again.id, { type: "admin", id: "adm" });
    await lib.flushGroupCommit();
    expect(await db.auditEvent.findFirst({ where: { action: "delegation.revoked", actorType: "admin" } })).toMatchObject({ actorId: "adm", userId: bed.users.alice });
    expect((await lib.listDelegations({ activeOnly: true })).length).toBe(0);
  });

  it("REST resolve: on_behalf_of without the agent's verified actor token is refused, never answered", async () => {
    const res = await lib.handleResolve(
      resolveRequest(
        bed.frontdeskUrl,
        { on_behalf_of: { issuer: bed.idp.issuer, subject: bed.idp.users.alice.sub }, provider: "notes", scopes: ["notes:read"] },
        { authorization: basicAuth(bed.basic.id, bed.basic.secret!) },
      ),
    );
    const text = await res.text();
    expect(res.status).toBe(403);
    expect(JSON.parse(text).error.code).toBe("delegation_denied");
    expect(text).not.toContain(notesToken);
    const mixed = await lib.handleResolve(
      resolveRequest(
        bed.frontdeskUrl,
        { on_behalf_of: { issuer: bed.idp.issuer, subject: "alice" }, subject: "alice", provider: "notes" },
        { authorization: basicAuth(bed.basic.id, bed.basic.secret!) },
      ),
    );
    expect(mixed.status).toBe(400);
    const untrusted = await lib.handleResolve(
      resolveRequest(
        bed.frontdeskUrl,
        { on_behalf_of: { issuer: "https://evil.example", subject: "alice" }, provider: "notes" },
        { authorization: basicAuth(bed.basic.id, bed.basic.secret!) },
      ),
    );
    expect(untrusted.status).toBe(400);
  });

  it("from the connections page: only to a verified agent (and gateway) the user approved as a requester; each refusal names its field", async () => {
    const { delegateFromConnections, delegationChoices } = await import("@/lib/portal/connection-delegation");
    const { recordApproval, listRequestersByGrant } = await import("@/lib/consent/approvals");
    const draft = { userId: bed.users.alice, grantId, agentId: agents.scheduler.agentId, gatewayId: bed.post.id, scopes: ["notes:read"], days: 5 };
    // Not offered yet: alice never approved the scheduler (nor gateway post for an agent).
    expect(delegationChoices((await listRequestersByGrant(bed.users.alice)).values()).agents).toEqual([]);
    await expect(delegateFromConnections(draft)).rejects.toMatchObject({ code: "not_found", details: { field: "agent" } });

    await db.$transaction((tx) =>
      recordApproval(tx, { grantId, requester: { gatewayId: bed.basic.id, agentId: agents.scheduler.agentId }, approvedBy: "user", approvedById: bed.users.alice }),
    );
    const choices = delegationChoices((await listRequestersByGrant(bed.users.alice)).values());
    expect(choices).toEqual({ agents: [{ id: agents.scheduler.agentId, name: "scheduler job" }], gateways: [{ id: bed.basic.id, name: bed.basic.name }], maxDays: lib.maxDelegationDays() });
    // A gateway alice approved no agent through is not offered either.
    await expect(delegateFromConnections(draft)).rejects.toMatchObject({ code: "not_found", details: { field: "gateway" } });
    // bob cannot delegate alice's connection, even naming her agent.
    await expect(delegateFromConnections({ ...draft, userId: bed.users.bob, gatewayId: null })).rejects.toMatchObject({ details: { field: "agent" } });
    const ok = { ...draft, gatewayId: bed.basic.id };
    await expect(delegateFromConnections({ ...ok, days: lib.maxDelegationDays() + 1 })).rejects.toMatchObject({ code: "invalid_request", details: { field: "days" } });
    await expect(delegateFromConnections({ ...ok, days: Number.NaN })).rejects.toMatchObject({ details: { field: "days" } });
    await expect(delegateFromConnections({ ...ok, scopes: [] })).rejects.toMatchObject({ code: "invalid_request", details: { field: "scopes" } });
    await expect(delegateFromConnections({ ...ok, scopes: ["notes:admin"] })).rejects.toMatchObject({ details: { field: "scopes", beyond: ["notes:admin"] } });
    expect(await db.delegation.count({ where: { revokedAt: null } })).toBe(0);

    const d = await delegateFromConnections(ok);
    expect(d).toMatchObject({ userId: bed.users.alice, agentId: agents.scheduler.agentId, gatewayId: bed.basic.id, scopes: ["notes:read"] });
    expect((d.expiresAt.getTime() - Date.now()) / 86_400_000).toBeGreaterThan(4.99);
    expect((await delegated({ gateway: bed.basic })).kind).toBe("credential");
    await expect(delegated({ gateway: bed.post })).rejects.toMatchObject({ code: "delegation_denied" });
    await lib.revokeDelegation(d.id, { type: "user", id: bed.users.alice }, { expectedUserId: bed.users.alice });
  });

  it("revoking the connection leaves no delegation usable", async () => {
    const d = await lib.createDelegation({ userId: bed.users.alice, grantId, agentId: agents.scheduler.agentId, scopes: ["notes:read"], days: 3 });
    const { revokeGrant } = await import("@/lib/grants/revoke");
    await revokeGrant(grantId, { type: "user", id: bed.users.alice }, { expectedUserId: bed.users.alice });
    expect((await db.delegation.findUniqueOrThrow({ where: { id: d.id } })).revokedAt).not.toBeNull();
    await expect(delegated()).rejects.toMatchObject({ code: "delegation_denied" });
  });
});
