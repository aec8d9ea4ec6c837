// Faults across two Frontdesk instances on one PostgreSQL behind a real HAProxy
// (tests/helpers/fault-harness.ts). The PostgreSQL cluster is this file's own: it is stopped and
// started here (database outage), so it cannot be the shared test cluster.
//
// Database outage under load through HAProxy: a restart (pg_ctl stop -m fast, start) and a 10 s
// stop (-m immediate). Wanted (design.md invariant 15): no 500 and no reset, every failure a
// structured 503 with Retry-After (`temporarily_unavailable` at the token endpoint), readiness on
// both instances reporting the database, pages a branded 503, and each instance serving again
// within 1 s of PostgreSQL serving connections again.
//
// Brute force across instances: wrong secrets sent alternately to both instances are counted in
// one shared limit (PostgreSQL): 401 up to RATE_LIMIT_AUTH_FAILURES_PER_SOURCE (30) in total, then
// 429 with Retry-After on either instance, while the real gateway gets 200 on both meanwhile.
//
// kill -9 mid-refresh: an instance dies while its refresh is at the provider, (a) before the
// provider processed it (nothing is lost: the other instance refreshes with the same refresh
// token), (b) after the provider rotated the refresh token but before the answer arrived (the new
// tokens never reach Frontdesk; the provider, which revokes a grant whose spent refresh token is
// presented again, ends the connection: needs_reauth as `refresh_interrupted` and a consent link,
// never a 5xx), (c) the same with a reuse grace at the provider (and on its Provider row): the
// surviving instance's recovery pass (lib/grants/refresh-recovery.ts) redoes the refresh within
// the grace, without any request for that grant, and the grant survives.
//
// A rolling restart of two Frontdesk instances behind a real HAProxy, under load, with a
// key-encryption-key rotation carried through it in the documented order (README "Key rotation"):
// add the new key last (restart each), promote it first (restart each), `keys rotate`, remove the
// old one (restart each). The grant's access token lives 65 s, so it is refreshed about every 5 s
// throughout, re-sealed under whichever key the refreshing instance has active: the case that
// failed before (an instance meeting a row wrapped under a key it does not know). Wanted: zero
// failed requests (no 5xx, no reset, no unexpected status) across all six restarts.
// Needs the suite's production build (`npm test` makes it); made here when missing.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createTemplate, createTestDatabase } from "../helpers/databases";
import { startFaultHarness, startLoad, type FaultHarness, type LoadOutcome, type LoadRequest } from "../helpers/fault-harness";
import { distDir, ensureBuild } from "../helpers/frontdesk-server";
import { ACCESS_TOKEN_TYPE, basicAuth, connectNotes, gatewayEnv, startGatewayTestbed, SUBJECT_AUDIENCE, TOKEN_EXCHANGE_GRANT, type GatewayTestbed } from "../helpers/gateway-testbed";
import { startPostgresCluster } from "../helpers/postgres-cluster";

const KEY_V1 = `v1:${randomBytes(32).toString("base64")}`;
const KEY_V2 = `v2:${randomBytes(32).toString("base64")}`;
process.env.FRONTDESK_KEYS = KEY_V1;
const cluster = await startPostgresCluster();
await createTemplate(cluster.adminUrl);
const databaseUrl = await createTestDatabase(cluster.adminUrl);
process.env.DATABASE_URL = databaseUrl;
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
  baseEnv = {
    ...shared,
    DATABASE_URL: databaseUrl,
    FRONTDESK_KEYS: KEY_V1,
    AUTH_SECRET: randomBytes(32).toString("base64url"),
    LOG_LEVEL: "error",
    // The recovery pass of (c) below runs this often (production: 5 s).
    REFRESH_RECOVERY_POLL_MS: "300",
  };
  harness = await startFaultHarness({ env: baseEnv, distDir: DIST_DIR });
}, 600_000);

