// Verified actors (issue 11 part 1, design.md invariant 12) against real PostgreSQL, the real
// IdP, and real local workload issuers: an OAuth server issuing client-credentials JWT access
// tokens (oidc-provider) trusted globally, and a SPIFFE trust domain's bundle endpoint trusted
// for one gateway only. Requests are the exact forms agentgateway and ToolHive send with an
// actor token (sources cited per test).
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ACCESS_TOKEN_TYPE,
  basicAuth,
  connectNotes,
  ID_TOKEN_TYPE,
  JWT_TOKEN_TYPE,
  resolveRequest,
  signClientAssertion,
  startGatewayTestbed,
  SUBJECT_AUDIENCE,
  TOKEN_EXCHANGE_GRANT,
  tokenRequest,
  type GatewayTestbed,
} from "../helpers/gateway-testbed";
import { useTestDatabase } from "../helpers/test-db";
import { startClientCredentialsIssuer, startSpiffeTrustDomain, type ClientCredentialsIssuer, type SpiffeTrustDomain } from "../helpers/workload-issuers";

const databaseUrl = await useTestDatabase();
const FRONTDESK = "http://frontdesk.test";
const TRUST_DOMAIN = "corp.example";
const SCHEDULER = "/ns/prod/sa/scheduler";

let bed: GatewayTestbed;
let cc: ClientCredentialsIssuer;
let spiffe: SpiffeTrustDomain;
let handlers: { token: (req: Request) => Promise<Response>; resolve: (req: Request) => Promise<Response> };

beforeAll(async () => {
  cc = await startClientCredentialsIssuer({ audience: FRONTDESK, clientIds: ["scheduler-agent", "report-agent", "new-agent"] });
  spiffe = await startSpiffeTrustDomain({ trustDomain: TRUST_DOMAIN, audience: FRONTDESK });
  bed = await startGatewayTestbed({
    frontdeskUrl: FRONTDESK,
    // The client-credentials issuer is trusted for every gateway (discovery -> jwks_uri).
    extraEnv: { ACTOR_TOKEN_ISSUERS: JSON.stringify([{ issuer: cc.issuer }]) },
    insecureIssuers: [cc.issuer, new URL(spiffe.bundleUrl).origin],
  });
  // The SPIFFE trust domain only for the private_key_jwt gateway (a per-gateway setting).
  const { updateGatewaySettings } = await import("@/lib/admin/gateways");
  await updateGatewaySettings(bed.jwt.id, { actorIssuers: [{ trustDomain: TRUST_DOMAIN, jwksUri: spiffe.bundleUrl }] }, { type: "admin", id: "test" });
  const { grantId } = await connectNotes(bed, { user: "alice", scope: "notes:read notes:write" });
  // Consent is per requester (gateway + agent, lib/consent): pre-register the agents (an admin
  // action; their first verified call then finds the row) and record alice's approval of each.
  const { registerAgent } = await import("@/lib/agents/admin");
  const { recordApproval } = await import("@/lib/consent/approvals");
  const db = await (await import("@/lib/db/client")).getDb();
  const admin = { type: "admin" as const, id: "test" };
  const agents = [
    await registerAgent({ issuer: cc.issuer, subject: "scheduler-agent" }, admin),
    await registerAgent({ issuer: cc.issuer, subject: "report-agent" }, admin),
    await registerAgent({ issuer: `spiffe://${TRUST_DOMAIN}`, subject: `spiffe://${TRUST_DOMAIN}${SCHEDULER}`, displayName: "Scheduler" }, admin),
  ];
  await db.$transaction(async (tx) => {
    for (const agent of agents)
      for (const gatewayId of [bed.basic.id, bed.jwt.id])
        await recordApproval(tx, { grantId, requester: { gatewayId, agentId: agent.id }, approvedBy: "user", approvedById: bed.users.alice });
  });
  const [te, rs] = await Promise.all([import("@/lib/gateway-api/token-exchange"), import("@/lib/gateway-api/resolve")]);
  handlers = { token: te.handleTokenRequest, resolve: rs.handleResolve };
}, 120_000);

afterAll(async () => {
  await bed?.close();
  await cc?.close();
  await spiffe?.close();
});

const subjectToken = (extra: Record<string, unknown> = {}) => bed.idp.signSubjectToken({ sub: bed.idp.users.alice.sub, aud: SUBJECT_AUDIENCE, extra });

