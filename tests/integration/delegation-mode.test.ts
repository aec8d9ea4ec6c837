// Standing delegations, end to end below the browser (design.md invariants 12 and 13), on real
// PostgreSQL, the real IdP and upstream, and real actor tokens: JWT-SVIDs signed by a local
// SPIFFE trust domain whose bundle endpoint Frontdesk is configured to trust (ACTOR_TOKEN_ISSUERS).
//  - At consent: the page names the verified agent by its registered name and offers "also
//    delegate for N days" only then; the days are bounded by DELEGATION_MAX_DAYS; the
//    delegation covers exactly the request's scopes, through the asking gateway only.
//  - Token endpoint delegation mode (RFC 8693): subject_token = the delegation id,
//    subject_token_type = urn:frontdesk:params:oauth:token-type:delegation, actor_token = the
//    agent's SVID. Allowed and audited with the chain; refused (invalid_request, audited with the
//    reason) without an actor token, for another agent, another user's delegation, wider scopes,
//    another gateway, an unknown id, after expiry and after revoke.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ACCESS_TOKEN_TYPE,
  basicAuth,
  connectNotes,
  JWT_TOKEN_TYPE,
  resolveRequest,
  signClientAssertion,
  startGatewayTestbed,
  SUBJECT_AUDIENCE,
  TOKEN_EXCHANGE_GRANT,
  tokenRequest,
  type GatewayFixture,
  type GatewayTestbed,
} from "../helpers/gateway-testbed";
import { useTestDatabase } from "../helpers/test-db";
import { startSpiffeTrustDomain, type SpiffeTrustDomain } from "../helpers/workload-issuers";

await useTestDatabase();

const FRONTDESK = "http://frontdesk.test";
const TRUST_DOMAIN = "jobs.example";
const DELEGATION = "urn:frontdesk:params:oauth:token-type:delegation";
const MAX_DAYS = 14;

let bed: GatewayTestbed;
let spiffe: SpiffeTrustDomain;
let lib: Awaited<ReturnType<typeof importLib>>;
let db: Awaited<ReturnType<typeof lib.getDb>>;
let notesToken: string;
let aliceGrant: string;
let bobGrant: string;
const agents = { scheduler: "", other: "" };

async function importLib() {
  return {
    ...(await import("@/lib/db/client")),
    ...(await import("@/lib/audit/group-commit")),
    ...(await import("@/lib/crypto/hash")),
    ...(await import("@/lib/ids")),
    ...(await import("@/lib/auth/session")),
    ...(await import("@/lib/agents/admin")),
    ...(await import("@/lib/portal/consent-view")),
    ...(await import("@/lib/portal/approve-requester")),
    ...(await import("@/lib/portal/start-authorization")),
    ...(await import("@/lib/consent/approvals")),
    ...(await import("@/lib/delegations/create")),
    ...(await import("@/lib/delegations/revoke")),
    ...(await import("@/lib/gateway-api/token-exchange")),
    ...(await import("@/lib/gateway-api/resolve")),
    ...(await import("@/lib/gateway-api/discovery")),
  };
}

beforeAll(async () => {
  spiffe = await startSpiffeTrustDomain({ trustDomain: TRUST_DOMAIN, audience: FRONTDESK });
  bed = await startGatewayTestbed({
    frontdeskUrl: FRONTDESK,
    extraEnv: {
      ACTOR_TOKEN_ISSUERS: JSON.stringify([{ trustDomain: TRUST_DOMAIN, jwksUri: spiffe.bundleUrl }]),
      DELEGATION_MAX_DAYS: String(MAX_DAYS),
    },
    insecureIssuers: [new URL(spiffe.bundleUrl).origin],
  });
  lib = await importLib();
  db = await lib.getDb();
  // Both users' connections approved for the gateways without an agent only: a verified agent is
  // a new requester and must be approved (or delegated to) by the user.
  const alice = await connectNotes(bed, { user: "alice", scope: "notes:read notes:write", approve: [bed.basic] });
  notesToken = alice.accessToken;
  aliceGrant = alice.grantId;
  bobGrant = (await connectNotes(bed, { user: "bob", scope: "notes:read", approve: [bed.basic] })).grantId;
  const admin = { type: "admin" as const, id: "test" };
  for (const name of ["scheduler", "other"] as const) {
    const agent = await lib.registerAgent(
      { issuer: `spiffe://${TRUST_DOMAIN}`, subject: `spiffe://${TRUST_DOMAIN}/nightly/${name}`, displayName: name === "scheduler" ? "Nightly report job" : "Other job" },
      admin,
    );
    agents[name] = agent.id;
  }
}, 120_000);

