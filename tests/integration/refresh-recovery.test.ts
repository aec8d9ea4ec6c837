// Interrupted refreshes (lib/grants/refresh.ts, refresh-recovery.ts), in one process against the
// real Notes upstream (oidc-provider, rotating refresh tokens) with and without a reuse grace
// (demo/reuse-grace-adapter.ts). An interruption is made as a dead instance leaves it: the
// grant's refreshStartedAt mark committed, the provider having rotated the refresh token, the
// new tokens never stored. With a grace (on the provider and in Frontdesk's Provider row) the
// recovery pass refreshes again and the grant survives; without one the next refresh loses it as
// `refresh_interrupted` (needs_reauth, a consent link, no 5xx). The same across processes with a
// real kill -9 is in fault-instances.test.ts.
import * as client from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basicAuth, connectNotes, resolveRequest, startGatewayTestbed, SUBJECT_AUDIENCE, type GatewayTestbed } from "../helpers/gateway-testbed";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();

let bed: GatewayTestbed;
let upstreamConfig: client.Configuration;

beforeAll(async () => {
  bed = await startGatewayTestbed();
  upstreamConfig = await client.discovery(new URL(bed.upstream.issuer), bed.upstream.clientId, bed.upstream.clientSecret, undefined, {
    execute: [client.allowInsecureRequests],
  });
}, 60_000);
afterAll(async () => {
  await bed?.close();
});

async function db() {
  return (await import("@/lib/db/client")).getDb();
}

async function setGrace(seconds: number) {
  bed.upstream.setRefreshTokenReuseGrace(seconds);
  await (await db()).provider.update({ where: { id: bed.providerId }, data: { refreshReuseGraceSeconds: seconds } });
}

async function resolveAs(user: "alice" | "bob") {
  const subject_token = await bed.idp.signSubjectToken({ sub: bed.idp.users[user].sub, aud: SUBJECT_AUDIENCE });
  const { handleResolve } = await import("@/lib/gateway-api/resolve");
  const res = await handleResolve(resolveRequest(bed.frontdeskUrl, { subject_token, provider: "notes" }, { authorization: basicAuth(bed.basic.id, bed.basic.secret!) }));
  return { status: res.status, json: JSON.parse(await res.text()) };
}

/**
 * What an instance killed after the provider rotated leaves behind: the mark it committed before
 * asking, and a refresh token the provider has spent (the answer, with the new one, is gone).
 */
async function lastSeq(): Promise<bigint> {
  return (await (await db()).auditEvent.findFirst({ orderBy: { seq: "desc" }, select: { seq: true } }))?.seq ?? 0n;
}

async function interruptAfterRotation(grantId: string, refreshToken: string) {
  await (await db()).grant.update({ where: { id: grantId }, data: { refreshStartedAt: new Date() } });
  const lost = await client.refreshTokenGrant(upstreamConfig, refreshToken);
  expect(lost.refresh_token).toBeDefined();
  expect(lost.refresh_token).not.toBe(refreshToken);
}

/** The reasons of this grant's `action` events written after `since` (a grant id is reused by a reconnect). */
async function auditReasons(action: string, grantId: string, since: bigint) {
  const rows = await (await db()).auditEvent.findMany({ where: { action, seq: { gt: since } }, orderBy: { seq: "asc" } });
  return rows.filter((r) => (r.context as { grantId?: string } | null)?.grantId === grantId).map((r) => r.reason);
}