/** agentgateway's form with an actor token: crates/agentgateway/src/http/auth/oauth/transport.rs build_token_request_form. */
async function exchange(actorToken: string | null, opts: { actorTokenType?: string; subject?: string; scope?: string } = {}) {
  const pairs: [string, string][] = [
    ["grant_type", TOKEN_EXCHANGE_GRANT],
    ["subject_token", opts.subject ?? (await subjectToken())],
    ["subject_token_type", ACCESS_TOKEN_TYPE],
  ];
  if (actorToken !== null) pairs.push(["actor_token", actorToken], ["actor_token_type", opts.actorTokenType ?? ACCESS_TOKEN_TYPE]);
  pairs.push(["audience", "notes"], ["scope", opts.scope ?? "notes:read"]);
  const res = await handlers.token(tokenRequest(FRONTDESK, pairs, { authorization: basicAuth(bed.basic.id, bed.basic.secret!) }));
  return { status: res.status, json: JSON.parse(await res.text()) };
}

/** REST resolve by the private_key_jwt gateway (the one that trusts the SPIFFE trust domain). */
async function resolveAsJwtGateway(body: Record<string, unknown>) {
  const res = await handlers.resolve(
    resolveRequest(FRONTDESK, { subject_token: await subjectToken(), provider: "notes", ...body }, { authorization: `Bearer ${await signClientAssertion(bed.jwt, FRONTDESK)}` }),
  );
  return { status: res.status, json: JSON.parse(await res.text()) };
}

async function lastAudit() {
  const { flushAudit } = await import("@/lib/audit/append");
  await flushAudit();
  const db = (await import("@/lib/db/client")).getDb;
  return (await db()).auditEvent.findFirstOrThrow({ orderBy: { seq: "desc" } });
}

async function agentRow(subject: string) {
  const db = await (await import("@/lib/db/client")).getDb();
  return db.agent.findFirst({ where: { subject } });
}