afterAll(async () => {
  await harness?.stop();
  await bed?.close();
  await (await import("@/lib/db/client")).closeDb();
  await (await import("@/lib/audit/writer-pool")).closeAuditPool();
  cluster.stop();
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
    // The limits count in fixed one-minute windows of the instances' own clocks (other processes,
    // so not fakeable from here): start at least 20 s before one ends. A wait for a known instant.
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
  it("killed before the provider processed the refresh: the other instance refreshes, nothing lost; killed after it rotated: needs_reauth and a consent link, no 5xx; with a reuse grace: the other instance redoes it, the grant survives", async () => {
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
    const lostAs = await db.auditEvent.findFirstOrThrow({ where: { action: "grant.needs_reauth", providerId: bed.providerId }, orderBy: { seq: "desc" } });
    expect(lostAs.reason).toBe("refresh_interrupted");
    await harness.restart(0);

    // (c) As (b), with a reuse grace at the provider and on its Provider row. Bob connects again.
    const c = await connectNotes(bed, { user: "bob", expiresAt: new Date(Date.now() - 1000) });
    bed.upstream.setRefreshTokenReuseGrace(120);
    await db.provider.update({ where: { id: bed.providerId }, data: { refreshReuseGraceSeconds: 120 } });
    try {
      bed.upstream.delayTokenResponse(60_000);
      const rotatedBeforeC = bed.upstream.stats.refreshRequests;
      // (a)'s refresh by the survivor was one too (its mark was left by the kill): count only what follows.
      const auditedBeforeC = (await db.auditEvent.findFirstOrThrow({ orderBy: { seq: "desc" }, select: { seq: true } })).seq;
      const doomedC = resolveOn(harness.instance(0).port, "bob").catch((e: unknown) => e);
      await until(() => bed.upstream.stats.refreshRequests > rotatedBeforeC);
      await harness.instance(0).kill("SIGKILL");
      const killedAt = Date.now();
      expect(await doomedC).toBeInstanceOf(Error);
      bed.upstream.delayTokenResponse(0);
      // No request for bob's grant from here on: the survivor's recovery pass finds the mark
      // (the event: its audit record, written after the new tokens are committed).
      await vi.waitFor(
        async () => {
          const redone = await db.auditEvent.findMany({ where: { action: "grant.refreshed", reason: "refresh_interrupted", userId: bed.users.bob, seq: { gt: auditedBeforeC } } });
          expect(redone.map((e) => (e.context as { grantId: string }).grantId)).toEqual([c.grantId]);
        },
        { timeout: 120_000, interval: 50 },
      );
      const recoveredMs = Date.now() - killedAt;
      const recovered = await db.grant.findUniqueOrThrow({ where: { id: c.grantId } });
      expect(recovered.status).toBe("active");
      expect(recovered.refreshStartedAt).toBeNull();
      expect(bed.upstream.stats.refreshRequests - rotatedBeforeC).toBe(2);
      // The grace is over at the provider (the spent token would now revoke the grant): the stored
      // refresh token is the one the recovery got, and it refreshes.
      bed.upstream.setRefreshTokenReuseGrace(0);
      await db.grant.update({ where: { id: c.grantId }, data: { expiresAt: new Date(Date.now() - 1000) } });
      const afterC = await resolveOn(survivor.port, "bob");
      expect(afterC.status).toBe(200);
      console.log(
        `[fault] kill -9 mid-refresh: before the provider processed it: 0 grants lost (the other instance answered 200 with a refreshed token); ` +
          `after the provider rotated, no reuse grace: 1 of 1 lost (provider revoked the grant on reuse; answered ${afterB.status} with a consent link, audited refresh_interrupted, no 5xx); ` +
          `after the provider rotated, 120 s reuse grace: 0 of 1 lost (the other instance's recovery pass redid the refresh ${recoveredMs} ms after the kill; resolve afterwards ${afterC.status})`,
      );
    } finally {
      bed.upstream.delayTokenResponse(0);
      bed.upstream.setRefreshTokenReuseGrace(0);
      await db.provider.update({ where: { id: bed.providerId }, data: { refreshReuseGraceSeconds: 0 } });
    }
    await harness.restart(0);
  }, 900_000);
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

    // Each phase ends with a refresh (one comes about every 5 s) made by instances that all have
    // that phase's keys, so the grant is re-sealed under each key set in turn. Waited for, not
    // counted: how many refreshes fit in the roll depends on how fast the instances restart.
    const refreshed = async () => {
      const mark = bed.upstream.stats.refreshRequests;
      await until(() => bed.upstream.stats.refreshRequests > mark);
    };
    await load.waitForSuccesses(50);
    const v1 = KEY_V1;
    const v2 = KEY_V2;
    await roll("add v2 last", `${v1},${v2}`);
    await refreshed();
    await roll("promote v2", `${v2},${v1}`);
    // Both instances are v2-active now: the next refresh seals the grant under v2.
    await refreshed();
    const rotated = await keysCli(["keys", "rotate"], `${v2},${v1}`);
    expect(rotated).toContain("failed 0");
    await roll("remove v1", v2);
    await refreshed();
    await load.waitForSuccesses(50);
    const summary = await load.stop();

    const stats = (await harness.proxy.stats()).get("BACKEND")!;
    console.log(
      `[fault] rolling restart with key rotation: ${summary.total} requests, ${summary.failed} failed, ${JSON.stringify(summary.byKind)}; ` +
        `latency p50 ${summary.p50Ms} ms, p99 ${summary.p99Ms} ms, max ${summary.maxMs} ms; upstream refreshes ${bed.upstream.stats.refreshRequests}; ` +
        `HAProxy retries ${stats.wretr}, redispatches ${stats.wredis}, connection errors ${stats.econ}, response errors ${stats.eresp}, 5xx ${stats.hrsp5xx}\n  ` +
        phases.join("\n  "),
    );
    expect(load.failures()).toEqual([]);
    expect(summary.failed).toBe(0);
    expect(stats.hrsp5xx).toBe(0);
    const grant = await grantKey();
    expect(grant.keyVersion).toBe("v2");
    expect(grant.lastRefreshedAt!.getTime()).toBeGreaterThan(Date.now() - 5 * 60_000);
  }, 1_500_000);
});

