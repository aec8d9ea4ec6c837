// The demo seed and the reference egress gateway against Frontdesk's real token-exchange and
// elicitation-status handlers (called in-process through the gateway's fetch), real PostgreSQL and
// the real demo IdP and Notes upstream: seeding is idempotent and rotates the gateway secret, the
// gateway injects the user's upstream token (cached per subject, dropped when the upstream
// rejects it), relays consent-needed as a ready-to-forward -32042 body, and refuses what it must.
import { generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { EgressGateway } from "@/demo/gateway/server";
import type { SeedDemoResult } from "@/demo/seed";
import { DEMO_FRONTDESK_URL as FRONTDESK, startDemoTestbed, type DemoTestbed } from "../helpers/demo-testbed";
import { frontdeskHandlersFetch } from "../helpers/frontdesk-fetch";
import { freePort } from "../helpers/postgres-cluster";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();

const AUDIENCE = "notes-mcp";

let bed: DemoTestbed;
/** The newest seed (each one rotates the gateway's secret). */
let seed: SeedDemoResult;
let gateway: EgressGateway | undefined;
let tokenCalls = 0;
let webhookGatewayPort: number;

const countingFetch = () => frontdeskHandlersFetch(FRONTDESK, { onTokenCall: () => tokenCalls++ });
const startGateway = async (secret: string) => bed.startGateway({ secret, fetch: await countingFetch() });
const userToken = (sub: string) => bed.idp.signSubjectToken({ sub, aud: AUDIENCE });
const getNotes = (gw: EgressGateway, token?: string) =>
  fetch(`${gw.url}/notes/notes`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

beforeAll(async () => {
  webhookGatewayPort = await freePort();
  // The webhook test's gateway receives webhooks over plain http on localhost.
  bed = await startDemoTestbed({ audience: AUDIENCE, users: ["alice"], insecureOrigins: [`http://localhost:${webhookGatewayPort}`] });
  seed = bed.seed;
});

afterAll(async () => {
  await gateway?.close();
  await bed?.close();
});

describe("demo seed", () => {
  it("is idempotent and rotates the gateway secret, so only the newest one works", async () => {
    const again = await bed.reseed();
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
    const minted = await bed.connectNotes("alice");
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
    expect(bed.upstream.stats.apiRequests.at(-1)).toMatchObject({ accountId: "alice", token: minted.accessToken });

    // Revoked in Frontdesk (and at Notes, RFC 7009): the cached token stops working upstream, so
    // the gateway drops it and asks Frontdesk once more on the same request: the very next call
    // gets a consent link in both MCP revisions, not an upstream 401.
    const { revokeGrant } = await import("@/lib/grants/revoke");
    await revokeGrant(minted.grantId, { type: "admin", id: "test" });
    const callsBeforeRevokedUse = tokenCalls;
    const next = await getNotes(gateway!, token);
    expect(next.status).toBe(403);
    const body = (await next.json()) as { error: { code: number }; inputRequired: { resultType: string; requestState: string } };
    expect(body.error.code).toBe(-32042);
    expect(body.inputRequired).toMatchObject({ resultType: "input_required", requestState: expect.any(String) });
    expect(tokenCalls - callsBeforeRevokedUse).toBe(1);
    expect(bed.upstream.stats.apiRequests.at(-1)?.token).toBe(minted.accessToken);
  });

  it("refuses requests without a subject token or with a forged one, without reaching the upstream", async () => {
    const apiCalls = bed.upstream.stats.apiRequests.length;
    const missing = await getNotes(gateway!);
    expect(missing.status).toBe(401);
    const { privateKey } = await generateKeyPair("RS256");
    const forged = await new SignJWT({ sub: "alice", aud: AUDIENCE })
      .setProtectedHeader({ alg: "RS256", kid: "not-the-idp" })
      .setIssuer(bed.idp.issuer)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);
    const res = await getNotes(gateway!, forged);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe("invalid_request");
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    expect((await fetch(`${gateway!.url}/nowhere/x`, { headers: { authorization: `Bearer ${await userToken("alice")}` } })).status).toBe(404);
    expect(bed.upstream.stats.apiRequests.length).toBe(apiCalls);
  });

  it("the launcher's re-seed revokes connections left from a previous run", async () => {
    const saved = await bed.connectNotes("alice", { approve: false, expiresAt: null });
    const result = await bed.reseed({ revokeStaleGrants: true });
    expect(result.revokedGrants).toBe(1);
    const { getDb } = await import("@/lib/db/client");
    const row = await (await getDb()).grant.findUnique({ where: { id: saved.grantId }, select: { status: true } });
    expect(row?.status).toBe("revoked");
  });
});

describe("signed webhooks", () => {
  it("verifies Frontdesk's webhook, ends a status wait early, and refuses forged, foreign and replayed ones", async () => {
    const { createGateway } = await import("@/lib/gateways/register");
    const { createPolicyRule } = await import("@/lib/policy/rules");
    const { startEgressGateway, WEBHOOK_PATH } = await import("@/demo/gateway/server");
    const { gateway: registered, secret } = await createGateway(
      { name: "webhook-gateway", authMethod: "client_secret_basic", webhookUrl: `http://localhost:${webhookGatewayPort}${WEBHOOK_PATH}` },
      { type: "admin", id: "test" },
    );
    await createPolicyRule({ providerId: seed.providerId, gatewayId: registered.id, scopes: ["notes:read"] }, { type: "admin", id: "test" });
    const gw = await startEgressGateway({
      port: webhookGatewayPort,
      frontdeskUrl: FRONTDESK,
      client: { tokenEndpoint: `${FRONTDESK}/oauth/token`, clientId: registered.id, clientSecret: secret! },
      routes: [{ name: "notes", target: bed.upstream.apiUrl, scopes: ["notes:read"] }],
      fetch: await countingFetch(),
    });
    try {
      const res = await getNotes(gw, await userToken("bob"));
      expect(res.status).toBe(403);
      const id = ((await res.json()) as { error: { data: { elicitations: { elicitationId: string }[] } } }).error.data.elicitations[0]!.elicitationId;
      const post = (body: string) => fetch(gw.webhookUrl, { method: "POST", headers: { "content-type": "application/jwt" }, body });
      const { signFrontdeskJwt } = await import("@/lib/signing/sign");
      const claims = { event: "elicitation.settled", elicitation_id: id, status: "completed", completed_at: Math.floor(Date.now() / 1000) };

      // Forged (another key) and foreign (signed by Frontdesk for another gateway): refused.
      const { privateKey } = await generateKeyPair("ES256");
      const forged = await new SignJWT(claims)
        .setProtectedHeader({ alg: "ES256", typ: "frontdesk-webhook+jwt" })
        .setIssuer(FRONTDESK)
        .setAudience(registered.id)
        .setJti("forged")
        .setExpirationTime("5m")
        .sign(privateKey);
      expect((await post(forged)).status).toBe(401);
      const foreign = await signFrontdeskJwt(claims, { audience: seed.gatewayId, expiresInSeconds: 300, typ: "frontdesk-webhook+jwt" });
      expect((await post(foreign)).status).toBe(401);
      expect(gw.stats).toEqual({ webhooksAccepted: 0, webhooksRejected: 2 });

      // A relay waiting on the (still pending) elicitation is answered by the genuine webhook.
      const started = Date.now();
      const waiting = fetch(`${gw.url}/elicitations/${id}?wait=20`).then((r) => r.json());
      // The relay is waiting once its poll of Frontdesk (this process) waits; it registered for the webhook just before.
      const { hasElicitationWaiters } = await import("@/lib/gateways/elicitation-watch");
      await vi.waitFor(() => expect(hasElicitationWaiters(id)).toBe(true), { timeout: 30_000, interval: 10 });
      const genuine = await signFrontdeskJwt(claims, { audience: registered.id, expiresInSeconds: 300, typ: "frontdesk-webhook+jwt" });
      expect((await post(genuine)).status).toBe(204);
      expect(await waiting).toEqual({ status: "completed" });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((await post(genuine)).status).toBe(409);
      expect(gw.stats).toEqual({ webhooksAccepted: 1, webhooksRejected: 3 });
    } finally {
      await gw.close();
    }
  });
});