describe("verified actor tokens", () => {
  it("agentgateway actorToken variant: a client-credentials JWT actor is allowed, registered, and audited with the chain", async () => {
    const actor = await cc.issueToken("scheduler-agent");
    const { status, json } = await exchange(actor);
    expect(status).toBe(200);
    expect(json.token_type).toBe("Bearer");
    const row = await lastAudit();
    // Pre-registered, never seen until now: the first verified call records the sighting.
    await (await import("@/lib/agents/touch")).flushAgentSightings();
    const agent = await agentRow("scheduler-agent");
    expect(agent).toMatchObject({ issuer: cc.issuer, subject: "scheduler-agent", status: "active" });
    expect(agent!.firstSeenAt).not.toBeNull();
    expect(agent!.lastSeenAt).not.toBeNull();
    expect(row).toMatchObject({ action: "token_exchange", decision: "allow", userId: bed.users.alice, gatewayId: bed.basic.id, agentId: agent!.id });
    expect(row.context).toMatchObject({ actor: { issuer: cc.issuer, subject: "scheduler-agent", name: "scheduler-agent", act: [] } });
    // An agent never seen before is created on its first verified call (and then needs the user's approval).
    await exchange(await cc.issueToken("new-agent"));
    expect(await agentRow("new-agent")).toMatchObject({ issuer: cc.issuer, displayName: "new-agent", status: "active" });
    // The audit row never holds the actor token itself.
    expect(JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? v.toString() : v))).not.toContain(actor);
  });

  it("a SPIFFE JWT-SVID (no iss) via the gateway that trusts its trust domain; its nested act chain is recorded", async () => {
    const svid = await spiffe.signSvid(SCHEDULER, { extra: { act: { sub: "spiffe://corp.example/ns/prod/sa/orchestrator", act: { sub: "ci-pipeline", iss: "https://ci.example" } } } });
    const { status, json } = await resolveAsJwtGateway({ actor_token: svid, actor_token_type: JWT_TOKEN_TYPE, context: { toolName: "list_notes" } });
    expect(status, JSON.stringify(json)).toBe(200);
    const agent = await agentRow(`spiffe://${TRUST_DOMAIN}${SCHEDULER}`);
    expect(agent?.issuer).toBe(`spiffe://${TRUST_DOMAIN}`);
    const row = await lastAudit();
    expect(row.agentId).toBe(agent!.id);
    expect(row.context).toMatchObject({
      actor: {
        subject: `spiffe://${TRUST_DOMAIN}${SCHEDULER}`,
        act: [{ sub: "spiffe://corp.example/ns/prod/sa/orchestrator" }, { sub: "ci-pipeline", iss: "https://ci.example" }],
      },
      // The gateway's own claims about the call stay, marked as unverified.
      toolName: "list_notes",
      contextUnverified: true,
    });
  });

  it("unverified context without an actor token stays allowed, stored as unverified, with no agent", async () => {
    const { status } = await resolveAsJwtGateway({ context: { agentId: "claimed-agent", toolName: "search" } });
    expect(status).toBe(200);
    const row = await lastAudit();
    expect(row.agentId).toBeNull();
    expect(row.context).toMatchObject({ agentId: "claimed-agent", contextUnverified: true });
    expect((row.context as Record<string, unknown>).actor).toBeUndefined();
  });

  it("refuses bad actor tokens with the RFC 8693 error and audits each refusal", async () => {
    const { publicKey: _p, privateKey: strangerKey } = await generateKeyPair("ES256");
    const jwks = (await (await fetch(spiffe.bundleUrl)).json()) as { keys: object[] };
    const now = Math.floor(Date.now() / 1000);
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const svidClaims = { sub: `spiffe://${TRUST_DOMAIN}${SCHEDULER}`, aud: FRONTDESK, iat: now, exp: now + 300 };
    const cases: { name: string; token: () => Promise<string>; reason: string; via?: "basic" }[] = [
      // The SPIFFE trust domain is trusted for the jwt gateway only.
      { name: "trust domain not trusted for this gateway", token: () => spiffe.signSvid(SCHEDULER), reason: "actor:untrusted_issuer", via: "basic" },
      // The organization's IdP is trusted for subject tokens, not as a workload issuer.
      { name: "issuer not trusted for actors", token: () => bed.idp.signJwt({ sub: "impostor", aud: FRONTDESK }), reason: "actor:untrusted_issuer" },
      { name: "expired", token: () => spiffe.signSvid(SCHEDULER, { expiresIn: -120 }), reason: "actor:expired" },
      { name: "wrong audience", token: () => spiffe.signSvid(SCHEDULER, { aud: "https://elsewhere.example" }), reason: "actor:wrong_audience" },
      { name: "alg none", token: async () => `${b64({ alg: "none", typ: "JWT" })}.${b64(svidClaims)}.`, reason: "actor:algorithm_not_allowed" },
      {
        name: "HMAC signed with the issuer's public key",
        token: () => new SignJWT(svidClaims).setProtectedHeader({ alg: "HS256", kid: spiffe.publicJwk.kid }).sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0]))),
        reason: "actor:algorithm_not_allowed",
      },
      { name: "signed by a key the trust domain does not publish", token: () => spiffe.signSvid(SCHEDULER, { key: strangerKey }), reason: "actor:bad_signature" },
      { name: "not a SPIFFE ID that can be matched by prefix", token: () => spiffe.signSvid("/ns/prod/../admin"), reason: "actor:untrusted_issuer" },
    ];
    for (const c of cases) {
      const token = await c.token();
      const res =
        c.via === "basic"
          ? await exchange(token, { actorTokenType: JWT_TOKEN_TYPE })
          : await (async () => {
              const r = await handlers.token(
                tokenRequest(FRONTDESK, [
                  ["grant_type", TOKEN_EXCHANGE_GRANT],
                  ["subject_token", await subjectToken()],
                  ["subject_token_type", ACCESS_TOKEN_TYPE],
                  ["actor_token", token],
                  ["actor_token_type", JWT_TOKEN_TYPE],
                  ["audience", "notes"],
                  ["client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"],
                  ["client_assertion", await signClientAssertion(bed.jwt, `${FRONTDESK}/oauth/token`)],
                ]),
              );
              return { status: r.status, json: JSON.parse(await r.text()) };
            })();
      expect(res.status, c.name).toBe(400);
      expect(res.json.error, c.name).toBe("invalid_request");
      expect(res.json.access_token, c.name).toBeUndefined();
      const row = await lastAudit();
      expect({ name: c.name, decision: row.decision, reason: row.reason }).toEqual({ name: c.name, decision: "deny", reason: c.reason });
      expect(JSON.stringify(row.context), c.name).not.toContain(token);
    }
  });

  it("REST resolve answers a bad actor token with a structured 400", async () => {
    const { status, json } = await resolveAsJwtGateway({ actor_token: await spiffe.signSvid(SCHEDULER, { expiresIn: -120 }), actor_token_type: JWT_TOKEN_TYPE });
    expect(status).toBe(400);
    expect(json.error).toMatchObject({ code: "invalid_actor", message: "actor_token has expired", requestId: expect.any(String) });
    const missingType = await resolveAsJwtGateway({ actor_token: await spiffe.signSvid(SCHEDULER) });
    expect(missingType.status).toBe(400);
    expect(missingType.json.error.code).toBe("invalid_body");
  });

  it("may_act in the subject token: a matching actor passes, another actor gets invalid_grant (audited)", async () => {
    const actor = await cc.issueToken("report-agent");
    const allowed = await exchange(actor, { subject: await subjectToken({ may_act: { sub: "report-agent", iss: cc.issuer } }) });
    expect(allowed.status).toBe(200);
    const refused = await exchange(actor, { subject: await subjectToken({ may_act: { sub: "scheduler-agent" } }) });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toBe("invalid_grant");
    expect((await lastAudit()).reason).toBe("actor:may_act_mismatch");
    // An empty may_act authorizes nobody.
    const empty = await exchange(actor, { subject: await subjectToken({ may_act: {} }) });
    expect(empty.json.error).toBe("invalid_grant");
  });

  it("actor_token_type: access_token and jwt only (ToolHive pkg/authserver/server/tokenexchange/handler.go validateFormParams)", async () => {
    const actor = await cc.issueToken("scheduler-agent");
    expect((await exchange(actor, { actorTokenType: JWT_TOKEN_TYPE })).status).toBe(200);
    const idToken = await exchange(actor, { actorTokenType: ID_TOKEN_TYPE });
    expect(idToken).toMatchObject({ status: 400, json: { error: "invalid_request" } });
    expect((await lastAudit()).reason).toBe("actor:unsupported_token_type");
  });

  it("replay: an actor token presented through another gateway is refused and audited; its first gateway keeps using it", async () => {
    const actor = await cc.issueToken("scheduler-agent");
    expect((await exchange(actor)).status).toBe(200);
    expect((await exchange(actor)).status).toBe(200); // a workload reuses its token through the same gateway
    // Another instance knows nothing in memory: forgetting this process's caches leaves only PostgreSQL.
    (await import("@/lib/agents/issuers")).forgetGatewayActorIssuers();
    const replayed = await resolveAsJwtGateway({ actor_token: actor, actor_token_type: ACCESS_TOKEN_TYPE });
    expect(replayed.status).toBe(400);
    expect(replayed.json.error).toMatchObject({ code: "invalid_actor", message: "actor_token was already presented through another gateway" });
    expect(replayed.json.credential).toBeUndefined();
    const row = await lastAudit();
    expect(row).toMatchObject({ decision: "deny", reason: "actor:replayed", gatewayId: bed.jwt.id });
    expect(JSON.stringify(row.context)).not.toContain(actor);
    // The same token again through the other gateway, now from this process's memory: still refused.
    expect((await resolveAsJwtGateway({ actor_token: actor, actor_token_type: ACCESS_TOKEN_TYPE })).status).toBe(400);
    expect((await exchange(actor)).status).toBe(200);
    // Kept until the token expires (plus the verification skew), in the store client assertions use.
    const db = await (await import("@/lib/db/client")).getDb();
    const { decodeJwt } = await import("jose");
    const { actorTokenKey } = await import("@/lib/agents/actor-replay");
    const { CLOCK_SKEW_SECONDS } = await import("@/lib/subject-tokens/verify");
    const claims = decodeJwt(actor);
    const nonce = await db.replayNonce.findUniqueOrThrow({ where: { key: actorTokenKey(cc.issuer, claims.jti, actor) } });
    expect(nonce.boundTo).toBe(bed.basic.id);
    expect(nonce.expiresAt.getTime()).toBe((claims.exp! + CLOCK_SKEW_SECONDS) * 1000);
  });

  it("replay: an issuer marked singleUse gets each actor token accepted once, through any gateway", async () => {
    const { updateGatewaySettings } = await import("@/lib/admin/gateways");
    const admin = { type: "admin" as const, id: "test" };
    await updateGatewaySettings(bed.jwt.id, { actorIssuers: [{ trustDomain: TRUST_DOMAIN, jwksUri: spiffe.bundleUrl, singleUse: true }] }, admin);
    try {
      const svid = await spiffe.signSvid(SCHEDULER);
      expect((await resolveAsJwtGateway({ actor_token: svid, actor_token_type: JWT_TOKEN_TYPE })).status).toBe(200);
      const again = await resolveAsJwtGateway({ actor_token: svid, actor_token_type: JWT_TOKEN_TYPE });
      expect(again.status).toBe(400);
      expect(again.json.error).toMatchObject({ code: "invalid_actor", message: "actor_token was already used; present a fresh one" });
      expect(await lastAudit()).toMatchObject({ decision: "deny", reason: "actor:replayed" });
      // A fresh token from the same workload is fine.
      expect((await resolveAsJwtGateway({ actor_token: await spiffe.signSvid(SCHEDULER), actor_token_type: JWT_TOKEN_TYPE })).status).toBe(200);
    } finally {
      await updateGatewaySettings(bed.jwt.id, { actorIssuers: [{ trustDomain: TRUST_DOMAIN, jwksUri: spiffe.bundleUrl }] }, admin);
    }
  });

  it("a disabled agent is refused on its next call, although this instance cached it; the disable ran in another process", async () => {
    const actor = await cc.issueToken("scheduler-agent");
    expect((await exchange(actor)).status).toBe(200);
    const agent = (await agentRow("scheduler-agent"))!;
    // Another Frontdesk process (the admin CLI) disables it in PostgreSQL; this process is not told.
    await cli(["agent", "disable", agent.id]);
    const refused = await exchange(actor);
    expect(refused).toMatchObject({ status: 400, json: { error: "invalid_grant", error_description: "This agent is disabled" } });
    const row = await lastAudit();
    expect(row).toMatchObject({ decision: "deny", reason: "agent:agent_disabled", agentId: agent.id });
    await cli(["agent", "enable", agent.id]);
    expect((await exchange(actor)).status).toBe(200);
  });
});

