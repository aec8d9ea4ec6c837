// Database outages under load, in one process on a PostgreSQL cluster of its own (it is stopped
// and started here, so it cannot be the shared test cluster): a restart and a 10 s stop while
// resolves and token exchanges keep coming. Wanted (design.md invariant 15): no 500 ever, every
// failure a structured 503 with Retry-After (`temporarily_unavailable` at the token endpoint),
// readiness reporting the database, and a request succeeding within 1 s of the database serving
// connections again. Pages rendered by Next (a server process over the production build) answer a
// branded 503 page with Retry-After during the stop, not Next's 500.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTemplate, createTestDatabase } from "../helpers/databases";
import { distDir, ensureBuild, startFrontdesk, type FrontdeskServer } from "../helpers/frontdesk-server";
import { ACCESS_TOKEN_TYPE, basicAuth, connectNotes, gatewayEnv, resolveRequest, startGatewayTestbed, SUBJECT_AUDIENCE, TOKEN_EXCHANGE_GRANT, tokenRequest, type GatewayTestbed } from "../helpers/gateway-testbed";
import { startPostgresCluster } from "../helpers/postgres-cluster";

const cluster = await startPostgresCluster();
await createTemplate(cluster.adminUrl);
process.env.DATABASE_URL = await createTestDatabase(cluster.adminUrl);
process.env.FRONTDESK_KEYS ||= `test:${randomBytes(32).toString("base64")}`;

let bed: GatewayTestbed;
let resolve: (req: Request) => Promise<Response>;
let exchange: (req: Request) => Promise<Response>;
let subjectToken: string;
let server: FrontdeskServer;

beforeAll(async () => {
  ensureBuild(distDir());
  bed = await startGatewayTestbed();
  const { FRONTDESK_URL: _ownUrl, ...shared } = gatewayEnv(bed.idp, bed.frontdeskUrl);
  server = await startFrontdesk({
    env: { ...shared, DATABASE_URL: process.env.DATABASE_URL!, FRONTDESK_KEYS: process.env.FRONTDESK_KEYS!, AUTH_SECRET: randomBytes(32).toString("base64url"), LOG_LEVEL: "error" },
  });
  resolve = (await import("@/lib/gateway-api/resolve")).handleResolve;
  exchange = (await import("@/lib/gateway-api/token-exchange")).handleTokenRequest;
  await connectNotes(bed, { user: "alice" });
  subjectToken = await bed.idp.signSubjectToken({ sub: bed.idp.users.alice.sub, aud: SUBJECT_AUDIENCE });
});

afterAll(async () => {
  await server?.stop();
  const { closeDb } = await import("@/lib/db/client");
  const { closeAuditPool } = await import("@/lib/audit/writer-pool");
  await closeDb();
  await closeAuditPool();
  await bed?.close();
  cluster.stop();
});

interface Outcome {
  at: number;
  status: number;
  kind: "resolve" | "token";
  retryAfter: string | null;
  code: string | undefined;
}

/** Calls resolve and the token endpoint in a loop on `workers` lanes until stopped. */
function startLoad(workers: number) {
  const outcomes: Outcome[] = [];
  let running = true;
  const auth = { authorization: basicAuth(bed.basic.id, bed.basic.secret!) };
  const lane = async (n: number) => {
    for (let i = 0; running; i++) {
      const kind = (n + i) % 2 === 0 ? "resolve" : "token";
      const res =
        kind === "resolve"
          ? await resolve(resolveRequest(bed.frontdeskUrl, { subject_token: subjectToken, provider: "notes" }, auth))
          : await exchange(
              tokenRequest(
                bed.frontdeskUrl,
                [
                  ["grant_type", TOKEN_EXCHANGE_GRANT],
                  ["subject_token", subjectToken],
                  ["subject_token_type", ACCESS_TOKEN_TYPE],
                  ["resource", bed.upstream.apiUrl],
                ],
                auth,
              ),
            );
      const body = (await res.json()) as { error?: string | { code?: string } };
      const code = typeof body.error === "string" ? body.error : body.error?.code;
      outcomes.push({ at: Date.now(), status: res.status, kind, retryAfter: res.headers.get("retry-after"), code });
    }
  };
  const done = Promise.all(Array.from({ length: workers }, (_, n) => lane(n)));
  return {
    outcomes,
    async stop() {
      running = false;
      await done;
    },
  };
}

/**
 * Resumes the cluster and returns when PostgreSQL itself serves a new connection again (a plain
 * pg client, no Frontdesk code): on a loaded machine its first backends after a restart take
 * hundreds of milliseconds on their own, and that is not Frontdesk's recovery time.
 */
