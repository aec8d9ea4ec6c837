// A slow or hanging provider (the real local oidc-provider upstream, its token endpoint made to
// stall) against the resolve path (lib/grants/refresh.ts): a resolve waits at most
// REFRESH_DEADLINE_MS, then gets the still-valid token or a 503 + Retry-After; a refresh the caller
// gave up on still stores the provider's answer; the provider's circuit breaker opens after
// UPSTREAM_BREAKER_FAILURES slow refreshes, fails fast without calling it while open, leaves other
// providers alone, and half-opens for one trial that closes it once the provider is back.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { approveGateways, basicAuth, connectNotes, resolveRequest, startGatewayTestbed, SUBJECT_AUDIENCE, type GatewayTestbed } from "../helpers/gateway-testbed";
import { startUpstream, type TestUpstream } from "../helpers/oidc-upstream";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();
const DEADLINE_MS = 1_000;
// Longer than the provider's HTTP timeout, so the hanging refreshes end while the breaker is still open.
const OPEN_MS = 15_000;
// The provider's own HTTP timeout (lib/providers/oauth-config.ts) is 10 s: what a resolve waited before.
const HTTP_TIMEOUT_MS = 10_000;
const FAULT_ENV = { REFRESH_DEADLINE_MS: String(DEADLINE_MS), UPSTREAM_BREAKER_FAILURES: "2", UPSTREAM_BREAKER_OPEN_MS: String(OPEN_MS) };

let bed: GatewayTestbed;
let other: TestUpstream;
let resolve: (req: Request) => Promise<Response>;

beforeAll(async () => {
  bed = await startGatewayTestbed({ extraEnv: FAULT_ENV });
  resolve = (await import("@/lib/gateway-api/resolve")).handleResolve;
  // A second provider, with its own upstream server, to show the breaker is per provider.
  other = await startUpstream({ redirectUris: [`${bed.frontdeskUrl}/api/oauth/callback/other-notes`] });
  const { createProvider } = await import("@/lib/providers/create");
  const { createPolicyRule } = await import("@/lib/policy/rules");
  const provider = await createProvider({
    slug: "other-notes",
    displayName: "Other Notes",
    kind: "oidc",
    issuer: other.issuer,
    clientId: other.clientId,
    clientSecret: other.clientSecret,
    defaultScopes: ["notes:read"],
    allowInsecureHttp: true,
  });
  await createPolicyRule({ providerId: provider.id, gatewayId: bed.basic.id }, { type: "admin", id: "t" });
  await createPolicyRule({ providerId: provider.id, gatewayId: null }, { type: "admin", id: "t" });
  const { saveGrant } = await import("@/lib/grants/save");
  const minted = await other.mintTokens({ accountId: "alice", scope: "notes:read" });
  const { grantId } = await saveGrant({
    userId: bed.users.alice,
    providerId: provider.id,
    scopes: ["notes:read"],
    credential: { kind: "oauth", accessToken: minted.accessToken, refreshToken: minted.refreshToken, expiresAt: new Date(Date.now() - 1000) },
  });
  await approveGateways(grantId, bed.users.alice, [bed.basic.id]);
}, 120_000);

afterAll(async () => {
  bed?.upstream.failTokenEndpoint("none");
  await other?.close();
  await bed?.close();
});

async function db() {
  return (await import("@/lib/db/client")).getDb();
}

async function resolveAs(user: "alice" | "bob", provider = "notes") {
  const subject_token = await bed.idp.signSubjectToken({ sub: bed.idp.users[user].sub, aud: SUBJECT_AUDIENCE });
  const started = Date.now();
  const res = await resolve(resolveRequest(bed.frontdeskUrl, { subject_token, provider }, { authorization: basicAuth(bed.basic.id, bed.basic.secret!) }));
  return { status: res.status, json: JSON.parse(await res.text()), retryAfter: res.headers.get("retry-after"), ms: Date.now() - started };
}

async function expire(grantId: string) {
  await (await db()).grant.update({ where: { id: grantId }, data: { expiresAt: new Date(Date.now() - 1000) } });
}

