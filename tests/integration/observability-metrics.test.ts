// Prometheus metrics: the gateway route wrapper counts requests per route and decision, refresh
// outcomes and upstream latency per provider, elicitation lifecycle, audit commits and queue,
// the database pools; the metrics listener refuses scrapes without the bearer token and is not
// part of the public server.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basicAuth, connectNotes, type GatewayTestbed, resolveRequest, startGatewayTestbed, SUBJECT_AUDIENCE } from "../helpers/gateway-testbed";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();

let bed: GatewayTestbed;
let resolve: (req: Request) => Promise<Response>;
let server: Server;
let metricsUrl: string;
const TOKEN = "metrics-scrape-token-0123456789";

beforeAll(async () => {
  bed = await startGatewayTestbed();
  resolve = (await import("@/lib/gateway-api/resolve")).handleResolve;
  const { startMetricsServer } = await import("@/lib/observability/metrics-server");
  server = await startMetricsServer({ host: "127.0.0.1", port: 0, token: TOKEN });
  metricsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}, 60_000);
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await bed?.close();
});

async function scrape(): Promise<string> {
  const res = await fetch(metricsUrl, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  return res.text();
}

/** The value of one series, e.g. value(text, 'frontdesk_gateway_requests_total{route="resolve",...}'). */
function value(text: string, name: string, labels: Record<string, string>): number {
  const line = text.split("\n").find((l) => {
    if (!l.startsWith(`${name}{`)) return false;
    return Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`));
  });
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

async function resolveAs(user: "alice" | "bob", auth = basicAuth(bed.basic.id, bed.basic.secret!)) {
  const subject_token = await bed.idp.signSubjectToken({ sub: bed.idp.users[user].sub, aud: SUBJECT_AUDIENCE });
  return resolve(resolveRequest(bed.frontdeskUrl, { subject_token, provider: "notes" }, { authorization: auth }));
}

describe("metrics", () => {
  it("refuses a scrape without the bearer token, or with a wrong one", async () => {
    expect((await fetch(metricsUrl)).status).toBe(401);
    expect((await fetch(metricsUrl, { headers: { authorization: "Bearer wrong-token-0123456789" } })).status).toBe(401);
    expect((await fetch(metricsUrl.replace("/metrics", "/other"), { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
  });

  it("counts gateway requests by route and decision, elicitations, refreshes, audit batches and pools", async () => {
    const before = await scrape();
    const allow = { route: "resolve", decision: "allow", status: "200" };
    const elicit = { route: "resolve", decision: "elicitation", status: "403" };
    const unauth = { route: "resolve", decision: "invalid_client", status: "401" };

    // bob has no grant: an elicitation; alice's grant has expired: a real refresh upstream.
    expect((await resolveAs("bob")).status).toBe(403);
    await connectNotes(bed, { user: "alice", expiresAt: new Date(Date.now() - 1000) });
    expect((await resolveAs("alice")).status).toBe(200);
    expect((await resolveAs("alice", basicAuth(bed.basic.id, "wrong-secret"))).status).toBe(401);

    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    expect(delta("frontdesk_gateway_requests_total", allow)).toBe(1);
    expect(delta("frontdesk_gateway_requests_total", elicit)).toBe(1);
    expect(delta("frontdesk_gateway_requests_total", unauth)).toBe(1);
    expect(delta("frontdesk_gateway_request_duration_seconds_count", { route: "resolve", decision: "allow" })).toBe(1);
    expect(delta("frontdesk_elicitations_total", { event: "created" })).toBe(1);
    expect(delta("frontdesk_refresh_total", { provider: "notes", outcome: "refreshed" })).toBe(1);
    expect(delta("frontdesk_upstream_request_duration_seconds_count", { provider: "notes", operation: "refresh", result: "ok" })).toBe(1);
    expect(delta("frontdesk_audit_commit_duration_seconds_count", { result: "ok" })).toBeGreaterThan(0);
    expect(after).toMatch(/^frontdesk_audit_queue_events \d+$/m);
    expect(value(after, "frontdesk_db_pool_connections", { pool: "hot_path", state: "total" })).toBeGreaterThan(0);
    expect(after).toContain("frontdesk_process_resident_memory_bytes");
    // Labels are closed sets: no ids, users or secrets in any series.
    expect(after).not.toMatch(/usr_|grt_|eli_|req_|Bearer /);
  });

  it("counts rate-limit rejections by limit, and the gateway request as rate_limited", async () => {
    const { env } = await import("@/lib/env");
    const saved = env().RATE_LIMIT_AUTH_FAILURES_PER_CLIENT_ID;
    env().RATE_LIMIT_AUTH_FAILURES_PER_CLIENT_ID = 2;
    try {
      const before = await scrape();
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await resolveAs("bob", basicAuth(bed.post.id, "not-its-secret"))).status);
      expect(statuses).toEqual([401, 401, 429, 429]);
      const after = await scrape();
      const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
      expect(delta("frontdesk_rate_limit_rejections_total", { limit: "auth_failures" })).toBe(2);
      expect(delta("frontdesk_gateway_requests_total", { route: "resolve", decision: "rate_limited", status: "429" })).toBe(2);
    } finally {
      env().RATE_LIMIT_AUTH_FAILURES_PER_CLIENT_ID = saved;
    }
  });

  it("refuses to listen beyond loopback without a token", async () => {
    const { env } = await import("@/lib/env");
    const { startConfiguredMetricsServer } = await import("@/lib/observability/metrics-server");
    Object.assign(env(), { FRONTDESK_METRICS_PORT: 0, FRONTDESK_METRICS_HOST: "0.0.0.0", FRONTDESK_METRICS_TOKEN: undefined });
    try {
      await expect(startConfiguredMetricsServer()).rejects.toThrow(/FRONTDESK_METRICS_TOKEN/);
    } finally {
      Object.assign(env(), { FRONTDESK_METRICS_PORT: undefined, FRONTDESK_METRICS_HOST: "127.0.0.1" });
    }
  });
});
