// The demo seed and the reference egress gateway against Frontdesk's real token-exchange and
// elicitation-status handlers (called in-process through the gateway's fetch), real PostgreSQL and
// the real demo IdP and Notes upstream: seeding is idempotent and rotates the gateway secret, the
// gateway injects the user's upstream token (cached per subject, dropped when the upstream
// rejects it), relays consent-needed as a ready-to-forward -32042 body, and refuses what it must.
import { generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EgressGateway } from "@/demo/gateway/server";
import type { SeedDemoResult } from "@/demo/seed";
import { startIdp, type TestIdp } from "../helpers/oidc-idp";
import { startUpstream, type TestUpstream } from "../helpers/oidc-upstream";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();

const FRONTDESK = "http://frontdesk.test";
const AUDIENCE = "notes-mcp";

let idp: TestIdp;
let upstream: TestUpstream;
let seed: SeedDemoResult;
let gateway: EgressGateway | undefined;
let tokenCalls = 0;
let aliceUserId: string;

async function seedOnce(opts: { revokeStaleGrants?: boolean } = {}) {
  const { seedDemo } = await import("@/demo/seed");
  return seedDemo({
    notes: { issuer: upstream.issuer, apiUrl: upstream.apiUrl, clientId: upstream.clientId, clientSecret: upstream.clientSecret },
    ...opts,
  });
}

/** Frontdesk's own route handlers for its origin; the real network for everything else. */
async function frontdeskFetch(): Promise<typeof fetch> {
  const { handleTokenRequest } = await import("@/lib/gateway-api/token-exchange");
  const { handleElicitationStatus } = await import("@/lib/gateway-api/elicitation-status");
  return async (input, init) => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    if (url.origin !== FRONTDESK) return fetch(req);
    if (url.pathname === "/oauth/token") {
      tokenCalls++;
      return handleTokenRequest(req);
    }
    if (url.pathname.startsWith("/api/v1/elicitations/")) return handleElicitationStatus(req);
    return new Response("not found", { status: 404 });
  };
}

async function startGateway(secret: string): Promise<EgressGateway> {
  const { startEgressGateway } = await import("@/demo/gateway/server");
  return startEgressGateway({
    frontdeskUrl: FRONTDESK,
    client: { tokenEndpoint: `${FRONTDESK}/oauth/token`, clientId: seed.gatewayId, clientSecret: secret },
    routes: [{ name: "notes", target: upstream.apiUrl, scopes: ["notes:read"] }],
    fetch: await frontdeskFetch(),
  });
}

