// Revocation pushed to gateways (issue 12, interface H): an admin revokes alice's grant, the
// outbox worker (running in this process, woken by the revoking commit) delivers an RFC 8417
// Security Event Token to the reference gateway's webhook URL, the gateway verifies it against
// Frontdesk's JWKS and drops alice's cached token, and its next call gets a consent link without
// first trying the revoked token upstream. Forged, foreign and replayed SETs are refused and
// purge nothing. Who is told is read from the consent records (findGatewaysHandedGrant).
// Real PostgreSQL, the real IdP and upstream, the reference gateway on a real port; Frontdesk's
// own handlers answer the gateway's calls to Frontdesk in-process.
import { generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EgressGateway } from "@/demo/gateway/server";
import { connectNotes, SUBJECT_AUDIENCE, startGatewayTestbed, type GatewayTestbed } from "../helpers/gateway-testbed";
import { freePort } from "../helpers/postgres-cluster";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();

let bed: GatewayTestbed;
let gateway: EgressGateway;
let gatewayId: string;
let tokenCalls = 0;
/** Every SET Frontdesk POSTed (recorded on the way out; the real request still goes to the gateway). */
const sentSets: { url: string; body: string; at: number }[] = [];
/** Resolvers waiting for the gateway's next "security event ... dropped" log line. */
const purgeWaiters: ((line: string) => void)[] = [];

async function frontdeskFetch(): Promise<typeof fetch> {
  const { handleTokenRequest } = await import("@/lib/gateway-api/token-exchange");
  const { handleElicitationStatus } = await import("@/lib/gateway-api/elicitation-status");
  const { handleJwks } = await import("@/lib/gateway-api/discovery");
  return async (input, init) => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    if (url.origin !== bed.frontdeskUrl) return fetch(req);
    if (url.pathname === "/oauth/token") {
      tokenCalls++;
      return handleTokenRequest(req);
    }
    if (url.pathname.startsWith("/api/v1/elicitations/")) return handleElicitationStatus(req);
    if (url.pathname === "/.well-known/jwks.json") return handleJwks(req);
    return new Response("not found", { status: 404 });
  };
}

beforeAll(async () => {
  const port = await freePort();
  const webhookOrigin = `http://localhost:${port}`;
  bed = await startGatewayTestbed({ insecureIssuers: [webhookOrigin], extraEnv: { OUTBOX_POLL_MS: "60000", LOG_LEVEL: "silent" } });
  const { createGateway } = await import("@/lib/gateways/register");
  const { createPolicyRule } = await import("@/lib/policy/rules");
  const { WEBHOOK_PATH, startEgressGateway } = await import("@/demo/gateway/server");
  const registered = await createGateway(
    { name: "reference gateway", authMethod: "client_secret_basic", webhookUrl: `${webhookOrigin}${WEBHOOK_PATH}` },
    { type: "admin", id: "test" },
  );
  gatewayId = registered.gateway.id;
  await createPolicyRule({ providerId: bed.providerId, gatewayId, scopes: ["notes:read"] }, { type: "admin", id: "test" });
  gateway = await startEgressGateway({
    port,
    frontdeskUrl: bed.frontdeskUrl,
    client: { tokenEndpoint: `${bed.frontdeskUrl}/oauth/token`, clientId: gatewayId, clientSecret: registered.secret! },
    routes: [{ name: "notes", target: bed.upstream.apiUrl, scopes: ["notes:read"] }],
    fetch: await frontdeskFetch(),
    log: (line) => {
      if (line.startsWith("security event")) for (const wake of purgeWaiters.splice(0)) wake(line);
    },
  });
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const type = new Headers(init?.headers).get("content-type");
    if (type === "application/secevent+jwt" && typeof init?.body === "string") sentSets.push({ url: String(input), body: init.body, at: Date.now() });
    return realFetch(input, init);
  }) as typeof fetch;
  const { startOutboxWorker } = await import("@/lib/outbox/worker");
  startOutboxWorker();
}, 60_000);

afterAll(async () => {
  const { stopOutboxWorker } = await import("@/lib/outbox/worker");
  stopOutboxWorker();
  await gateway?.close();
  await bed?.close();
});