describe("interrupted refresh", () => {
  it("the mark is committed before the provider is asked and cleared with the new tokens", async () => {
    const g = await connectNotes(bed, { user: "alice", expiresAt: new Date(Date.now() - 1000) });
    bed.upstream.delayTokenEndpoint(1_500);
    const arrived = bed.upstream.stats.tokenRequests;
    const resolving = resolveAs("alice");
    try {
      await expect.poll(() => bed.upstream.stats.tokenRequests, { timeout: 60_000, interval: 10 }).toBeGreaterThan(arrived);
      // Read from another connection while the refresh's transaction is still open.
      const during = await (await db()).grant.findUniqueOrThrow({ where: { id: g.grantId } });
      expect(during.refreshStartedAt).not.toBeNull();
    } finally {
      bed.upstream.delayTokenEndpoint(0);
    }
    expect((await resolving).status).toBe(200);
    const after = await (await db()).grant.findUniqueOrThrow({ where: { id: g.grantId } });
    expect(after.refreshStartedAt).toBeNull();
    expect(after.lastRefreshedAt).not.toBeNull();
  });

  it("with a reuse grace: the recovery pass refreshes the interrupted grant again, which keeps working after the grace", async () => {
    const { recoverInterruptedRefreshes } = await import("@/lib/grants/refresh-recovery");
    await setGrace(60);
    try {
      const g = await connectNotes(bed, { user: "alice" });
      const sealedRefresh = async () => (await (await db()).grant.findUniqueOrThrow({ where: { id: g.grantId }, select: { refreshTokenCipher: true } })).refreshTokenCipher;
      const before = await sealedRefresh();
      const since = await lastSeq();
      await interruptAfterRotation(g.grantId, g.refreshToken);
      const refreshes = bed.upstream.stats.refreshRequests;

      expect(await recoverInterruptedRefreshes()).toEqual({ found: 1, recovered: 1 });
      expect(bed.upstream.stats.refreshRequests - refreshes).toBe(1);
      const row = await (await db()).grant.findUniqueOrThrow({ where: { id: g.grantId } });
      expect(row.status).toBe("active");
      expect(row.refreshStartedAt).toBeNull();
      expect(await sealedRefresh()).not.toBe(before);
      expect(await auditReasons("grant.refreshed", g.grantId, since)).toEqual(["refresh_interrupted"]);
      // Nothing left to recover.
      expect(await recoverInterruptedRefreshes()).toEqual({ found: 0, recovered: 0 });

      // The grace is over (the old refresh token is now refused as reused): the stored one is the new one.
      await setGrace(0);
      await (await db()).grant.update({ where: { id: g.grantId }, data: { expiresAt: new Date(Date.now() - 1000) } });
      const res = await resolveAs("alice");
      expect(res.status).toBe(200);
      expect(res.json.header.value).not.toBe(`Bearer ${g.accessToken}`);
    } finally {
      await setGrace(0);
    }
  });

  it("a pass leaves alone a grant another refresh holds (its lock), and grants past their provider's grace", async () => {
    const { recoverInterruptedRefreshes } = await import("@/lib/grants/refresh-recovery");
    const { lockGrant } = await import("@/lib/grants/lock");
    await setGrace(60);
    try {
      const g = await connectNotes(bed, { user: "bob" });
      await (await db()).grant.update({ where: { id: g.grantId }, data: { refreshStartedAt: new Date() } });
      const refreshes = bed.upstream.stats.refreshRequests;
      // As while another instance's refresh is at the provider: it holds the grant's lock.
      const pass = await (await db()).$transaction(async (tx) => {
        await lockGrant(tx, g.grantId);
        return recoverInterruptedRefreshes();
      });
      expect(pass).toEqual({ found: 1, recovered: 0 });
      expect(bed.upstream.stats.refreshRequests).toBe(refreshes);

      // Interrupted longer ago than the grace: the provider would treat the token as reused.
      await (await db()).grant.update({ where: { id: g.grantId }, data: { refreshStartedAt: new Date(Date.now() - 61_000) } });
      expect(await recoverInterruptedRefreshes()).toEqual({ found: 0, recovered: 0 });
      expect(bed.upstream.stats.refreshRequests).toBe(refreshes);
    } finally {
      await setGrace(0);
    }
  });

  it("without a grace: nothing is recovered; the next refresh loses the grant as refresh_interrupted (needs_reauth, consent link, no 5xx)", async () => {
    const { recoverInterruptedRefreshes } = await import("@/lib/grants/refresh-recovery");
    const g = await connectNotes(bed, { user: "bob", expiresAt: new Date(Date.now() - 1000) });
    const since = await lastSeq();
    await interruptAfterRotation(g.grantId, g.refreshToken);
    expect(await recoverInterruptedRefreshes()).toEqual({ found: 0, recovered: 0 });

    const res = await resolveAs("bob");
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe(-32042);
    const row = await (await db()).grant.findUniqueOrThrow({ where: { id: g.grantId } });
    expect(row.status).toBe("needs_reauth");
    expect(row.refreshStartedAt).toBeNull();
    expect(await auditReasons("grant.needs_reauth", g.grantId, since)).toEqual(["refresh_interrupted"]);
  });
});
