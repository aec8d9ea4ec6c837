// Refresh on the resolve path, in one process: single flight, rotation, invalid_grant ->
// needs_reauth -> elicitation, and an unreachable provider (valid token served, expired token a
// retryable error, grant kept). The cross-process storm is in gateway-instances.test.ts.
import * as client from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream } from "../helpers/oidc-upstream";
import { useTestDatabase } from "../helpers/test-db";
import { ACCESS_TOKEN_TYPE, approveGateways, basicAuth, connectNotes, type GatewayTestbed, resolveRequest, startGatewayTestbed, SUBJECT_AUDIENCE, TOKEN_EXCHANGE_GRANT, tokenRequest } from "../helpers/gateway-testbed";

await useTestDatabase();
// These cases fail the provider on purpose several times in a row; the circuit breaker that would
// then open is tested on its own (upstream-deadline.test.ts), not here.
process.env.UPSTREAM_BREAKER_FAILURES = "1000";

let bed: GatewayTestbed;
let resolve: (req: Request) => Promise<Response>;
let exchange: (req: Request) => Promise<Response>;

beforeAll(async () => {
  bed = await startGatewayTestbed();
  resolve = (await import("@/lib/gateway-api/resolve")).handleResolve;
  exchange = (await import("@/lib/gateway-api/token-exchange")).handleTokenRequest;
}, 60_000);
afterAll(async () => {
  await bed?.close();
});

async function db() {
  return (await import("@/lib/db/client")).getDb();
}

/** A grant whose access token Frontdesk considers expired (the upstream tokens are real). */
async function grantFor(user: "alice" | "bob", expiresAt: Date) {
  return connectNotes(bed, { user, expiresAt });
}

async function resolveAs(user: "alice" | "bob") {
  const subject_token = await bed.idp.signSubjectToken({ sub: bed.idp.users[user].sub, aud: SUBJECT_AUDIENCE });
  const res = await resolve(resolveRequest(bed.frontdeskUrl, { subject_token, provider: "notes" }, { authorization: basicAuth(bed.basic.id, bed.basic.secret!) }));
  return { status: res.status, json: JSON.parse(await res.text()), headers: res.headers };
}