afterAll(async () => {
  await bed?.close();
  await spiffe?.close();
});

const svid = (name: keyof typeof agents) => spiffe.signSvid(`/nightly/${name}`);

async function viewerFor(userId: string) {
  const token = `session-${lib.newId("req")}`;
  await db.session.create({ data: { sessionToken: lib.sha256Hex(token), userId, expires: new Date(Date.now() + 3600_000) } });
  return (await lib.findViewerBySessionToken(token))!;
}

async function exchange(pairs: [string, string][], gateway: GatewayFixture = bed.basic) {
  const res = await lib.handleTokenRequest(tokenRequest(FRONTDESK, pairs, { authorization: basicAuth(gateway.id, gateway.secret!) }));
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) };
}

/** The scheduler with the user present: their subject token and its own actor token. */
async function askWithUser(user: "alice" | "bob", scope: string, agent: keyof typeof agents = "scheduler") {
  const subjectToken = await bed.idp.signSubjectToken({ sub: bed.idp.users[user].sub, aud: SUBJECT_AUDIENCE });
  return exchange([
    ["grant_type", TOKEN_EXCHANGE_GRANT],
    ["subject_token", subjectToken],
    ["subject_token_type", ACCESS_TOKEN_TYPE],
    ["actor_token", await svid(agent)],
    ["actor_token_type", JWT_TOKEN_TYPE],
    ["audience", "notes"],
    ["scope", scope],
  ]);
}

/** The agent with nobody present: its own actor token, and the delegation naming the user. */
async function delegatedExchange(delegationId: string, opts: { agent?: keyof typeof agents | null; scope?: string; gateway?: GatewayFixture; extra?: [string, string][] } = {}) {
  const pairs: [string, string][] = [
    ["grant_type", TOKEN_EXCHANGE_GRANT],
    ["subject_token", delegationId],
    ["subject_token_type", DELEGATION],
  ];
  if (opts.agent !== null) pairs.push(["actor_token", await svid(opts.agent ?? "scheduler")], ["actor_token_type", JWT_TOKEN_TYPE]);
  pairs.push(["audience", "notes"], ["scope", opts.scope ?? "notes:read"], ...(opts.extra ?? []));
  return exchange(pairs, opts.gateway);
}

async function lastDecision() {
  await lib.flushGroupCommit();
  return db.auditEvent.findFirstOrThrow({ where: { action: { in: ["token_exchange", "resolve"] } }, orderBy: { seq: "desc" } });
}