async function resumeDatabase(): Promise<{ back: number; postgresMs: number }> {
  const started = Date.now();
  await cluster.resume();
  for (;;) {
    const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
    client.on("error", () => undefined);
    try {
      await client.connect();
      await client.query("SELECT 1");
      return { back: Date.now(), postgresMs: Date.now() - started };
    } catch {
      // still starting
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/**
 * A gateway's retry right after the database returned: resolves again at once on every 503
 * until one succeeds; the time from `since` to that success.
 */
async function freshSuccessAfter(since: number): Promise<number> {
  const auth = { authorization: basicAuth(bed.basic.id, bed.basic.secret!) };
  for (;;) {
    const res = await resolve(resolveRequest(bed.frontdeskUrl, { subject_token: subjectToken, provider: "notes" }, auth));
    await res.arrayBuffer();
    if (res.status === 200) return Date.now() - since;
    expect(res.status).toBe(503);
  }
}

/** Waits until the load has produced a success after `since` (an event, not a sleep). */
async function firstSuccessAfter(outcomes: Outcome[], since: number): Promise<number> {
  for (;;) {
    const hit = outcomes.find((o) => o.at >= since && o.status === 200);
    if (hit) return hit.at - since;
    await new Promise((r) => setTimeout(r, 10));
  }
}

function summarize(label: string, outcomes: Outcome[], postgresMs: number, freshMs: number, loadMs: number) {
  const byStatus: Record<number, number> = {};
  for (const o of outcomes) byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
  console.log(
    `[fault] ${label}: ${outcomes.length} requests ${JSON.stringify(byStatus)}; PostgreSQL served again ${postgresMs} ms after pg_ctl start; ` +
      `then a new request succeeded in ${freshMs} ms, ` +
      `the load's first success (requests already in flight) after ${loadMs} ms`,
  );
}

function expectOnlyRetryable503s(outcomes: Outcome[]) {
  const failures = outcomes.filter((o) => o.status !== 200);
  for (const f of failures) {
    expect(f.status).toBe(503);
    expect(f.retryAfter).toMatch(/^\d+$/);
    expect(f.code).toBe(f.kind === "token" ? "temporarily_unavailable" : "service_unavailable");
  }
}

describe("database outage under load", () => {
  it("a restart (pg_ctl stop -m fast, start): no 500, only 503 + Retry-After, a new request succeeds within 1 s", async () => {
    const load = startLoad(6);
    await firstSuccessAfter(load.outcomes, 0);
    await cluster.pause("fast");
    const { back, postgresMs } = await resumeDatabase();
    const recoveryMs = await freshSuccessAfter(back);
    const loadMs = await firstSuccessAfter(load.outcomes, back);
    await load.stop();
    summarize("restart", load.outcomes, postgresMs, recoveryMs, loadMs);
    expectOnlyRetryable503s(load.outcomes);
    expect(load.outcomes.some((o) => o.status === 503)).toBe(true);
    expect(recoveryMs).toBeLessThanOrEqual(1_000);
  });

  it("a 10 s stop: no 500, only 503 + Retry-After, readiness says the database is unreachable, a new request succeeds within 1 s", async () => {
    const { checkReadiness } = await import("@/lib/health/readiness");
    expect(await checkReadiness()).toEqual({ ready: true, checks: { database: "ok", migrations: "current", keys: "loaded", shutdown: "no" } });
    const load = startLoad(6);
    await firstSuccessAfter(load.outcomes, 0);
    await cluster.pause("immediate");
    const stoppedAt = Date.now();
    const during = await checkReadiness();
    expect(during.ready).toBe(false);
    expect(during.checks.database).toBe("unreachable");
    // Pages: a session cookie makes each one read the database (the session), which is down.
    const pages = ["/", "/connections", "/requests", "/admin", "/connect/eli_missing"];
    for (const p of pages) {
      const res = await fetch(`http://127.0.0.1:${server.port}${p}`, { headers: { cookie: "frontdesk.session-token=some-session" }, redirect: "manual" });
      const body = await res.text();
      expect({ page: p, status: res.status }).toEqual({ page: p, status: 503 });
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(body).toContain("Temporarily unavailable");
    }
    // The outage itself lasts 10 s of wall time: that is the fault being injected, not a guess.
    await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - stoppedAt))));
    const { back, postgresMs } = await resumeDatabase();
    const recoveryMs = await freshSuccessAfter(back);
    const loadMs = await firstSuccessAfter(load.outcomes, back);
    await load.stop();
    summarize("10 s stop", load.outcomes, postgresMs, recoveryMs, loadMs);
    expectOnlyRetryable503s(load.outcomes);
    expect(load.outcomes.filter((o) => o.at > stoppedAt + 1_000 && o.at < back).every((o) => o.status === 503)).toBe(true);
    expect(recoveryMs).toBeLessThanOrEqual(1_000);
    expect((await checkReadiness()).ready).toBe(true);
    // Back: the same page renders again (signed out: the cookie names no session).
    const home = await fetch(`http://127.0.0.1:${server.port}/`, { headers: { cookie: "frontdesk.session-token=some-session" }, redirect: "manual" });
    expect(home.status).toBeLessThan(500);
  });
});
