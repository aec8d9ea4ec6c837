// Faults across two Frontdesk instances on one PostgreSQL behind a real HAProxy
// (tests/helpers/fault-harness.ts).
//
// Brute force across instances: wrong secrets sent alternately to both instances are counted in
// one shared limit (PostgreSQL): 401 up to RATE_LIMIT_AUTH_FAILURES_PER_SOURCE (30) in total, then
// 429 with Retry-After on either instance, while the real gateway gets 200 on both meanwhile.
//
// kill -9 mid-refresh: an instance dies while its refresh is at the provider, (a) before the
// provider processed it (nothing is lost: the other instance refreshes with the same refresh
// token), (b) after the provider rotated the refresh token but before the answer arrived (the new
// tokens never reach Frontdesk; the provider, which revokes a grant whose spent refresh token is
// presented again, ends the connection: needs_reauth and a consent link, never a 5xx).
//
// A rolling restart of two Frontdesk instances behind a real HAProxy, under load, with a
// key-encryption-key rotation carried through it in the documented order (README "Key rotation"):
// add the new key last (restart each), promote it first (restart each), `keys rotate`, remove the
// old one (restart each). The grant's access token lives 65 s, so it is refreshed about every 5 s
// throughout, re-sealed under whichever key the refreshing instance has active: the case that
// failed before (an instance meeting a row wrapped under a key it does not know). Wanted: zero
// failed requests (no 5xx, no reset, no unexpected status) across all six restarts.
// Needs a production build; made here when missing (own dist dir, as gateway-instances does).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startFaultHarness, startLoad, type FaultHarness, type LoadRequest } from "../helpers/fault-harness";
import { distDir, ensureBuild } from "../helpers/frontdesk-server";
import { ACCESS_TOKEN_TYPE, basicAuth, connectNotes, gatewayEnv, startGatewayTestbed, SUBJECT_AUDIENCE, TOKEN_EXCHANGE_GRANT, type GatewayTestbed } from "../helpers/gateway-testbed";
import { useTestDatabase } from "../helpers/test-db";

const KEY_V1 = `v1:${randomBytes(32).toString("base64")}`;
const KEY_V2 = `v2:${randomBytes(32).toString("base64")}`;
process.env.FRONTDESK_KEYS = KEY_V1;
const databaseUrl = await useTestDatabase();
const DIST_DIR = distDir();
const TOKEN_TTL_S = 65;

let bed: GatewayTestbed;
let harness: FaultHarness;
let baseEnv: Record<string, string>;

beforeAll(async () => {
  ensureBuild(DIST_DIR);
  bed = await startGatewayTestbed({ accessTokenTtl: TOKEN_TTL_S });
  await connectNotes(bed, { user: "alice", expiresIn: TOKEN_TTL_S });
  const { FRONTDESK_URL: _ownUrl, ...shared } = gatewayEnv(bed.idp, bed.frontdeskUrl);
  baseEnv = { ...shared, DATABASE_URL: databaseUrl, FRONTDESK_KEYS: KEY_V1, AUTH_SECRET: randomBytes(32).toString("base64url"), LOG_LEVEL: "error" };
  harness = await startFaultHarness({ env: baseEnv, distDir: DIST_DIR });
}, 600_000);

afterAll(async () => {
  await harness?.stop();
  await bed?.close();
  await (await import("@/lib/audit/writer-pool")).closeAuditPool();
});

async function keysCli(args: string[], keys: string): Promise<string> {
  const { stdout } = await promisify(execFile)(path.join("node_modules", ".bin", "tsx"), ["lib/cli/main.ts", ...args], {
    env: { ...process.env, ...baseEnv, FRONTDESK_KEYS: keys },
  });
  return stdout;
}

