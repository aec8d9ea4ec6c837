// Two Frontdesk server processes (server.ts, as in production) on one PostgreSQL: a refresh storm makes exactly
// one upstream token call, and a long-poll or an MCP 2026-07-28 retry (requestState + wait) on one
// instance wakes when the elicitation completes elsewhere. Runs over the suite's production build
// (`npm test` makes it in .next before vitest; nothing writes there while the suites run); made
// here when missing (a file run alone).
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { distDir, ensureBuild, startFrontdesk, type FrontdeskServer } from "../helpers/frontdesk-server";
import { approveGateways, basicAuth, connectNotes, gatewayEnv, startGatewayTestbed, SUBJECT_AUDIENCE, type GatewayTestbed } from "../helpers/gateway-testbed";
import { useTestDatabase } from "../helpers/test-db";

const databaseUrl = await useTestDatabase();
const DIST_DIR = distDir();

let bed: GatewayTestbed;
const servers: FrontdeskServer[] = [];

beforeAll(async () => {
  ensureBuild(DIST_DIR);
  bed = await startGatewayTestbed();
  const { FRONTDESK_URL: _ownUrl, ...shared } = gatewayEnv(bed.idp, bed.frontdeskUrl);
  const env = {
    ...shared,
    DATABASE_URL: databaseUrl,
    FRONTDESK_KEYS: process.env.FRONTDESK_KEYS!,
    AUTH_SECRET: randomBytes(32).toString("base64url"),
    LOG_LEVEL: "error",
  };
  servers.push(...(await Promise.all([startFrontdesk({ env, distDir: DIST_DIR }), startFrontdesk({ env, distDir: DIST_DIR })])));
}, 600_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await bed?.close();
});

async function resolveOn(server: FrontdeskServer, user: "alice" | "bob", subjectToken: string) {
  const res = await fetch(`http://127.0.0.1:${server.port}/api/v1/resolve`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: basicAuth(bed.basic.id, bed.basic.secret!) },
    body: JSON.stringify({ subject_token: subjectToken, provider: "notes", context: { agentId: `storm-${user}` } }),
  });
  return { status: res.status, json: JSON.parse(await res.text()) };
}

describe("two instances on one database", () => {
  it("200 concurrent resolves of an expired grant across both instances make exactly one upstream refresh", async () => {
    const { saveGrant } = await import("@/lib/grants/save");
    const minted = await bed.upstream.mintTokens({ accountId: "alice", scope: "notes:read" });
    const { grantId } = await saveGrant({
      userId: bed.users.alice,
      providerId: bed.providerId,
      scopes: ["notes:read"],
      credential: { kind: "oauth", accessToken: minted.accessToken, refreshToken: minted.refreshToken, expiresAt: new Date(Date.now() - 1000) },
    });
    await approveGateways(grantId, bed.users.alice, [bed.basic.id]);
    const token = await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
    // Warm both instances (route modules, IdP discovery and JWKS) so the storm measures the refresh.
    const bobToken = await bed.idp.signSubjectToken({ sub: "bob", aud: SUBJECT_AUDIENCE });
    for (const s of servers) expect((await resolveOn(s, "bob", bobToken)).status).toBe(403);
    const { getDb } = await import("@/lib/db/client");
    bed.upstream.delayTokenEndpoint(300);
    const before = bed.upstream.stats.refreshRequests;
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => resolveOn(servers[i % 2]!, "alice", token)));
    const elapsed = Date.now() - started;
    bed.upstream.delayTokenEndpoint(0);
    const statuses = results.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});
    expect(statuses).toEqual({ 200: 200 });
    expect(bed.upstream.stats.refreshRequests - before).toBe(1);
    const values = new Set(results.map((r) => r.json.header.value as string));
    expect(values.size).toBe(1);
    expect([...values][0]).not.toBe(`Bearer ${minted.accessToken}`);
    const grant = await (await getDb()).grant.findFirstOrThrow({ where: { userId: bed.users.alice } });
    expect(grant.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    console.log(`refresh storm: 200 resolves over 2 instances in ${elapsed} ms, upstream refresh calls: ${bed.upstream.stats.refreshRequests - before}`);
    // No server log line carries an upstream token.
    for (const s of servers) {
      expect(s.logs()).not.toContain(minted.accessToken);
      expect(s.logs()).not.toContain([...values][0]!.slice(7));
    }
  }, 120_000);

  it("a long-poll on one instance returns within a second of completion elsewhere", async () => {
    const token = await bed.idp.signSubjectToken({ sub: "bob", aud: SUBJECT_AUDIENCE });
    const consent = await resolveOn(servers[0]!, "bob", token);
    expect(consent.status).toBe(403);
    const id = consent.json.error.data.elicitations[0].elicitationId as string;
    const poll = fetch(`http://127.0.0.1:${servers[1]!.port}/api/v1/elicitations/${id}?wait=30`, {
      headers: { authorization: basicAuth(bed.basic.id, bed.basic.secret!) },
    });
    // A head start for the poll to reach its wait on the other process, which shows no sign of it;
    // were it late, it would answer "completed" at once and the latency bound below still holds.
    await new Promise((r) => setTimeout(r, 500));
    const { completeElicitation } = await import("@/lib/elicitations/settle");
    await completeElicitation(id, { issuer: bed.idp.issuer, subject: "bob" });
    const completedAt = Date.now();
    const res = await poll;
    const latency = Date.now() - completedAt;
    expect(res.status).toBe(200);
    expect(JSON.parse(await res.text()).status).toBe("completed");
    expect(latency).toBeLessThan(1_000);
    console.log(`long-poll wake-up across instances: ${latency} ms`);
  }, 60_000);

  it("a retry waiting with its requestState on one instance answers with the credential once the user completes elsewhere", async () => {
    const token = await bed.idp.signSubjectToken({ sub: "bob", aud: SUBJECT_AUDIENCE });
    const consent = await resolveOn(servers[0]!, "bob", token);
    expect(consent.status).toBe(403);
    const id = consent.json.error.data.elicitations[0].elicitationId as string;
    const retry = fetch(`http://127.0.0.1:${servers[1]!.port}/api/v1/resolve`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: basicAuth(bed.basic.id, bed.basic.secret!) },
      body: JSON.stringify({ subject_token: token, provider: "notes", context: { agentId: "storm-bob" }, request_state: consent.json.inputRequired.requestState, wait: 30 }),
    });
    // A head start for the retry to reach its wait on the other process (see the long-poll test above).
    await new Promise((r) => setTimeout(r, 500));
    // The portal's completion, in this process: the grant is stored, then the elicitation settles.
    await connectNotes(bed, { user: "bob", scope: "notes:read" });
    const { completeElicitation } = await import("@/lib/elicitations/settle");
    await completeElicitation(id, { issuer: bed.idp.issuer, subject: "bob" });
    const completedAt = Date.now();
    const res = await retry;
    const latency = Date.now() - completedAt;
    expect(res.status).toBe(200);
    expect(JSON.parse(await res.text()).header.value).toMatch(/^Bearer /);
    // One database poll interval (200 ms) plus the resolve; generous for a loaded machine.
    expect(latency).toBeLessThan(3_000);
    console.log(`retry with requestState woken across instances: ${latency} ms`);
  }, 60_000);
});