const userToken = (sub: string) => bed.idp.signSubjectToken({ sub, aud: SUBJECT_AUDIENCE });
const getNotes = async (token: string) => {
  const res = await fetch(`${gateway.url}/notes/notes`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const nextPurge = () => new Promise<string>((resolve) => purgeWaiters.push(resolve));

async function postSet(body: string): Promise<{ status: number; body: string }> {
  const res = await fetch(gateway.webhookUrl, { method: "POST", headers: { "content-type": "application/secevent+jwt" }, body });
  return { status: res.status, body: await res.text() };
}

describe("revocation pushed to the reference gateway", () => {
  let aliceSet: string;

  it("admin revokes alice's grant: the signed SET arrives within 1 s, the cache is dropped, the next call gets a consent link", async () => {
    const { grantId } = await connectNotes(bed, { user: "alice", approve: [{ id: gatewayId, name: "reference gateway", secret: null }] });
    const token = await userToken("alice");
    expect((await getNotes(token)).status).toBe(200);
    const calls = tokenCalls;
    expect((await getNotes(token)).status).toBe(200);
    expect(tokenCalls).toBe(calls); // served from the gateway's cache
    const apiCalls = bed.upstream.stats.apiRequests.length;

    const { revokeGrant } = await import("@/lib/grants/revoke");
    // Warm-up, as any running deployment is: Frontdesk has its signing key loaded and the gateway
    // has fetched Frontdesk's JWKS once (here: a first revocation, of bob's grant).
    const warmUp = await connectNotes(bed, { user: "bob", approve: [{ id: gatewayId, name: "reference gateway", secret: null }] });
    const warm = nextPurge();
    const warmStart = Date.now();
    await revokeGrant(warmUp.grantId, { type: "admin", id: "adm_test" });
    await warm;
    console.log(`revocation (cold: first signature, first JWKS fetch): ${Date.now() - warmStart} ms`);

    const purged = nextPurge();
    const revokedAt = Date.now();
    await revokeGrant(grantId, { type: "admin", id: "adm_test" });
    const line = await purged;
    const acceptedAt = Date.now();
    // "Revoked" = the moment the revoking transaction marks the grant (its revokedAt, this
    // process's clock); the call itself also spent time locking and reading the grant first.
    const { getDb } = await import("@/lib/db/client");
    const revoked = (await (await getDb()).grant.findUniqueOrThrow({ where: { id: grantId }, select: { revokedAt: true } })).revokedAt!.getTime();
    const sentAt = sentSets.at(-1)?.at ?? NaN;
    console.log(
      `revocation: revokeGrant called -> grant marked revoked ${revoked - revokedAt} ms -> SET sent ${sentAt - revoked} ms -> accepted by the reference gateway, cache dropped: ${acceptedAt - revoked} ms after the revocation (${acceptedAt - revokedAt} ms after the call)`,
    );
    expect(acceptedAt - revoked).toBeLessThan(1_000);
    expect(line).toMatch(/credential change, 1 cached token\(s\) dropped/);
    expect(gateway.securityEvents).toMatchObject({ accepted: 2, rejected: 0, replayed: 0, purged: 1 });

    // What was sent: one RFC 8417 SET for this gateway, as application/secevent+jwt.
    const { decodeJwt, decodeProtectedHeader } = await import("jose");
    const forGateway = sentSets.filter((s) => s.url === gateway.webhookUrl && (decodeJwt(s.body).frontdesk_grant as { id: string }).id === grantId);
    expect(forGateway).toHaveLength(1);
    aliceSet = forGateway[0]!.body;
    expect(decodeProtectedHeader(aliceSet).typ).toBe("secevent+jwt");
    const claims = decodeJwt(aliceSet);
    expect(claims).toMatchObject({
      iss: bed.frontdeskUrl,
      aud: gatewayId,
      sub_id: { format: "iss_sub", iss: bed.idp.issuer, sub: "alice" },
      events: { "https://schemas.openid.net/secevent/caep/event-type/credential-change": { change_type: "revoke", initiating_entity: "admin" } },
      frontdesk_grant: { id: grantId, provider: "notes" },
    });
    expect(claims.exp).toBeUndefined();
    expect(claims.sub).toBeUndefined();

    // The next tool call: a consent link, and the revoked token was never tried upstream.
    const next = await getNotes(token);
    expect(next.status).toBe(403);
    const error = next.body.error as { code: number; data: { elicitations: { url: string }[] } };
    expect(error.code).toBe(-32042);
    expect(error.data.elicitations[0]!.url).toMatch(new RegExp(`^${bed.frontdeskUrl}/connect/eli_`));
    expect(bed.upstream.stats.apiRequests.length).toBe(apiCalls);
    expect(tokenCalls).toBe(calls + 1);
  });

  it("refuses forged, foreign, stale and replayed SETs, and they purge nothing", async () => {
    // bob's token is cached at the gateway; a refused SET naming bob must leave it there.
    await connectNotes(bed, { user: "bob", approve: [{ id: gatewayId, name: "reference gateway", secret: null }] });
    const token = await userToken("bob");
    expect((await getNotes(token)).status).toBe(200);
    const calls = tokenCalls;
    const before = { ...gateway.securityEvents };
    const { decodeJwt } = await import("jose");
    const { signFrontdeskJwt } = await import("@/lib/signing/sign");
    const { getSigningKey } = await import("@/lib/signing/key");
    const genuine = decodeJwt(aliceSet);
    const bobClaims = { ...genuine, sub_id: { format: "iss_sub", iss: bed.idp.issuer, sub: "bob" } };
    const { iss: _iss, aud: _aud, iat: _iat, jti: _jti, ...body } = bobClaims;
    const key = await getSigningKey();
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: Record<string, unknown>, header: { alg: string; kid?: string; typ?: string }, privateKey: CryptoKey) =>
      new SignJWT(claims).setProtectedHeader({ typ: "secevent+jwt", ...header }).sign(privateKey);
    const base = { ...body, iss: bed.frontdeskUrl, aud: gatewayId, iat: now };

    const { privateKey: otherKey } = await generateKeyPair("ES256");
    const cases: [string, string, string][] = [
      ["signed by another key", await sign({ ...base, jti: "forged-1" }, { alg: "ES256", kid: key.kid }, otherKey as CryptoKey), "invalid_key"],
      ["another issuer", await sign({ ...base, iss: "https://evil.test", jti: "forged-2" }, { alg: key.alg, kid: key.kid }, key.privateKey), "invalid_issuer"],
      ["for another gateway", await signFrontdeskJwt(body, { audience: bed.basic.id, typ: "secevent+jwt", jti: "forged-3" }), "invalid_audience"],
      ["not a SET (typ JWT)", await sign({ ...base, jti: "forged-4" }, { alg: key.alg, kid: key.kid, typ: "JWT" }, key.privateKey), "invalid_request"],
      ["stale iat", await sign({ ...base, iat: now - 3600, jti: "forged-5" }, { alg: key.alg, kid: key.kid }, key.privateKey), "invalid_request"],
      ["no event", await sign({ ...base, events: {}, jti: "forged-6" }, { alg: key.alg, kid: key.kid }, key.privateKey), "invalid_request"],
      ["unsigned (alg none)", `${Buffer.from(JSON.stringify({ alg: "none", typ: "secevent+jwt" })).toString("base64url")}.${Buffer.from(JSON.stringify({ ...base, jti: "forged-7" })).toString("base64url")}.`, "invalid_request"],
    ];
    for (const [name, set, err] of cases) {
      const answer = await postSet(set);
      expect({ name, status: answer.status, err: (JSON.parse(answer.body) as { err: string }).err }).toEqual({ name, status: 400, err });
    }
    // The genuine SET delivered for alice, byte for byte, again: already seen (same jti), no effect.
    expect((await postSet(aliceSet)).status).toBe(409);
    // A fresh signature over a seen jti is a replay too.
    expect((await postSet(await signFrontdeskJwt(body, { audience: gatewayId, typ: "secevent+jwt", jti: String(genuine.jti) }))).status).toBe(409);

    expect(gateway.securityEvents).toEqual({ ...before, rejected: before.rejected + cases.length, replayed: before.replayed + 2 });
    // bob's cached token is still there: served without asking Frontdesk.
    expect((await getNotes(token)).status).toBe(200);
    expect(tokenCalls).toBe(calls);
  });
});

describe("who is told: the gateways the consent records say may hold the grant's tokens", () => {
  it("a requester withdrawn from a connection: its gateway alone is told to drop the grant's tokens", async () => {
    const { getDb } = await import("@/lib/db/client");
    const { createGateway } = await import("@/lib/gateways/register");
    const { withdrawApproval } = await import("@/lib/consent/approvals");
    const { createProvider } = await import("@/lib/providers/create");
    const { saveGrant } = await import("@/lib/grants/save");
    const { approveGateways } = await import("../helpers/gateway-testbed");
    const db = await getDb();
    const admin = { type: "admin" as const, id: "test" };
    const hooked = async (name: string) =>
      (await createGateway({ name, authMethod: "client_secret_basic", webhookUrl: `https://${name}.example.test/frontdesk/webhook` }, admin)).gateway.id;
    const [leaving, staying] = [await hooked("withdrawn-requester"), await hooked("staying-requester")];
    const provider = await createProvider({ slug: "wiki-withdrawal", displayName: "Wiki", kind: "api_key", apiKeyHeader: "X-Api-Key" });
    const { grantId } = await saveGrant({ userId: bed.users.alice, providerId: provider.id, scopes: [], credential: { kind: "api_key", apiKey: "w".repeat(32) } });
    await approveGateways(grantId, bed.users.alice, [leaving, staying]);
    const row = await db.requesterApproval.findFirstOrThrow({ where: { grantId, gatewayId: leaving } });
    await withdrawApproval(row.id, { type: "user", id: bed.users.alice });
    const events = await db.outboxEvent.findMany({ where: { kind: "gateway.credential_change", target: { in: [leaving, staying] } } });
    expect(events.map((e) => e.target)).toEqual([leaving]);
    expect(events[0]!.payload).toMatchObject({ grantId, changeType: "revoke", initiatingEntity: "user", reason: "requester_withdrawn" });
    expect((await db.grant.findUniqueOrThrow({ where: { id: grantId } })).status).toBe("active");
  });


  it("approved (also withdrawn) requesters, pinned and used delegations, the last user; not a gateway that was never approved", async () => {
    const { getDb } = await import("@/lib/db/client");
    const { createGateway } = await import("@/lib/gateways/register");
    const { appendAudit, flushAudit } = await import("@/lib/audit/append");
    const { withdrawApproval } = await import("@/lib/consent/approvals");
    const { findGatewaysHandedGrant } = await import("@/lib/outbox/credential-change");
    const db = await getDb();
    const admin = { type: "admin" as const, id: "test" };
    const gw = async (name: string) => (await createGateway({ name, authMethod: "client_secret_basic" }, admin)).gateway.id;
    const [approved, withdrawn, pinned, viaUnpinned, lastUser, never, unusedUnpinned] = (await Promise.all(
      ["approved", "withdrawn", "pinned", "via-unpinned", "last-user", "never-approved", "unused"].map((n) => gw(`recipients ${n}`)),
    )) as [string, string, string, string, string, string, string];

    const { createProvider } = await import("@/lib/providers/create");
    const provider = await createProvider({ slug: "wiki-recipients", displayName: "Wiki", kind: "api_key", apiKeyHeader: "X-Api-Key" });
    const { saveGrant } = await import("@/lib/grants/save");
    const { grantId } = await saveGrant({ userId: bed.users.alice, providerId: provider.id, scopes: [], credential: { kind: "api_key", apiKey: "k".repeat(32) } });
    const { approveGateways } = await import("../helpers/gateway-testbed");
    await approveGateways(grantId, bed.users.alice, [approved, withdrawn]);
    const withdrawnRow = await db.requesterApproval.findFirstOrThrow({ where: { grantId, gatewayId: withdrawn } });
    await withdrawApproval(withdrawnRow.id, { type: "user", id: bed.users.alice });

    const agent = await db.agent.create({ data: { id: "agt_recipients", issuer: "https://workloads.test", subject: "nightly", displayName: "Nightly" } });
    const delegation = (id: string, gatewayId: string | null, used: boolean) =>
      db.delegation.create({
        data: { id, grantId, userId: bed.users.alice, providerId: provider.id, agentId: agent.id, scopes: [], gatewayId, expiresAt: new Date(Date.now() + 86_400_000), firstUsedAt: used ? new Date() : null },
      });
    await delegation("dlg_pinned", pinned, false);
    await delegation("dlg_unpinned", null, true);
    // Delegation-mode calls through a gateway nobody pinned: the allowed one counts, a denied one does not.
    for (const [gatewayId, decision] of [[viaUnpinned, "allow"], [unusedUnpinned, "deny"]] as const) {
      await appendAudit({
        actorType: "gateway",
        actorId: gatewayId,
        userId: bed.users.alice,
        gatewayId,
        agentId: agent.id,
        providerId: provider.id,
        action: "token_exchange",
        decision,
        reason: null,
        context: { grantId, mode: "delegation", delegationId: "dlg_unpinned" },
      });
    }
    await flushAudit();
    await db.grant.update({ where: { id: grantId }, data: { lastUsedGatewayId: lastUser } });

    const recipients = await db.$transaction((tx) => findGatewaysHandedGrant(tx, { id: grantId, userId: bed.users.alice }));
    expect([...recipients].sort()).toEqual([approved, withdrawn, pinned, viaUnpinned, lastUser].sort());
    expect(recipients).not.toContain(never);
    expect(recipients).not.toContain(unusedUnpinned);
  });
});