async function resolveOn(port: number, user: "alice" | "bob") {
  const subject_token = await bed.idp.signSubjectToken({ sub: bed.idp.users[user].sub, aud: SUBJECT_AUDIENCE });
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/resolve`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: basicAuth(bed.basic.id, bed.basic.secret!) },
    body: JSON.stringify({ subject_token, provider: "notes" }),
  });
  return { status: res.status, json: JSON.parse(await res.text()) };
}

/** Resolves once `check` holds, polled (the upstream's counters are the event); the deadline only ends a hang. */
async function until(check: () => boolean): Promise<void> {
  await vi.waitFor(() => expect(check()).toBe(true), { timeout: 120_000, interval: 20 });
}

describe("brute force across two instances", () => {
  it("failed client authentication adds up across both instances: 429 for the attacker on either, 200 for the real gateway on both", async () => {
    const te = new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: "x", subject_token_type: ACCESS_TOKEN_TYPE, audience: "notes" }).toString();
    const wrong = basicAuth(bed.post.id, "fdgs_" + "x".repeat(43));
    const ports = [harness.instance(0).port, harness.instance(1).port];
    // The limits count in fixed one-minute windows: start at least 20 s before one ends.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 20_000) await new Promise((r) => setTimeout(r, left + 50));
    const attacker: { status: number; retryAfter: string | null; error: string }[] = [];
    const real: number[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`http://127.0.0.1:${ports[i % 2]}/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", authorization: wrong },
        body: te,
      });
      attacker.push({ status: res.status, retryAfter: res.headers.get("retry-after"), error: ((await res.json()) as { error: string }).error });
      if (i % 5 === 4) for (const port of ports) real.push((await resolveOn(port, "alice")).status);
    }
    console.log(`[fault] brute force over 2 instances: attacker ${JSON.stringify(attacker.reduce<Record<number, number>>((a, r) => ({ ...a, [r.status]: (a[r.status] ?? 0) + 1 }), {}))}, real gateway ${JSON.stringify(real.reduce<Record<number, number>>((a, s) => ({ ...a, [s]: (a[s] ?? 0) + 1 }), {}))}`);
    expect(attacker.slice(0, 30).map((r) => r.status)).toEqual(Array(30).fill(401));
    for (const r of attacker.slice(30)) {
      expect(r.status).toBe(429);
      expect(r.error).toBe("temporarily_unavailable");
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    expect(real).toEqual(Array(16).fill(200));
  }, 300_000);
});

