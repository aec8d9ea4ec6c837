// Invariant 15 (design.md section 7), rate limits in lib/rate-limit, on real PostgreSQL through
// the real gateway handlers: failed client authentication per source and per claimed client id
// (429 + Retry-After for the attacker while the real gateway keeps getting 200), calls per
// gateway, elicitation creation per user, portal actions per user and session. Across two real
// server instances: tests/e2e/invariant-rate-limits.spec.ts.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { useTestDatabase } from "../helpers/test-db";
import {
  ACCESS_TOKEN_TYPE,
  basicAuth,
  connectNotes,
  type GatewayTestbed,
  resolveRequest,
  startGatewayTestbed,
  SUBJECT_AUDIENCE,
  TOKEN_EXCHANGE_GRANT,
  tokenRequest,
} from "../helpers/gateway-testbed";

await useTestDatabase();
Object.assign(process.env, {
  RATE_LIMIT_AUTH_FAILURES_PER_SOURCE: "5",
  RATE_LIMIT_AUTH_FAILURES_PER_CLIENT_ID: "12",
  RATE_LIMIT_ELICITATIONS_PER_USER: "3",
  RATE_LIMIT_PORTAL_ACTIONS_PER_USER: "4",
  RATE_LIMIT_PORTAL_ACTIONS_PER_SESSION: "2",
});

let bed: GatewayTestbed;
const ADDRESS = "x-frontdesk-client-address";

/**
 * The limits count in fixed one-minute windows of this process's clock (Date.now(), the default
 * `now` of lib/rate-limit); a sequence that straddles a window's end would start counting again
 * halfway. Each sequence starts at least 20 s before the window ends: near the edge, this
 * process's Date is moved into the next window instead of waiting for it (a fake Date that keeps
 * running with real time; timers stay real). Everything here reads the same clock; nothing
 * compares it with PostgreSQL's now().
 */
function awayFromWindowEdge(): void {
  const left = 60_000 - (Date.now() % 60_000);
  if (left >= 20_000) return;
  if (!vi.isFakeTimers()) vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });
  vi.setSystemTime(Date.now() + left + 50);
}

beforeAll(async () => {
  bed = await startGatewayTestbed();
  await connectNotes(bed);
}, 60_000);

afterAll(async () => {
  vi.useRealTimers();
  await bed?.close();
});