describe("refresh", () => {
  it("50 concurrent resolves of an expired grant make one upstream refresh; rotation keeps a working refresh token", async () => {
    const old = await grantFor("alice", new Date(Date.now() - 1000));
    const before = bed.upstream.stats.refreshRequests;
    const results = await Promise.all(Array.from({ length: 50 }, () => resolveAs("alice")));
    expect(bed.upstream.stats.refreshRequests - before).toBe(1);
    expect(results.every((r) => r.status === 200)).toBe(true);
    const values = new Set(results.map((r) => r.json.header.value));
    expect(values.size).toBe(1);
    expect([...values][0]).not.toBe(`Bearer ${old.accessToken}`);
    const row = await (await db()).grant.findUniqueOrThrow({ where: { id: old.grantId } });
    expect(row.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 60_000);
    expect(row.lastRefreshedAt).not.toBeNull();
    // The new token works upstream.
    const token = [...values][0]!.slice("Bearer ".length);
    expect((await fetch(`${bed.upstream.apiUrl}/notes`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);

    // The upstream rotated the refresh token (the old one is dead): the stored one must be the new
    // one, which a second expiry proves by refreshing successfully.
    await (await db()).grant.update({ where: { id: old.grantId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const second = await resolveAs("alice");
    expect(second.status).toBe(200);
    expect(bed.upstream.stats.refreshRequests - before).toBe(2);
    const audits = await (await db()).auditEvent.findMany({ where: { action: "grant.refreshed" } });
    expect(audits.length).toBeGreaterThanOrEqual(2);
  });

  it("invalid_grant marks the grant needs_reauth and answers with an elicitation", async () => {
    const g = await grantFor("bob", new Date(Date.now() - 1000));
    // The user revoked Frontdesk's access at the provider.
    const config = await client.discovery(new URL(bed.upstream.issuer), bed.upstream.clientId, bed.upstream.clientSecret, undefined, {
      execute: [client.allowInsecureRequests],
    });
    await client.tokenRevocation(config, g.refreshToken);
    const res = await resolveAs("bob");
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe(-32042);
    const row = await (await db()).grant.findUniqueOrThrow({ where: { id: g.grantId } });
    expect(row.status).toBe("needs_reauth");
    const audit = await (await db()).auditEvent.findFirst({ where: { action: "grant.needs_reauth" } });
    expect(audit).toMatchObject({ reason: "invalid_grant", providerId: bed.providerId });
    // Still needs re-authorization on the next call, without another upstream attempt.
    const before = bed.upstream.stats.refreshRequests;
    expect((await resolveAs("bob")).status).toBe(403);
    expect(bed.upstream.stats.refreshRequests).toBe(before);
  });

  it("upstream down: a still-valid token is served, an expired one is a retryable error, the grant is kept", async () => {
    const g = await grantFor("alice", new Date(Date.now() + 20_000)); // inside the refresh skew
    bed.upstream.failTokenEndpoint("5xx");
    try {
      const valid = await resolveAs("alice");
      expect(valid.status).toBe(200);
      expect(valid.json.header.value).toBe(`Bearer ${g.accessToken}`);

      await (await db()).grant.update({ where: { id: g.grantId }, data: { expiresAt: new Date(Date.now() - 1000) } });
      const expired = await resolveAs("alice");
      expect(expired.status).toBe(503);
      expect(expired.json.error.code).toBe("upstream_unavailable");
      expect(expired.headers.get("retry-after")).toBeTruthy();
      const subject_token = await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
      const te = await exchange(
        tokenRequest(
          bed.frontdeskUrl,
          [
            ["grant_type", TOKEN_EXCHANGE_GRANT],
            ["subject_token", subject_token],
            ["subject_token_type", ACCESS_TOKEN_TYPE],
            ["audience", "notes"],
          ],
          { authorization: basicAuth(bed.basic.id, bed.basic.secret!) },
        ),
      );
      expect(te.status).toBe(503);
      expect(JSON.parse(await te.text()).error).toBe("temporarily_unavailable");
      const row = await (await db()).grant.findUniqueOrThrow({ where: { id: g.grantId }, omit: { refreshTokenCipher: false } });
      expect(row.status).toBe("active");
      expect(row.refreshTokenCipher).toBeTruthy();
      // A 5xx is no OAuth answer: the provider may have spent the refresh token before failing,
      // so the refresh stays marked as interrupted (lib/grants/refresh-recovery.ts).
      expect(row.refreshStartedAt).not.toBeNull();
    } finally {
      bed.upstream.failTokenEndpoint("none");
    }
    // Once the provider is back, the same grant refreshes.
    expect((await resolveAs("alice")).status).toBe(200);
  });

  it("an upstream that hangs is given up on within the provider timeout, and the grant is kept", async () => {
    const g = await grantFor("alice", new Date(Date.now() - 1000));
    bed.upstream.failTokenEndpoint("timeout");
    const started = Date.now();
    try {
      const res = await resolveAs("alice");
      expect(res.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      bed.upstream.failTokenEndpoint("none");
    }
    const row = await (await db()).grant.findUniqueOrThrow({ where: { id: g.grantId } });
    expect(row.status).toBe("active");
    // No answer: the provider may have rotated the refresh token, so the refresh counts as
    // interrupted (lib/grants/refresh-recovery.ts redoes it within a provider's reuse grace).
    expect(row.refreshStartedAt).not.toBeNull();
  }, 30_000);

  it("a provider that does not rotate refresh tokens: the stored refresh token survives every refresh", async () => {
    const staticUpstream = await startUpstream({ redirectUris: [`${bed.frontdeskUrl}/api/oauth/callback/static-notes`], rotateRefreshTokens: false });
    try {
      const { createProvider } = await import("@/lib/providers/create");
      const { createPolicyRule } = await import("@/lib/policy/rules");
      const { saveGrant } = await import("@/lib/grants/save");
      const { openRefreshToken, SEALED_GRANT_SELECT } = await import("@/lib/grants/sealed");
      const provider = await createProvider({
        slug: "static-notes",
        displayName: "Static Notes",
        kind: "oidc",
        issuer: staticUpstream.issuer,
        clientId: staticUpstream.clientId,
        clientSecret: staticUpstream.clientSecret,
        defaultScopes: ["notes:read"],
        allowInsecureHttp: true,
      });
      await createPolicyRule({ providerId: provider.id, gatewayId: bed.basic.id }, { type: "admin", id: "t" });
      await createPolicyRule({ providerId: provider.id, gatewayId: null }, { type: "admin", id: "t" });
      const minted = await staticUpstream.mintTokens({ accountId: "alice", scope: "notes:read" });
      const { grantId } = await saveGrant({
        userId: bed.users.alice,
        providerId: provider.id,
        scopes: ["notes:read"],
        credential: { kind: "oauth", accessToken: minted.accessToken, refreshToken: minted.refreshToken, expiresAt: new Date(Date.now() - 1000) },
      });
      await approveGateways(grantId, bed.users.alice, [bed.basic.id]);
      const subject_token = await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
      const call = async () =>
        (await resolve(resolveRequest(bed.frontdeskUrl, { subject_token, provider: "static-notes" }, { authorization: basicAuth(bed.basic.id, bed.basic.secret!) }))).status;
      for (let round = 0; round < 3; round++) {
        expect(await call()).toBe(200);
        const row = await (await db()).grant.findUniqueOrThrow({ where: { id: grantId }, select: SEALED_GRANT_SELECT });
        expect(await openRefreshToken(row)).toBe(minted.refreshToken);
        await (await db()).grant.update({ where: { id: grantId }, data: { expiresAt: new Date(Date.now() - 1000) } });
      }
      expect(staticUpstream.stats.refreshRequests).toBe(3);
    } finally {
      await staticUpstream.close();
    }
  });
});