describe("kill -9 mid-refresh", () => {
  it("killed before the provider processed the refresh: the other instance refreshes, nothing lost; killed after it rotated: needs_reauth and a consent link, no 5xx", async () => {
    const { getDb } = await import("@/lib/db/client");
    const db = await getDb();
    const victim = harness.instance(0);
    const survivor = harness.instance(1);

    // (a) The request waits at the provider, unprocessed, when the instance dies.
    const a = await connectNotes(bed, { user: "bob", expiresAt: new Date(Date.now() - 1000) });
    bed.upstream.delayTokenEndpoint(5_000);
    const arrived = bed.upstream.stats.tokenRequests;
    const refreshedBefore = bed.upstream.stats.refreshRequests;
    const doomedA = resolveOn(victim.port, "bob").catch((e: unknown) => e);
    await until(() => bed.upstream.stats.tokenRequests > arrived);
    await victim.kill("SIGKILL");
    expect(await doomedA).toBeInstanceOf(Error);
    bed.upstream.delayTokenEndpoint(0);
    const afterA = await resolveOn(survivor.port, "bob");
    expect(afterA.status).toBe(200);
    expect(afterA.json.header.value).not.toBe(`Bearer ${a.accessToken}`);
    expect(bed.upstream.stats.refreshRequests - refreshedBefore).toBe(1);
    await harness.restart(0);

    // (b) The provider has rotated the refresh token; its answer is still on the way when the instance dies.
    await db.grant.update({ where: { id: a.grantId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    bed.upstream.delayTokenResponse(60_000);
    const rotatedBefore = bed.upstream.stats.refreshRequests;
    const doomedB = resolveOn(harness.instance(0).port, "bob").catch((e: unknown) => e);
    await until(() => bed.upstream.stats.refreshRequests > rotatedBefore);
    await harness.instance(0).kill("SIGKILL");
    expect(await doomedB).toBeInstanceOf(Error);
    bed.upstream.delayTokenResponse(0);
    const afterB = await resolveOn(survivor.port, "bob");
    expect(afterB.status).toBe(403);
    expect(afterB.json.error.code).toBe(-32042);
    const row = await db.grant.findUniqueOrThrow({ where: { id: a.grantId } });
    expect(row.status).toBe("needs_reauth");
    console.log(
      `[fault] kill -9 mid-refresh: before the provider processed it: 0 grants lost (the other instance answered 200 with a refreshed token); ` +
        `after the provider rotated: 1 of 1 lost (provider revoked the grant on reuse; answered ${afterB.status} with a consent link, no 5xx)`,
    );
    await harness.restart(0);
  }, 600_000);
});

describe("rolling restart behind HAProxy", () => {
  it("six restarts carrying a key rotation (add last, promote, rotate, remove) lose no request", async () => {
    const auth = { authorization: basicAuth(bed.basic.id, bed.basic.secret!) };
    let subjectToken = await bed.idp.signSubjectToken({ sub: bed.idp.users.alice.sub, aud: SUBJECT_AUDIENCE, expiresIn: 3600 });
    const requests = (): LoadRequest[] => [
      {
        kind: "resolve",
        method: "POST",
        path: "/api/v1/resolve",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ subject_token: subjectToken, provider: "notes" }),
        expect: [200],
      },
      {
        kind: "token",
        method: "POST",
        path: "/oauth/token",
        headers: { ...auth, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE, resource: bed.upstream.apiUrl }).toString(),
        expect: [200],
      },
      // Served by Next.js (not server.ts's direct routes): its requests must drain as well.
      { kind: "discovery", method: "GET", path: "/.well-known/oauth-authorization-server", expect: [200] },
    ];
    const load = startLoad(harness.proxy.url, 6, requests);
    const { getDb } = await import("@/lib/db/client");
    const db = await getDb();
    const grantKey = async () => (await db.grant.findFirstOrThrow({ where: { userId: bed.users.alice }, select: { keyVersion: true, lastRefreshedAt: true } }));

    const phases: string[] = [];
    const roll = async (label: string, keys: string) => {
      for (let i = 0; i < harness.names.length; i++) {
        const before = (await harness.proxy.stats()).get(harness.names[i]!)!.stot;
        const t = await harness.restart(i, { FRONTDESK_KEYS: keys });
        // The restarted instance serves real traffic through HAProxy before the next one goes.
        for (;;) {
          if ((await harness.proxy.stats()).get(harness.names[i]!)!.stot >= before + 30) break;
          await load.waitForSuccesses(10);
        }
        phases.push(`${label} ${harness.names[i]}: drain+exit ${t.stopMs} ms, start ${t.startMs} ms, back in rotation ${t.backInRotationMs} ms`);
      }
      subjectToken = await bed.idp.signSubjectToken({ sub: bed.idp.users.alice.sub, aud: SUBJECT_AUDIENCE, expiresIn: 3600 });
    };

    await load.waitForSuccesses(50);
    const refreshesBefore = bed.upstream.stats.refreshRequests;
    const v1 = KEY_V1;
    const v2 = KEY_V2;
    await roll("add v2 last", `${v1},${v2}`);
    await roll("promote v2", `${v2},${v1}`);
    // A refresh by a v2-active instance has sealed the grant under v2 by now (every ~5 s), while
    // the other instance was still v1-active: it could read it because it already had v2.
    await load.waitForSuccesses(50);
    const rotated = await keysCli(["keys", "rotate"], `${v2},${v1}`);
    expect(rotated).toContain("failed 0");
    await roll("remove v1", v2);
    await load.waitForSuccesses(50);
    const summary = await load.stop();

    const stats = (await harness.proxy.stats()).get("BACKEND")!;
    const refreshes = bed.upstream.stats.refreshRequests - refreshesBefore;
    console.log(
      `[fault] rolling restart with key rotation: ${summary.total} requests, ${summary.failed} failed, ${JSON.stringify(summary.byKind)}; ` +
        `latency p50 ${summary.p50Ms} ms, p99 ${summary.p99Ms} ms, max ${summary.maxMs} ms; upstream refreshes ${refreshes}; ` +
        `HAProxy retries ${stats.wretr}, redispatches ${stats.wredis}, connection errors ${stats.econ}, response errors ${stats.eresp}, 5xx ${stats.hrsp5xx}\n  ` +
        phases.join("\n  "),
    );
    expect(load.failures()).toEqual([]);
    expect(summary.failed).toBe(0);
    expect(stats.hrsp5xx).toBe(0);
    // Refreshes happened throughout, so grants were re-sealed under both keys during the roll.
    expect(refreshes).toBeGreaterThanOrEqual(6);
    const grant = await grantKey();
    expect(grant.keyVersion).toBe("v2");
    expect(grant.lastRefreshedAt!.getTime()).toBeGreaterThan(Date.now() - 5 * 60_000);
  }, 1_500_000);
});