describe("failed client authentication", () => {
  it("is 429 with Retry-After for the attacker's source beyond the limit, while the real gateway gets 200 from its own", async () => {
    const { handleTokenRequest } = await import("@/lib/gateway-api/token-exchange");
    const { handleResolve } = await import("@/lib/gateway-api/resolve");
    const base = bed.frontdeskUrl;
    const subjectToken = await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
    const pairs: [string, string][] = [
      ["grant_type", TOKEN_EXCHANGE_GRANT],
      ["subject_token", subjectToken],
      ["subject_token_type", ACCESS_TOKEN_TYPE],
      ["audience", "notes"],
    ];
    const wrong = basicAuth(bed.post.id, "fdgs_" + "x".repeat(43));
    awayFromWindowEdge();
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 8; i++) {
      last = await handleTokenRequest(tokenRequest(base, pairs, { authorization: wrong, [ADDRESS]: "203.0.113.66" }));
      statuses.push(last.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    expect(await last!.json()).toMatchObject({ error: "temporarily_unavailable" });
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // The REST shape for the same source.
    const rest = await handleResolve(resolveRequest(base, { subject_token: subjectToken, provider: "notes" }, { authorization: wrong, [ADDRESS]: "203.0.113.66" }));
    expect(rest.status).toBe(429);
    expect((await rest.json()).error.code).toBe("rate_limited");
    expect(rest.headers.get("retry-after")).toMatch(/^\d+$/);
    // The real gateway (same client id, its own source) is not locked out; and a success is never throttled.
    const real = await handleTokenRequest(tokenRequest(base, [...pairs, ["client_id", bed.post.id], ["client_secret", bed.post.secret!]], { [ADDRESS]: "198.51.100.7" }));
    expect(real.status).toBe(200);
    const realFromAttackerSource = await handleTokenRequest(tokenRequest(base, [...pairs, ["client_id", bed.post.id], ["client_secret", bed.post.secret!]], { [ADDRESS]: "203.0.113.66" }));
    expect(realFromAttackerSource.status).toBe(200);
  });

  it("a flood on one client id from many sources is limited per client id, and the real gateway still gets 200", async () => {
    const { handleResolve } = await import("@/lib/gateway-api/resolve");
    const base = bed.frontdeskUrl;
    const subjectToken = await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
    const wrong = basicAuth(bed.basic.id, "fdgs_" + "y".repeat(43));
    awayFromWindowEdge();
    const statuses: number[] = [];
    for (let i = 0; i < 16; i++) {
      const res = await handleResolve(resolveRequest(base, { subject_token: subjectToken, provider: "notes" }, { authorization: wrong, [ADDRESS]: `192.0.2.${i + 1}` }));
      statuses.push(res.status);
      const ok = await handleResolve(resolveRequest(base, { subject_token: subjectToken, provider: "notes" }, { authorization: basicAuth(bed.basic.id, bed.basic.secret!), [ADDRESS]: "198.51.100.8" }));
      expect(ok.status).toBe(200);
    }
    expect(statuses.slice(0, 12).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(12).every((s) => s === 429)).toBe(true);
  });
});

describe("shared counters", () => {
  it("count across instances in PostgreSQL: hits from two writers add up in one window", async () => {
    const { addHits } = await import("@/lib/rate-limit/counter");
    const now = Date.now();
    const [a] = await addHits([{ key: "test:shared", windowMs: 60_000, weight: 3 }], now);
    const [b] = await addHits([{ key: "test:shared", windowMs: 60_000, weight: 4 }], now);
    expect([a!.hits, b!.hits]).toEqual([3, 7]);
    // The next window starts again from the new hits; an older window's hit counts toward the newer one.
    const [c] = await addHits([{ key: "test:shared", windowMs: 60_000 }], now + 60_000);
    const [d] = await addHits([{ key: "test:shared", windowMs: 60_000 }], now);
    expect([c!.hits, d!.hits]).toEqual([1, 2]);
  });

  it("grouped hits: concurrent calls share one UPSERT and each sees the count it would have seen alone", async () => {
    const { addHits, addHitsGrouped } = await import("@/lib/rate-limit/counter");
    const { getHotPool } = await import("@/lib/db/hot-pool");
    awayFromWindowEdge();
    // Another instance's hits in this window come first.
    await addHits([{ key: "test:grouped", windowMs: 60_000, weight: 2 }]);
    const pool = getHotPool()!;
    const query = pool.query.bind(pool);
    let statements = 0;
    pool.query = ((...args: Parameters<typeof pool.query>) => {
      statements++;
      return query(...args);
    }) as typeof pool.query;
    try {
      const results = await Promise.all([
        addHitsGrouped([{ key: "test:grouped", windowMs: 60_000 }]),
        addHitsGrouped([{ key: "test:grouped", windowMs: 60_000, weight: 3 }, { key: "test:grouped-b", windowMs: 60_000 }]),
        addHitsGrouped([{ key: "test:grouped", windowMs: 60_000 }]),
      ]);
      expect(results.map((r) => r.map((s) => s.hits))).toEqual([[3], [6, 1], [7]]);
      expect(statements).toBe(1);
    } finally {
      pool.query = query;
    }
    const [after] = await addHits([{ key: "test:grouped", windowMs: 60_000, weight: 0 }]);
    expect(after!.hits).toBe(7);
  });

  it("calls per gateway are refused beyond the limit once the shared total says so (no query per call)", async () => {
    const { flushGatewayCalls, limitGatewayCall } = await import("@/lib/rate-limit/gateway-calls");
    const { addHits } = await import("@/lib/rate-limit/counter");
    const { env } = await import("@/lib/env");
    const limit = env().RATE_LIMIT_GATEWAY_CALLS;
    const now = Math.floor(Date.now() / 60_000) * 60_000 + 1_000; // one fixed instant in one window
    // Another instance has used all but two calls of this window.
    await addHits([{ key: "gw:calls:gw_elsewhere", windowMs: 60_000, weight: limit - 2 }], now);
    expect(limitGatewayCall("gw_elsewhere", now)).toBeNull();
    await flushGatewayCalls(now); // learns the shared total (limit - 1)
    expect(limitGatewayCall("gw_elsewhere", now)).toBeNull();
    const refused = limitGatewayCall("gw_elsewhere", now);
    expect(refused).toMatchObject({ code: "rate_limited" });
    expect(limitGatewayCall("gw_other", now)).toBeNull();
  });
});

describe("per-user limits", () => {
  it("elicitation creation per user: beyond the limit a resolve needing consent is 429, other users unaffected", async () => {
    const { handleResolve } = await import("@/lib/gateway-api/resolve");
    const { createElicitation } = await import("@/lib/elicitations/create");
    const base = bed.frontdeskUrl;
    const bob = bed.idp.users.bob;
    const create = (subject: string) =>
      createElicitation({ userIssuer: bed.idp.issuer, userSubject: subject, gatewayId: bed.post.id, providerId: bed.providerId, scopes: ["notes:read"], context: {} });
    awayFromWindowEdge();
    for (let i = 0; i < 3; i++) await create(bob.sub);
    await expect(create(bob.sub)).rejects.toMatchObject({ code: "rate_limited" });
    // Through the gateway API (another gateway, so no pending request of its own to reuse): 429 + Retry-After.
    const token = await bed.idp.signSubjectToken({ sub: "bob", aud: SUBJECT_AUDIENCE });
    const res = await handleResolve(resolveRequest(base, { subject_token: token, provider: "notes" }, { authorization: basicAuth(bed.basic.id, bed.basic.secret!) }));
    expect(res.status).toBe(429);
    expect((await res.json()).error.code).toBe("rate_limited");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    await expect(create(bed.idp.users.alice.sub)).resolves.toMatchObject({ id: expect.stringMatching(/^eli_/) });
  });

  it("concurrent elicitation creations for one user: exactly the limit get through", async () => {
    const { createElicitation } = await import("@/lib/elicitations/create");
    awayFromWindowEdge();
    const create = () =>
      createElicitation({ userIssuer: bed.idp.issuer, userSubject: "carol-concurrent", gatewayId: bed.post.id, providerId: bed.providerId, scopes: ["notes:read"], context: {} });
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, create));
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(3);
    for (const o of outcomes.filter((o) => o.status === "rejected")) expect((o as PromiseRejectedResult).reason).toMatchObject({ code: "rate_limited" });
  });

  it("portal actions per user and per session", async () => {
    const { limitPortalAction, portalActionAllowed } = await import("@/lib/rate-limit/limits");
    awayFromWindowEdge();
    await limitPortalAction("usr_limits", "session-a");
    await limitPortalAction("usr_limits", "session-a");
    await expect(limitPortalAction("usr_limits", "session-a")).rejects.toMatchObject({ code: "rate_limited" });
    await expect(portalActionAllowed("usr_limits", "session-b")).resolves.toBe(true);
    // The user's total (4) is reached across sessions: a fresh session is refused too.
    await expect(portalActionAllowed("usr_limits", "session-c")).resolves.toBe(false);
    await expect(portalActionAllowed("usr_other", "session-d")).resolves.toBe(true);
  });
});