describe("delegate for N days at consent", () => {
  let elicitationId: string;

  it("the scheduler asks with alice's subject token and its actor token: an elicitation naming the verified agent", async () => {
    const { status, json } = await askWithUser("alice", "notes:read");
    expect(status).toBe(400);
    expect(json.error).toBe("interaction_required");
    elicitationId = json.elicitation.elicitationId;
    expect(await db.elicitation.findUniqueOrThrow({ where: { id: elicitationId } })).toMatchObject({ agentId: agents.scheduler, gatewayId: bed.basic.id });
  });

  it("the consent page names the agent by its registered name and offers a delegation bounded by the admin maximum", async () => {
    const view = await lib.loadConsentView(elicitationId, await viewerFor(bed.users.alice));
    if (view.kind !== "ready") throw new Error(view.reason);
    expect(view.details).toMatchObject({
      mode: "approve_requester",
      verifiedAgent: { id: agents.scheduler, displayName: "Nightly report job" },
      delegationMaxDays: MAX_DAYS,
      approvedRequesters: [{ gatewayName: bed.basic.name, agentName: null }],
    });
  });

  it("out-of-bounds days are refused before anything changes", async () => {
    const alice = await viewerFor(bed.users.alice);
    for (const days of [0, MAX_DAYS + 1, 2.5]) {
      await expect(lib.approveRequester(elicitationId, alice, { delegateDays: days })).rejects.toMatchObject({ code: "invalid_request" });
    }
    expect(await db.delegation.count()).toBe(0);
    expect((await db.elicitation.findUniqueOrThrow({ where: { id: elicitationId } })).status).toBe("pending");
  });

  it("a request without a verified agent offers no delegation, and a crafted one is refused", async () => {
    const subjectToken = await bed.idp.signSubjectToken({ sub: bed.idp.users.alice.sub, aud: SUBJECT_AUDIENCE });
    const res = await lib.handleResolve(
      resolveRequest(FRONTDESK, { subject_token: subjectToken, provider: "notes", scopes: ["notes:write"], context: { agentId: "Nightly report job" } }, {
        authorization: `Bearer ${await signClientAssertion(bed.jwt, FRONTDESK)}`,
      }),
    );
    expect(res.status).toBe(403);
    const unverified = (await res.json()).error.data.elicitations[0].elicitationId as string;
    const alice = await viewerFor(bed.users.alice);
    const view = await lib.loadConsentView(unverified, alice);
    if (view.kind !== "ready") throw new Error(view.reason);
    expect(view.details).toMatchObject({ verifiedAgent: null, delegationMaxDays: null, context: { agentId: "Nightly report job" } });
    await expect(lib.approveRequester(unverified, alice, { delegateDays: 3 })).rejects.toMatchObject({ code: "invalid_request" });
    await expect(lib.startUpstreamAuthorization(unverified, alice, { delegateDays: 3 })).rejects.toMatchObject({ code: "invalid_request" });
    expect(await db.oAuthTransaction.count()).toBe(0);
  });

  it("approving with 7 days approves the agent and creates a delegation of exactly the asked scopes, through that gateway only", async () => {
    const alice = await viewerFor(bed.users.alice);
    expect(await lib.approveRequester(elicitationId, alice, { delegateDays: 7 })).toEqual({ ok: true });
    const d = await db.delegation.findFirstOrThrow({ where: { agentId: agents.scheduler } });
    expect(d).toMatchObject({ userId: bed.users.alice, grantId: aliceGrant, scopes: ["notes:read"], gatewayId: bed.basic.id, revokedAt: null });
    const days = (d.expiresAt.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThanOrEqual(7);
    await lib.flushGroupCommit();
    expect(await db.auditEvent.findFirst({ where: { action: "delegation.created" }, orderBy: { seq: "desc" } })).toMatchObject({
      actorType: "user",
      actorId: bed.users.alice,
      context: expect.objectContaining({ delegationId: d.id, elicitationId, agentId: agents.scheduler, scopes: ["notes:read"] }),
    });
    // Who may use the connection now names the agent by its registered name.
    const requesters = (await lib.listRequestersByGrant(bed.users.alice)).get(aliceGrant)!;
    expect(requesters.map((r) => [r.gatewayName, r.agentName])).toEqual(expect.arrayContaining([[bed.basic.name, "Nightly report job"]]));
  });

  it("an agent disabled between the page and the approval: the approval stands, no delegation, audited", async () => {
    const { json } = await askWithUser("alice", "notes:read", "other");
    const id = json.elicitation.elicitationId as string;
    await db.agent.update({ where: { id: agents.other }, data: { status: "disabled" } });
    try {
      expect(await lib.approveRequester(id, await viewerFor(bed.users.alice), { delegateDays: 3 })).toEqual({ ok: true });
    } finally {
      await db.agent.update({ where: { id: agents.other }, data: { status: "active" } });
    }
    expect(await db.delegation.count({ where: { agentId: agents.other } })).toBe(0);
    await lib.flushGroupCommit();
    expect(await db.auditEvent.findFirst({ where: { action: "delegation.not_created" }, orderBy: { seq: "desc" } })).toMatchObject({
      decision: "deny",
      userId: bed.users.alice,
      context: expect.objectContaining({ elicitationId: id }),
    });
  });

  it("connect mode carries the chosen days through the upstream authorization", async () => {
    // Not granted to bob yet: the consent page connects (upstream) instead of one click.
    const { json, text } = await askWithUser("bob", "notes:write");
    expect(json.error, text).toBe("interaction_required");
    const id = json.elicitation.elicitationId as string;
    const bob = await viewerFor(bed.users.bob);
    const started = await lib.startUpstreamAuthorization(id, bob, { delegateDays: 3 });
    expect(started.ok).toBe(true);
    expect(await db.oAuthTransaction.findFirstOrThrow({ where: { elicitationId: id } })).toMatchObject({ delegateDays: 3 });
  });
});

describe("token endpoint delegation mode", () => {
  let delegationId: string;

  beforeAll(async () => {
    delegationId = (await db.delegation.findFirstOrThrow({ where: { agentId: agents.scheduler } })).id;
  });

  it("is announced in the discovery metadata", () => {
    expect(lib.authorizationServerMetadata()).toMatchObject({ frontdesk_delegation_subject_token_type: DELEGATION });
  });

  it("the agent alone (its actor token + the delegation id) gets alice's credential, audited as agent on behalf of user by delegation D", async () => {
    const { status, json, text } = await delegatedExchange(delegationId);
    expect(status, text).toBe(200);
    expect(json).toMatchObject({ access_token: notesToken, token_type: "Bearer", scope: expect.stringContaining("notes:read") });
    const row = await lastDecision();
    expect(row).toMatchObject({ action: "token_exchange", decision: "allow", userId: bed.users.alice, gatewayId: bed.basic.id, agentId: agents.scheduler });
    expect(row.context).toMatchObject({
      mode: "delegation",
      delegationId,
      subjectSource: "delegation",
      consent: { via: "delegation" },
      actor: { issuer: `spiffe://${TRUST_DOMAIN}`, subject: `spiffe://${TRUST_DOMAIN}/nightly/scheduler`, name: "Nightly report job" },
    });
    expect(JSON.stringify(row.context)).not.toContain(notesToken);
  });

  it("REST resolve names the same delegation by id (on_behalf_of.delegation)", async () => {
    const res = await lib.handleResolve(
      resolveRequest(
        FRONTDESK,
        { on_behalf_of: { delegation: delegationId }, actor_token: await svid("scheduler"), actor_token_type: JWT_TOKEN_TYPE, provider: "notes", scopes: ["notes:read"] },
        { authorization: basicAuth(bed.basic.id, bed.basic.secret!) },
      ),
    );
    expect(res.status).toBe(200);
    expect((await res.json()).header.value).toBe(`Bearer ${notesToken}`);
  });

  it("every refusal is the same invalid_request, never a token, and audited with its reason", async () => {
    const bobs = await lib.createDelegation({ userId: bed.users.bob, grantId: bobGrant, agentId: agents.other, scopes: ["notes:read"], days: 2 });
    const cases: [string, () => ReturnType<typeof delegatedExchange>, string][] = [
      ["no actor token", () => delegatedExchange(delegationId, { agent: null }), "delegation:no_actor"],
      ["another agent", () => delegatedExchange(delegationId, { agent: "other" }), "delegation:no_delegation"],
      ["another user's delegation", () => delegatedExchange(bobs.id, { agent: "scheduler" }), "delegation:no_delegation"],
      ["wider scopes", () => delegatedExchange(delegationId, { scope: "notes:read notes:write" }), "delegation:scope_not_delegated"],
      ["another gateway", () => delegatedExchange(delegationId, { gateway: bed.trusted }), "delegation:wrong_gateway"],
      ["an unknown id", () => delegatedExchange("dlg_doesnotexist"), "delegation:no_delegation"],
      ["not an id at all", () => delegatedExchange("alice"), "delegation:no_delegation"],
    ];
    for (const [name, run, reason] of cases) {
      const { status, json, text } = await run();
      expect({ name, status, error: json.error }).toEqual({ name, status: 400, error: "invalid_request" });
      expect(text).not.toContain(notesToken);
      expect({ name, ...(await lastDecision()) }).toMatchObject({ name, decision: "deny", reason });
    }
    // The refusals about alice's delegation carry the chain (the verified agent, the delegation).
    await delegatedExchange(delegationId, { agent: "other" });
    expect(await lastDecision()).toMatchObject({ agentId: agents.other, userId: bed.users.alice, context: expect.objectContaining({ mode: "delegation", delegationId }) });
  });

  it("a retry's request_state has no place in delegation mode (nobody is there to answer)", async () => {
    const { status, json } = await delegatedExchange(delegationId, { extra: [["request_state", "x"]] });
    expect(status).toBe(400);
    expect(json.error).toBe("invalid_request");
  });

  it("expiry is enforced on the next call", async () => {
    const { expiresAt } = await db.delegation.update({ where: { id: delegationId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await delegatedExchange(delegationId)).status).toBe(400);
    expect(await lastDecision()).toMatchObject({ decision: "deny", reason: "delegation:expired" });
    await db.delegation.update({ where: { id: delegationId }, data: { expiresAt: new Date(expiresAt.getTime() + 2 * 86_400_000) } });
    expect((await delegatedExchange(delegationId)).status).toBe(200);
  });

  it("revoked by alice, it is refused on the next call", async () => {
    await lib.revokeDelegation(delegationId, { type: "user", id: bed.users.alice }, { expectedUserId: bed.users.alice });
    const { status, text } = await delegatedExchange(delegationId);
    expect(status).toBe(400);
    expect(text).not.toContain(notesToken);
    expect(await lastDecision()).toMatchObject({ decision: "deny", reason: "delegation:revoked", agentId: agents.scheduler });
  });
});