describe("policy with an agent dimension (end to end)", () => {
  it("a provider marked 'agents must be allowed explicitly' denies unlisted agents; an agent rule by SPIFFE prefix allows only its scopes", async () => {
    const db = await (await import("@/lib/db/client")).getDb();
    const { createPolicyRule, deletePolicyRule } = await import("@/lib/policy/rules");
    const { forgetProviders } = await import("@/lib/gateway-api/providers");
    await db.provider.update({ where: { id: bed.providerId }, data: { agentsExplicit: true } });
    forgetProviders();
    const svid = () => spiffe.signSvid(SCHEDULER);
    try {
      const denied = await resolveAsJwtGateway({ actor_token: await svid(), actor_token_type: JWT_TOKEN_TYPE });
      expect(denied.status, JSON.stringify(denied.json)).toBe(403);
      expect((await lastAudit()).reason).toBe("policy:no_agent_rule");
      // Without an agent the same call still works: the flag is about agents only.
      expect((await resolveAsJwtGateway({})).status).toBe(200);
      const rule = await createPolicyRule(
        { providerId: bed.providerId, agentSubjectPrefix: `spiffe://${TRUST_DOMAIN}/ns/prod`, scopes: ["notes:read"] },
        { type: "admin", id: "test" },
      );
      expect((await resolveAsJwtGateway({ actor_token: await svid(), actor_token_type: JWT_TOKEN_TYPE, scopes: ["notes:read"] })).status).toBe(200);
      const wider = await resolveAsJwtGateway({ actor_token: await svid(), actor_token_type: JWT_TOKEN_TYPE, scopes: ["notes:write"] });
      expect(wider.status).toBe(403);
      expect((await lastAudit()).reason).toBe("policy:scope_not_allowed_for_agent");
      // The prefix works on path boundaries: /ns/production is not under /ns/prod.
      const outside = await resolveAsJwtGateway({ actor_token: await spiffe.signSvid("/ns/production/sa/x"), actor_token_type: JWT_TOKEN_TYPE });
      expect(outside.status).toBe(403);
      await deletePolicyRule(rule.id, { type: "admin", id: "test" });
    } finally {
      await db.provider.update({ where: { id: bed.providerId }, data: { agentsExplicit: false } });
      forgetProviders();
    }
  });
});

const run = promisify(execFile);
async function cli(args: string[]) {
  await run(path.join("node_modules", ".bin", "tsx"), ["lib/cli/main.ts", ...args], {
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: "warn" },
    timeout: 120_000,
  });
}