const userToken = (sub: string) => idp.signSubjectToken({ sub, aud: AUDIENCE });
const getNotes = (gw: EgressGateway, token?: string) =>
  fetch(`${gw.url}/notes/notes`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

beforeAll(async () => {
  idp = await startIdp({ redirectUris: [`${FRONTDESK}/api/auth/callback/idp`] });
  upstream = await startUpstream({ redirectUris: [`${FRONTDESK}/api/oauth/callback/notes`] });
  Object.assign(process.env, {
    FRONTDESK_URL: FRONTDESK,
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: idp.clientId,
    OIDC_CLIENT_SECRET: idp.clientSecret,
    SUBJECT_TOKEN_AUDIENCES: AUDIENCE,
    FRONTDESK_INSECURE_HTTP_ISSUERS: [idp.issuer, upstream.issuer].join(","),
    LOG_LEVEL: "warn",
  });
  seed = await seedOnce();
  const { getDb } = await import("@/lib/db/client");
  const db = await getDb();
  aliceUserId = (await db.user.create({ data: { id: "usr_alice", issuer: idp.issuer, subject: "alice", email: "alice@example.test" } })).id;
});

afterAll(async () => {
  await gateway?.close();
  await idp?.close();
  await upstream?.close();
});

describe("demo seed", () => {
  it("is idempotent and rotates the gateway secret, so only the newest one works", async () => {
    const again = await seedOnce();
    expect(again.providerId).toBe(seed.providerId);
    expect(again.gatewayId).toBe(seed.gatewayId);
    expect(again.gatewaySecret).not.toBe(seed.gatewaySecret);
    const { listPolicyRules } = await import("@/lib/policy/rules");
    const rules = await listPolicyRules({ providerId: seed.providerId });
    expect(rules.map((r) => r.gatewayId).sort()).toEqual([null, seed.gatewayId].sort());

    // The old secret no longer authenticates: the gateway reports the broker unavailable (502).
    const stale = await startGateway(seed.gatewaySecret);
    try {
      const res = await getNotes(stale, await userToken("alice"));
      expect(res.status).toBe(502);
      expect(await res.json()).toEqual({ error: "credential_unavailable", error_description: "the credential broker could not be reached" });
    } finally {
      await stale.close();
    }
    seed = again;
    gateway = await startGateway(seed.gatewaySecret);
  });
});

describe("reference egress gateway", () => {
  it("answers consent-needed with a -32042 body and relays the elicitation status", async () => {
    const res = await getNotes(gateway!, await userToken("alice"));
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { code: number; message: string; data: { elicitations: { mode: string; elicitationId: string; url: string }[] } } };
    expect(body.error.code).toBe(-32042);
    const [elicitation] = body.error.data.elicitations;
    expect(elicitation?.mode).toBe("url");
    expect(elicitation?.url).toBe(`${FRONTDESK}/connect/${elicitation?.elicitationId}`);
    const status = await fetch(`${gateway!.url}/elicitations/${elicitation!.elicitationId}?wait=0`);
    expect(status.status).toBe(200);
    expect(await status.json()).toEqual({ status: "pending" });
    expect((await fetch(`${gateway!.url}/elicitations/eli_${"x".repeat(43)}?wait=0`)).status).toBe(404);
  });

  it("injects the user's own upstream token, caches it per subject, and drops it once the upstream rejects it", async () => {
    const minted = await upstream.mintTokens({ accountId: "alice", scope: "notes:read" });
    const { saveGrant } = await import("@/lib/grants/save");
    const saved = await saveGrant({
      userId: aliceUserId,
      providerId: seed.providerId,
      scopes: ["notes:read"],
      credential: { kind: "oauth", accessToken: minted.accessToken, refreshToken: minted.refreshToken, expiresAt: new Date(Date.now() + 3600_000) },
    });
    const token = await userToken("alice");
    const before = tokenCalls;
    for (let i = 0; i < 2; i++) {
      const res = await getNotes(gateway!, token);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ owner: "alice", notes: ["Follow the white rabbit", "Tea party at six"] });
      expect(text).not.toContain(minted.accessToken);
    }
    expect(tokenCalls - before).toBe(1);
    expect(upstream.stats.apiRequests.at(-1)).toEqual({ accountId: "alice", token: minted.accessToken });

    // Revoked in Frontdesk (and at Notes, RFC 7009): the cached token stops working upstream, the
    // gateway forgets it, and the next request asks Frontdesk again, which now wants consent.
    const { revokeGrant } = await import("@/lib/grants/revoke");
    await revokeGrant(saved.grantId, { type: "admin", id: "test" });
    expect((await getNotes(gateway!, token)).status).toBe(401);
    const again = await getNotes(gateway!, token);
    expect(again.status).toBe(403);
    expect(((await again.json()) as { error: { code: number } }).error.code).toBe(-32042);
  });

  it("refuses requests without a subject token or with a forged one, without reaching the upstream", async () => {
    const apiCalls = upstream.stats.apiRequests.length;
    const missing = await getNotes(gateway!);
    expect(missing.status).toBe(401);
    const { privateKey } = await generateKeyPair("RS256");
    const forged = await new SignJWT({ sub: "alice", aud: AUDIENCE })
      .setProtectedHeader({ alg: "RS256", kid: "not-the-idp" })
      .setIssuer(idp.issuer)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);
    const res = await getNotes(gateway!, forged);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe("invalid_request");
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    expect((await fetch(`${gateway!.url}/nowhere/x`, { headers: { authorization: `Bearer ${await userToken("alice")}` } })).status).toBe(404);
    expect(upstream.stats.apiRequests.length).toBe(apiCalls);
  });

  it("the launcher's re-seed revokes connections left from a previous run", async () => {
    const minted = await upstream.mintTokens({ accountId: "alice", scope: "notes:read" });
    const { saveGrant } = await import("@/lib/grants/save");
    const saved = await saveGrant({
      userId: aliceUserId,
      providerId: seed.providerId,
      scopes: ["notes:read"],
      credential: { kind: "oauth", accessToken: minted.accessToken, refreshToken: minted.refreshToken },
    });
    const result = await seedOnce({ revokeStaleGrants: true });
    expect(result.revokedGrants).toBe(1);
    const { getDb } = await import("@/lib/db/client");
    const row = await (await getDb()).grant.findUnique({ where: { id: saved.grantId }, select: { status: true } });
    expect(row?.status).toBe("revoked");
  });
});