describe("upstream deadline and circuit breaker", () => {
  it("a slow provider: the resolve answers 503 + Retry-After at the deadline, and the refresh it gave up on is still stored", async () => {
    const g = await connectNotes(bed, { user: "bob", expiresAt: new Date(Date.now() - 1000) });
    // Slower than the deadline, well inside the HTTP timeout: the provider answers, late.
    bed.upstream.delayTokenEndpoint(DEADLINE_MS * 5);
    const refreshesBefore = bed.upstream.stats.refreshRequests;
    let late;
    try {
      late = await resolveAs("bob");
    } finally {
      bed.upstream.delayTokenEndpoint(0);
    }
    expect(late.status).toBe(503);
    expect(late.json.error.code).toBe("upstream_unavailable");
    expect(late.retryAfter).toMatch(/^\d+$/);
    expect(late.ms).toBeLessThan(DEADLINE_MS * 5);
    // The refresh carried on: the provider's (rotated) tokens land in the row. The event: the row changes.
    await expect.poll(async () => (await (await db()).grant.findUniqueOrThrow({ where: { id: g.grantId } })).lastRefreshedAt, { timeout: 60_000 }).not.toBeNull();
    expect(bed.upstream.stats.refreshRequests - refreshesBefore).toBe(1);
    const after = await resolveAs("bob");
    expect(after.status).toBe(200);
    expect(after.json.header.value).not.toBe(`Bearer ${g.accessToken}`);
    // A slow success closed the breaker again (one slow refresh is below the threshold anyway).
  }, 120_000);

  it("a hanging provider: 503 at the deadline instead of the HTTP timeout; the breaker opens, fails fast without calling, per provider, then half-opens and closes", async () => {
    const alice = await connectNotes(bed, { user: "alice", expiresAt: new Date(Date.now() - 1000) });
    const bob = await connectNotes(bed, { user: "bob", expiresAt: new Date(Date.now() - 1000) });
    const hangStarted = Date.now();
    bed.upstream.failTokenEndpoint("timeout");
    // Two expired grants at the hanging provider: each resolve waits for the deadline, not the timeout.
    const first = await Promise.all([resolveAs("alice"), resolveAs("bob")]);
    for (const r of first) {
      expect(r.status).toBe(503);
      expect(r.json.error.code).toBe("upstream_unavailable");
      expect(r.retryAfter).toMatch(/^\d+$/);
      expect(r.ms).toBeLessThan(HTTP_TIMEOUT_MS);
    }
    const { breakerFor } = await import("@/lib/grants/upstream-breaker");
    const breaker = breakerFor(bed.providerId, { failureThreshold: 2, openMs: OPEN_MS });
    expect(breaker.status).toBe("open");
    const openedAt = Date.now();
    // The two hanging refreshes end at the HTTP timeout (audited as failed), the grants kept.
    const failedRefreshes = () =>
      db().then((d) => d.auditEvent.count({ where: { action: "grant.refresh_failed", providerId: bed.providerId, at: { gte: new Date(openedAt - 60_000) } } }));
    await expect.poll(failedRefreshes, { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    expect(breaker.status).toBe("open");

    // Open: the next refresh fails fast and never reaches the provider.
    const requestsBefore = bed.upstream.stats.tokenRequests;
    const fast = await resolveAs("alice");
    expect(fast.status).toBe(503);
    expect(fast.retryAfter).toMatch(/^\d+$/);
    expect(fast.ms).toBeLessThan(HTTP_TIMEOUT_MS);
    // A still-valid token (inside the refresh skew) is served while the breaker is open.
    const valid = await connectNotes(bed, { user: "bob", expiresAt: new Date(Date.now() + 30_000) });
    const served = await resolveAs("bob");
    expect(served.status).toBe(200);
    expect(served.json.header.value).toBe(`Bearer ${valid.accessToken}`);
    expect(bed.upstream.stats.tokenRequests).toBe(requestsBefore);
    console.log(`[fault] hanging upstream: first resolves answered 503 in ${first.map((r) => r.ms).join(" / ")} ms (deadline ${DEADLINE_MS}, HTTP timeout ${HTTP_TIMEOUT_MS}); hanging refreshes ended ${Date.now() - hangStarted} ms in; breaker open: 503 in ${fast.ms} ms, valid token served in ${served.ms} ms, 0 upstream calls`);

    // Another provider's breaker is closed: its expired grant refreshes normally.
    const otherResult = await resolveAs("alice", "other-notes");
    expect(otherResult.status).toBe(200);

    // The provider comes back. After the open period one trial goes through and closes the breaker.
    bed.upstream.failTokenEndpoint("none");
    await expire(bob.grantId);
    // Until the open period ends (the breaker's own clock), every resolve is a fast 503; the
    // deadline only ends a hang.
    const whileOpen: number[] = [];
    await vi.waitFor(
      async () => {
        const r = await resolveAs("alice");
        if (r.status !== 200) whileOpen.push(r.status);
        expect(r.status, "the breaker let a trial through").toBe(200);
      },
      { timeout: OPEN_MS + 60_000, interval: 100 },
    );
    expect(whileOpen.filter((s) => s !== 503)).toEqual([]);
    const closedAfter = Date.now() - openedAt;
    expect(breaker.status).toBe("closed");
    expect(closedAfter).toBeGreaterThanOrEqual(OPEN_MS - 100);
    expect((await resolveAs("bob")).status).toBe(200);
    console.log(`[fault] breaker half-opened and closed ${closedAfter} ms after opening (open period ${OPEN_MS} ms)`);
    // Nothing was lost: both grants are active.
    const rows = await (await db()).grant.findMany({ where: { id: { in: [alice.grantId, bob.grantId] } } });
    expect(rows.map((r) => r.status)).toEqual(["active", "active"]);
  }, 180_000);
});