describe("database outage across two instances behind HAProxy", () => {
  const auth = () => ({ authorization: basicAuth(bed.basic.id, bed.basic.secret!) });
  let subjectToken: string;
  const requests = (): LoadRequest[] => [
    {
      kind: "resolve",
      method: "POST",
      path: "/api/v1/resolve",
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify({ subject_token: subjectToken, provider: "notes" }),
      expect: [200],
    },
    {
      kind: "token",
      method: "POST",
      path: "/oauth/token",
      headers: { ...auth(), "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE, resource: bed.upstream.apiUrl }).toString(),
      expect: [200],
    },
  ];

  beforeAll(async () => {
    subjectToken = await bed.idp.signSubjectToken({ sub: bed.idp.users.alice.sub, aud: SUBJECT_AUDIENCE, expiresIn: 3600 });
    // Alice's token lives 65 s, so refreshes happen throughout; one cut off by the outage between
    // the provider's answer and the COMMIT is redone by the recovery pass within this grace
    // (without it, that grant would be lost: the case (b) above).
    bed.upstream.setRefreshTokenReuseGrace(120);
    const { getDb } = await import("@/lib/db/client");
    await (await getDb()).provider.update({ where: { id: bed.providerId }, data: { refreshReuseGraceSeconds: 120 } });
  });

  /**
   * Resumes the cluster and returns when PostgreSQL itself serves a new connection again (a plain
   * pg client, no Frontdesk code): on a loaded machine its first backends after a restart take
   * hundreds of milliseconds on their own, and that is not Frontdesk's recovery time. `resumedAt`:
   * when the start began (PostgreSQL was down until then); `back`: when it served this test again.
   */
  async function resumeDatabase(): Promise<{ resumedAt: number; back: number; postgresMs: number }> {
    const started = Date.now();
    await cluster.resume();
    for (;;) {
      const client = new pg.Client({ connectionString: databaseUrl });
      client.on("error", () => undefined);
      try {
        await client.connect();
        await client.query("SELECT 1");
        return { resumedAt: started, back: Date.now(), postgresMs: Date.now() - started };
      } catch {
        // still starting
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  }

  /** A gateway's retry on one instance (not through HAProxy): resolves again at once on every 503; ms from `since` to the first 200. */
  async function firstSuccessOn(port: number, since: number): Promise<number> {
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/resolve`, {
        method: "POST",
        headers: { ...auth(), "content-type": "application/json" },
        body: JSON.stringify({ subject_token: subjectToken, provider: "notes" }),
      });
      await res.arrayBuffer();
      if (res.status === 200) return Date.now() - since;
      expect(res.status).toBe(503);
    }
  }

  /** Every failure is a structured, retryable 503: no 500, no reset, no other status. */
  function expectOnlyRetryable503s(failures: LoadOutcome[]) {
    for (const f of failures) {
      expect({ kind: f.kind, status: f.status, error: f.error }).toEqual({ kind: f.kind, status: 503, error: undefined });
      expect(f.retryAfter).toMatch(/^\d+$/);
      const body = JSON.parse(f.body!) as { error: string | { code: string } };
      expect(typeof body.error === "string" ? body.error : body.error.code).toBe(f.kind === "token" ? "temporarily_unavailable" : "service_unavailable");
    }
  }

  async function report(label: string, load: ReturnType<typeof startLoad>, before: { econ: number; eresp: number }, postgresMs: number, perInstanceMs: number[], loadMs: number) {
    const summary = await load.stop();
    const after = (await harness.proxy.stats()).get("BACKEND")!;
    const statuses: Record<string, number> = {};
    for (const o of load.outcomes) statuses[o.status ?? `error:${o.error}`] = (statuses[o.status ?? `error:${o.error}`] ?? 0) + 1;
    console.log(
      `[fault] database ${label} over 2 instances behind HAProxy: ${summary.total} requests ${JSON.stringify(statuses)} (${JSON.stringify(summary.byKind)}); ` +
        `resets ${load.outcomes.filter((o) => o.status === null).length}, HAProxy connection errors ${after.econ - before.econ}, response errors ${after.eresp - before.eresp}; ` +
        `PostgreSQL served again ${postgresMs} ms after pg_ctl start; first success after that: fd0 ${perInstanceMs[0]} ms, fd1 ${perInstanceMs[1]} ms (direct), ` +
        `through HAProxy (requests already in flight) ${loadMs} ms`,
    );
    return summary;
  }

  /** Waits until the load has a success after `since` (an event, not a sleep). */
  async function loadSuccessAfter(load: ReturnType<typeof startLoad>, since: number): Promise<number> {
    await vi.waitFor(() => expect(load.outcomes.some((o) => o.at >= since && !o.failed)).toBe(true), { timeout: 120_000, interval: 10 });
    return load.outcomes.find((o) => o.at >= since && !o.failed)!.at - since;
  }

  const ports = () => [harness.instance(0).port, harness.instance(1).port];

  it("a restart (pg_ctl stop -m fast, start) under load: no 500, no reset, only 503 + Retry-After; each instance serves within 1 s of PostgreSQL", async () => {
    const before = (await harness.proxy.stats()).get("BACKEND")!;
    const load = startLoad(harness.proxy.url, 6, requests);
    await load.waitForSuccesses(20);
    await cluster.pause("fast");
    const { back, postgresMs } = await resumeDatabase();
    const perInstanceMs = await Promise.all(ports().map((port) => firstSuccessOn(port, back)));
    const loadMs = await loadSuccessAfter(load, back);
    await report("restart", load, before, postgresMs, perInstanceMs, loadMs);
    expectOnlyRetryable503s(load.failures());
    expect(load.failures().length).toBeGreaterThan(0);
    for (const ms of perInstanceMs) expect(ms).toBeLessThanOrEqual(1_000);
    await Promise.all(harness.names.map((n) => harness.proxy.waitForStatus(n, "UP")));
  }, 600_000);

  it("a 10 s stop under load: only 503 + Retry-After, readiness on both instances and HAProxy's checks report it, pages are a branded 503; each instance serves within 1 s", async () => {
    const before = (await harness.proxy.stats()).get("BACKEND")!;
    const load = startLoad(harness.proxy.url, 6, requests);
    await load.waitForSuccesses(20);
    await cluster.pause("immediate");
    const stoppedAt = Date.now();
    // Both instances say so, and HAProxy's health checks take both out (it then fails open to them, haproxy.ts).
    for (const port of ports()) {
      const res = await fetch(`http://127.0.0.1:${port}/api/health/ready`);
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(await res.json()).toMatchObject({ status: "not_ready", database: "unreachable" });
    }
    await Promise.all(harness.names.map((n) => harness.proxy.waitForStatus(n, "DOWN")));
    // Pages rendered by Next: a session cookie makes each one read the database (the session), which is down.
    for (const p of ["/", "/connections", "/requests", "/admin", "/connect/eli_missing"]) {
      const res = await fetch(`http://127.0.0.1:${harness.instance(0).port}${p}`, { headers: { cookie: "frontdesk.session-token=some-session" }, redirect: "manual" });
      const body = await res.text();
      expect({ page: p, status: res.status }).toEqual({ page: p, status: 503 });
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(body).toContain("Temporarily unavailable");
    }
    // The outage itself lasts 10 s of wall time: that is the fault being injected, not a guess.
    await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - stoppedAt))));
    const { resumedAt, back, postgresMs } = await resumeDatabase();
    const perInstanceMs = await Promise.all(ports().map((port) => firstSuccessOn(port, back)));
    const loadMs = await loadSuccessAfter(load, back);
    await report("10 s stop", load, before, postgresMs, perInstanceMs, loadMs);
    expectOnlyRetryable503s(load.failures());
    // Every request sent after PostgreSQL stopped and answered before it was started again is a
    // 503. Not by answer time alone: under load a request served just before the stop can be
    // answered later, and an instance can be served by the restarted PostgreSQL a moment before
    // this test's own probe is (a CI run had a 200 in one of those gaps).
    const duringOutage = load.outcomes.filter((o) => o.at - o.ms > stoppedAt && o.at < resumedAt);
    expect(duringOutage.length).toBeGreaterThan(0);
    expect(duringOutage.filter((o) => o.status !== 503)).toEqual([]);
    for (const ms of perInstanceMs) expect(ms).toBeLessThanOrEqual(1_000);
    // Back in rotation; the same page renders again (signed out: the cookie names no session).
    await Promise.all(harness.names.map((n) => harness.proxy.waitForStatus(n, "UP")));
    const home = await fetch(`${harness.proxy.url}/`, { headers: { cookie: "frontdesk.session-token=some-session" }, redirect: "manual" });
    expect(home.status).toBeLessThan(500);
    // The grant survived both outages.
    const { getDb } = await import("@/lib/db/client");
    const grant = await (await getDb()).grant.findFirstOrThrow({ where: { userId: bed.users.alice } });
    expect(grant.status).toBe("active");
  }, 600_000);
});
