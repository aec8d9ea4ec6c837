// Invariant 15 (design.md section 7): unauthenticated traffic cannot grow the audit log without
// bound. An anonymous flood (wrong secrets, unknown clients, no credentials, from one source and
// from a few) adds one chained event per action, reason, source and minute, and a count beside
// it; authenticated decisions keep one event each. Real handlers, real PostgreSQL.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { useTestDatabase } from "../helpers/test-db";
import { basicAuth, connectNotes, type GatewayTestbed, resolveRequest, startGatewayTestbed, SUBJECT_AUDIENCE } from "../helpers/gateway-testbed";

const url = await useTestDatabase();
// Nothing here is about 429s: keep the failure limits out of the way.
Object.assign(process.env, { RATE_LIMIT_AUTH_FAILURES_PER_SOURCE: "1000000", RATE_LIMIT_AUTH_FAILURES_PER_CLIENT_ID: "1000000" });

let bed: GatewayTestbed;

beforeAll(async () => {
  bed = await startGatewayTestbed();
  await connectNotes(bed);
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

describe("audit growth under an anonymous flood", () => {
  it("600 failed requests from 3 sources add at most one event per reason, source and minute; the counts add up; the chain verifies", async () => {
    const { handleResolve } = await import("@/lib/gateway-api/resolve");
    const { handleTokenRequest } = await import("@/lib/gateway-api/token-exchange");
    const { flushAudit } = await import("@/lib/audit/append");
    const { flushFailureWindows } = await import("@/lib/audit/failure-windows");
    const { verifyAuditChain } = await import("@/lib/audit/verify");
    const { getDb } = await import("@/lib/db/client");
    const db = await getDb();
    const base = bed.frontdeskUrl;
    await flushAudit();
    const eventsBefore = await db.auditEvent.count();
    const subjectToken = await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
    const sources = ["203.0.113.10", "203.0.113.11", "2001:db8:1:2:3:4:5:6"];
    const kinds = [
      (src: string) => handleResolve(resolveRequest(base, { subject_token: subjectToken, provider: "notes" }, { authorization: basicAuth(bed.basic.id, "fdgs_" + "z".repeat(43)), "x-frontdesk-client-address": src })),
      (src: string) => handleResolve(resolveRequest(base, { subject_token: subjectToken, provider: "notes" }, { authorization: basicAuth(`gw_nobody${Math.random()}`, "x"), "x-frontdesk-client-address": src })),
      (src: string) => handleTokenRequest(new Request(`${base}/oauth/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", "x-frontdesk-client-address": src }, body: "grant_type=x" })),
    ];
    const statuses = new Map<number, number>();
    const started = Date.now();
    for (let i = 0; i < 600; i += 20) {
      const batch = await Promise.all(Array.from({ length: 20 }, (_, j) => kinds[(i + j) % 3]!(sources[Math.floor((i + j) / 3) % sources.length]!)));
      for (const r of batch) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    const minutes = Math.floor(Date.now() / 60_000) - Math.floor(started / 60_000) + 1;
    await flushFailureWindows();
    await flushAudit();
    expect(Object.fromEntries(statuses)).toEqual({ 401: 600 });
    const added = (await db.auditEvent.count()) - eventsBefore;
    // 3 reasons (wrong_secret, unknown_client, no_credentials) x 3 sources x the minutes the flood spanned.
    expect(added).toBeGreaterThanOrEqual(9);
    expect(added).toBeLessThanOrEqual(9 * minutes);
    const windows = await db.auditFailureWindow.findMany({ where: { action: "gateway.auth_failed" } });
    expect(windows.reduce((n, w) => n + w.count, 0)).toBe(600);
    expect(new Set(windows.map((w) => w.source))).toEqual(new Set(["203.0.113.10", "203.0.113.11", "2001:db8:1:2::/64"]));
    const sample = await db.auditEvent.findFirst({ where: { action: "gateway.auth_failed", reason: "wrong_secret" } });
    expect(sample?.context).toMatchObject({ source: expect.any(String), aggregated: { windowSeconds: 60 } });
    expect((await verifyAuditChain()).ok).toBe(true);
  });

  it("a flush resolves only after a flush already writing (the timer's) has written its counts", async () => {
    const { appendUnauthenticatedFailure, flushFailureWindows } = await import("@/lib/audit/failure-windows");
    const failure = { actorType: "gateway" as const, action: "gateway.auth_failed", decision: "deny" as const, reason: "flush_order_test" };
    // The first failure of the window is chained and creates its counter row; the next 40 only count, in memory.
    for (let i = 0; i < 41; i++) await appendUnauthenticatedFailure(failure, "198.51.100.7");
    const sql = new pg.Client({ connectionString: url });
    await sql.connect();
    try {
      // Another session holds the counter row, so the first flush (as the timer starts it) waits while writing the 40.
      await sql.query(`BEGIN; SELECT 1 FROM "AuditFailureWindow" WHERE reason = 'flush_order_test' FOR UPDATE`);
      const timers = flushFailureWindows();
      let shutdownFlushed = false;
      const shutdown = flushFailureWindows().then(() => (shutdownFlushed = true)); // as shutdown calls it meanwhile
      await vi.waitFor(
        async () => {
          const r = await sql.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO "AuditFailureWindow"%'`);
          expect(r.rows[0].n).toBe(1);
        },
        { timeout: 30_000, interval: 20 },
      );
      expect(shutdownFlushed).toBe(false);
      await sql.query("COMMIT");
      await Promise.all([timers, shutdown]);
      const r = await sql.query(`SELECT count FROM "AuditFailureWindow" WHERE reason = 'flush_order_test'`);
      expect(r.rows[0].count).toBe(41);
    } finally {
      await sql.end();
    }
  });

  it("authenticated decisions keep one event each", async () => {
    const { handleResolve } = await import("@/lib/gateway-api/resolve");
    const { flushAudit } = await import("@/lib/audit/append");
    const { getDb } = await import("@/lib/db/client");
    const db = await getDb();
    const subjectToken = await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
    await flushAudit();
    const before = await db.auditEvent.count({ where: { action: "resolve" } });
    for (let i = 0; i < 5; i++) {
      const res = await handleResolve(resolveRequest(bed.frontdeskUrl, { subject_token: subjectToken, provider: "notes" }, { authorization: basicAuth(bed.basic.id, bed.basic.secret!) }));
      expect(res.status).toBe(200);
    }
    await flushAudit();
    expect((await db.auditEvent.count({ where: { action: "resolve" } })) - before).toBe(5);
  });
});
