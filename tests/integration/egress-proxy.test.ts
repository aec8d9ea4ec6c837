// The egress proxy (interface G, invariant 14) in-process against real PostgreSQL, the real
// IdP and Notes upstream (oidc-provider), local upstream servers and a real DNS server on
// 127.0.0.1 that Frontdesk is pointed at: request rules per scope, header hygiene, the SSRF
// guard (paths, addresses, redirects, DNS answers that change), the forced refresh on an
// upstream 401, consent bodies, and what the audit log records (and never records).
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { NOTES_REQUEST_RULES } from "@/demo/upstream-provider";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server";
import { approveGateways, basicAuth, connectNotes, startGatewayTestbed, SUBJECT_AUDIENCE, type GatewayTestbed } from "../helpers/gateway-testbed";
import { freePort } from "../helpers/postgres-cluster";
import { useTestDatabase } from "../helpers/test-db";

// Every upstream hostname in this file resolves through this DNS server (lib/env reads it once).
const dns: TestDnsServer = await startDnsServer((name, type, n) => {
  if (type !== "A") return [];
  if (name === "localhost") return ["127.0.0.1"];
  if (name === "rebind.test") return n === 1 ? ["127.0.0.1"] : ["127.0.0.2"];
  if (name === "mixed.test") return ["93.184.215.14", "127.0.0.1"];
  if (name === "private.test") return ["10.0.0.1"];
  if (name === "metadata.test") return ["169.254.169.254"];
  return [];
});
process.env.FRONTDESK_EGRESS_DNS_SERVERS = dns.server;
await useTestDatabase();

let bed: GatewayTestbed;
let proxyHandler: typeof import("@/lib/egress/proxy").proxyHandler;
let aliceToken: string;
const upstreamSecrets: string[] = [];

/** A local upstream that records what it received; `/redirect-*` answer redirects. */
interface Recorder {
  server: Server;
  port: number;
  seen: { method: string; url: string; headers: IncomingHttpHeaders }[];
}
function startRecorder(host: string, port = 0, label = host): Promise<Recorder> {
  const seen: Recorder["seen"] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    if (req.url === "/base/redirect-off") return void res.writeHead(302, { location: "http://127.0.0.2:9/elsewhere" }).end();
    if (req.url === "/base/redirect-in") return void res.writeHead(302, { location: "/base/other?x=1" }).end();
    req.resume();
    res.writeHead(200, {
      "content-type": "application/json",
      "set-cookie": "session=upstream-session",
      "x-upstream": label,
      connection: "x-drop-me",
      "x-drop-me": "1",
      // A forged mark: only Frontdesk sets Frontdesk-* headers.
      "frontdesk-origin": "forged",
    });
    res.end(JSON.stringify({ served: label, headers: req.headers }));
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve({ server, port: (server.address() as { port: number }).port, seen })));
}
let echo: Recorder;
let rebindA: Recorder;
let rebindB: Recorder;

const API_KEY = "echo-api-key-never-leaves-0123456789";

async function addApiKeyProvider(slug: string, base: string, allowPrivateNetwork: boolean) {
  const { createProvider } = await import("@/lib/providers/create");
  const { createPolicyRule } = await import("@/lib/policy/rules");
  const { saveGrant } = await import("@/lib/grants/save");
  const p = await createProvider({
    slug,
    displayName: slug,
    kind: "api_key",
    apiKeyHeader: "Authorization",
    apiKeyPrefix: "Bearer ",
    resourceUrls: [base],
    allowInsecureHttp: true,
    allowPrivateNetwork,
    requestRules: { "*": [{ methods: ["GET", "POST", "DELETE"], paths: ["/**"] }] },
  });
  await createPolicyRule({ providerId: p.id, gatewayId: bed.basic.id }, { type: "admin", id: "test" });
  await createPolicyRule({ providerId: p.id, gatewayId: null }, { type: "admin", id: "test" });
  const { grantId } = await saveGrant({ userId: bed.users.alice, providerId: p.id, scopes: [], credential: { kind: "api_key", apiKey: API_KEY } });
  await approveGateways(grantId, bed.users.alice, [bed.basic.id, bed.post.id, bed.jwt.id, bed.trusted.id]);
  return p;
}

beforeAll(async () => {
  bed = await startGatewayTestbed();
  const { getDb } = await import("@/lib/db/client");
  const db = await getDb();
  await db.provider.update({ where: { id: bed.providerId }, data: { allowPrivateNetwork: true, requestRules: NOTES_REQUEST_RULES } });
  ({ proxyHandler } = await import("@/lib/egress/proxy"));
  // The stored token can read and write; callers below ask for less.
  const grant = await connectNotes(bed, { scope: "notes:read notes:write" });
  upstreamSecrets.push(grant.accessToken, grant.refreshToken, API_KEY);
  aliceToken = await bed.idp.signSubjectToken({ sub: bed.idp.users.alice.sub, aud: SUBJECT_AUDIENCE });
  echo = await startRecorder("127.0.0.1");
  await addApiKeyProvider("echo", `http://localhost:${echo.port}/base`, true);
  const port = await freePort();
  rebindA = await startRecorder("127.0.0.1", port, "A");
  rebindB = await startRecorder("127.0.0.2", port, "B");
  await addApiKeyProvider("rebind", `http://rebind.test:${port}/`, true);
  for (const [slug, base] of [
    ["loopback", `http://127.0.0.1:${echo.port}/base`],
    ["decimal", `http://2130706433:${echo.port}/base`],
    ["mapped", `http://[::ffff:127.0.0.1]:${echo.port}/base`],
    ["ipv6-loopback", `http://[::1]:${echo.port}/base`],
    ["named-loopback", `http://localhost:${echo.port}/base`],
    ["mixed", `http://mixed.test:${echo.port}/base`],
    ["private", `http://private.test:${echo.port}/base`],
    ["metadata", `http://metadata.test/latest`],
  ] as const) {
    await addApiKeyProvider(slug, base, false);
  }
}, 60_000);

afterAll(async () => {
  await bed?.close();
  for (const r of [echo, rebindA, rebindB]) r?.server.close();
  await dns.close();
});

function proxyRequest(
  slug: string,
  path: string,
  opts: { method?: string; scopes?: string; headers?: Record<string, string>; body?: string; raw?: string; subject?: string | null } = {},
) {
  const headers: Record<string, string> = { authorization: basicAuth(bed.basic.id, bed.basic.secret!), ...opts.headers };
  if (opts.subject !== null) headers["frontdesk-subject-token"] = opts.subject ?? aliceToken;
  if (opts.scopes) headers["frontdesk-scopes"] = opts.scopes;
  const req = new Request(`${bed.frontdeskUrl}/api/v1/proxy/${slug}${path}`, { method: opts.method ?? "GET", headers, body: opts.body });
  return proxyHandler(opts.raw)(req);
}

async function auditRows(action?: string) {
  const { getDb } = await import("@/lib/db/client");
  const { flushAudit } = await import("@/lib/audit/append");
  await flushAudit();
  const db = await getDb();
  return db.auditEvent.findMany({ where: action ? { action } : {}, orderBy: { seq: "asc" } });
}

describe("request rules: the caller's scopes, not the stored token, decide", () => {
  it("a caller granted notes:read can GET notes", async () => {
    const res = await proxyRequest("notes", "/notes", { scopes: "notes:read" });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({ owner: "alice", notes: expect.any(Array) });
    expect(bed.upstream.stats.apiRequests.at(-1)).toMatchObject({ accountId: "alice", method: "GET" });
  });

  it("the same caller cannot POST or DELETE although the stored token could: structured 403, audited, nothing sent upstream", async () => {
    const before = bed.upstream.stats.apiRequests.length;
    for (const [method, path] of [
      ["POST", "/notes"],
      ["DELETE", "/notes/0"],
    ] as const) {
      const res = await proxyRequest("notes", path, { method, scopes: "notes:read", headers: { "content-type": "application/json" }, body: method === "POST" ? '{"text":"x"}' : undefined });
      expect(res.status).toBe(403);
      expect(res.headers.get("frontdesk-origin")).toBeNull();
      const body = await res.json();
      expect(body.error).toMatchObject({ code: "forbidden", requestId: expect.stringMatching(/^req_/) });
      expect(body.error.message).toContain(method);
    }
    expect(bed.upstream.stats.apiRequests.length).toBe(before);
    const refused = (await auditRows("egress.refused")).filter((r) => r.reason === "request_rule:not_allowed");
    expect(refused.map((r) => (r.context as { method: string }).method)).toEqual(expect.arrayContaining(["POST", "DELETE"]));
    expect(refused[0]).toMatchObject({ decision: "deny", gatewayId: bed.basic.id, providerId: bed.providerId });
    expect(refused.map((r) => (r.context as { pathTemplate: string }).pathTemplate)).toEqual(expect.arrayContaining(["/notes", "/notes/*"]));
    // ...and the token could have done it: a caller that asks for notes:write may.
    const allowed = await proxyRequest("notes", "/notes", { method: "POST", scopes: "notes:write", headers: { "content-type": "application/json" }, body: '{"text":"written through Frontdesk"}' });
    expect(allowed.status).toBe(201);
    expect((await allowed.json()).notes).toContain("written through Frontdesk");
  });

  it("a path no rule names is refused, and the provider's default scopes apply when none are asked for", async () => {
    expect((await proxyRequest("notes", "/admin/users", { scopes: "notes:read" })).status).toBe(403);
    expect((await proxyRequest("notes", "/notes")).status).toBe(200); // default scopes: notes:read
    expect((await proxyRequest("notes", "/notes", { method: "POST", body: "{}" })).status).toBe(403);
  });
});

describe("hygiene", () => {
  it("strips the caller's credentials, cookies, hop-by-hop and Frontdesk headers; adds only the credential; drops Set-Cookie", async () => {
    const res = await proxyRequest("echo", "/things?q=1", {
      headers: {
        cookie: "portal=secret",
        "proxy-authorization": "Basic eDp5",
        "x-forwarded-for": "10.1.2.3",
        connection: "x-private",
        "x-private": "hop",
        "frontdesk-agent-id": "agent-7",
        "x-keep": "kept",
      },
    });
    expect(res.status).toBe(200);
    const seen = echo.seen.at(-1)!;
    expect(seen.url).toBe("/base/things?q=1");
    expect(seen.headers.authorization).toBe(`Bearer ${API_KEY}`);
    for (const h of ["cookie", "proxy-authorization", "x-forwarded-for", "x-private", "frontdesk-agent-id", "frontdesk-subject-token", "frontdesk-scopes"]) {
      expect(seen.headers[h]).toBeUndefined();
    }
    expect(seen.headers["x-keep"]).toBe("kept");
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(res.headers.get("x-drop-me")).toBeNull();
    expect(res.headers.get("x-upstream")).toBe("127.0.0.1");
    expect(res.headers.get("frontdesk-origin")).toBe("upstream");
    const text = await res.text();
    expect(text).toContain("served"); // the echo includes the key, as an upstream might: the caller's choice of upstream, not a leak path of Frontdesk
  });

  it("without a user identity, or with a bad one, nothing is forwarded", async () => {
    const before = echo.seen.length;
    expect((await proxyRequest("echo", "/x", { subject: null })).status).toBe(401);
    expect((await proxyRequest("echo", "/x", { subject: "not.a.jwt" })).status).toBe(400);
    const wrongGateway = await proxyHandler()(new Request(`${bed.frontdeskUrl}/api/v1/proxy/echo/x`, { headers: { authorization: basicAuth(bed.basic.id, "wrong"), "frontdesk-subject-token": aliceToken } }));
    expect(wrongGateway.status).toBe(401);
    expect(echo.seen.length).toBe(before);
  });
});

describe("SSRF guard", () => {
  it("refuses absolute URLs, dot segments (plain and encoded), encoded slashes, backslashes, userinfo and // in the raw target", async () => {
    const before = echo.seen.length;
    const attempts = [
      "/api/v1/proxy/echo/../../etc/passwd",
      "/api/v1/proxy/echo/a/%2e%2e/%2E%2E/x",
      "/api/v1/proxy/echo/a/%252e%252e/x",
      "/api/v1/proxy/echo/a%2f..%2fadmin",
      "/api/v1/proxy/echo/a\\..\\admin",
      "/api/v1/proxy/echo/a%5cadmin",
      "/api/v1/proxy/echo/@evil.example/x",
      "/api/v1/proxy/echo//evil.example/x",
      "/api/v1/proxy/echo/http://evil.example/x",
      "/api/v1/proxy/echo/x%00y",
      "/api/v1/proxy/echo/./x",
    ];
    for (const raw of attempts) {
      const res = await proxyRequest("echo", "/ignored", { raw });
      expect(res.status, raw).toBe(400);
      expect((await res.json()).error.code).toBe("invalid_request");
    }
    expect(echo.seen.length).toBe(before);
    expect((await auditRows("egress.refused")).some((r) => r.reason === "path_refused")).toBe(true);
  });

  it("refuses loopback, decimal-encoded, IPv6 and IPv4-mapped loopback, private and metadata addresses unless the provider allows them", async () => {
    const before = echo.seen.length;
    for (const slug of ["loopback", "decimal", "mapped", "ipv6-loopback", "named-loopback", "mixed", "private", "metadata"]) {
      const res = await proxyRequest(slug, "/x");
      expect(res.status, slug).toBe(502);
      expect((await res.json()).error.code).toBe("upstream_error");
    }
    expect(echo.seen.length).toBe(before);
    const refused = (await auditRows("egress.refused")).filter((r) => r.reason === "ssrf:private_address");
    expect(refused.length).toBeGreaterThanOrEqual(8);
  });

  it("pins the connection to the address it checked: an answer that changes after the check is never used", async () => {
    const queriesBefore = dns.queries.filter((q) => q.name === "rebind.test" && q.type === "A").length;
    expect(queriesBefore).toBe(0);
    const res = await proxyRequest("rebind", "/who");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ served: "A" });
    // One lookup for the request; the name now answers 127.0.0.2, which nobody connected to.
    expect(dns.queries.filter((q) => q.name === "rebind.test" && q.type === "A").length).toBe(1);
    expect(rebindA.seen.length).toBe(1);
    expect(rebindB.seen.length).toBe(0);
  });

  it("does not follow redirects: one off the base is refused, one within it becomes a proxy URL", async () => {
    const off = await proxyRequest("echo", "/redirect-off");
    expect(off.status).toBe(502);
    expect((await off.json()).error.message).toMatch(/redirect/);
    const within = await proxyRequest("echo", "/redirect-in");
    expect(within.status).toBe(302);
    expect(within.headers.get("location")).toBe("/api/v1/proxy/echo/other?x=1");
  });
});

describe("refresh, consent and audit", () => {
  it("an upstream 401 for a token Frontdesk thought valid triggers one forced refresh and one retry", async () => {
    const { saveGrant } = await import("@/lib/grants/save");
    const minted = await bed.upstream.mintTokens({ accountId: "bob", scope: "notes:read" });
    upstreamSecrets.push(minted.accessToken, minted.refreshToken);
    // The stored access token is one the upstream never issued (as if revoked there); the refresh token is real.
    const { grantId } = await saveGrant({
      userId: bed.users.bob,
      providerId: bed.providerId,
      scopes: ["notes:read"],
      credential: { kind: "oauth", accessToken: "revoked-upstream-0123456789", refreshToken: minted.refreshToken, expiresAt: new Date(Date.now() + 3600_000) },
    });
    await approveGateways(grantId, bed.users.bob, [bed.basic.id, bed.post.id, bed.jwt.id, bed.trusted.id]);
    const bobToken = await bed.idp.signSubjectToken({ sub: bed.idp.users.bob.sub, aud: SUBJECT_AUDIENCE });
    const refreshes = bed.upstream.stats.refreshRequests;
    const res = await proxyRequest("notes", "/notes", { scopes: "notes:read", subject: bobToken });
    expect(res.status).toBe(200);
    expect((await res.json()).owner).toBe("bob");
    expect(bed.upstream.stats.refreshRequests).toBe(refreshes + 1);
    const retried = (await auditRows("proxy")).filter((r) => (r.context as { retryAfterUpstream401?: boolean }).retryAfterUpstream401);
    expect(retried).toHaveLength(1);
  });

  it("consent needed: the same MCP-ready 403 body as resolve", async () => {
    const { getDb } = await import("@/lib/db/client");
    const db = await getDb();
    await db.grant.deleteMany({ where: { userId: bed.users.bob, providerId: bed.providerId } });
    const bobToken = await bed.idp.signSubjectToken({ sub: bed.idp.users.bob.sub, aud: SUBJECT_AUDIENCE });
    const res = await proxyRequest("notes", "/notes", { scopes: "notes:read", subject: bobToken });
    expect(res.status).toBe(403);
    const body = await res.json();
    expect(body.error.code).toBe(-32042);
    expect(body.error.data.elicitations[0]).toMatchObject({ mode: "url", url: expect.stringContaining("/connect/") });
  });

  it("audits each call with method, host, path template, status, bytes and duration, never query values, bodies or tokens", async () => {
    const res = await proxyRequest("notes", "/notes?search=hunter2-query-value", { scopes: "notes:read" });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    // The outcome row is written when the stream ends, after the response was handed over.
    const completed = await vi.waitFor(async () => {
      const row = (await auditRows("egress.completed")).find((r) => (r.context as { grantId?: string }).grantId && r.requestId === res.headers.get("x-request-id"));
      if (!row) throw new Error("not yet");
      return row;
    });
    expect(completed.context).toMatchObject({
      method: "GET",
      host: new URL(bed.upstream.apiUrl).host,
      pathTemplate: "/notes",
      status: 200,
      bytesOut: expect.any(Number),
      durationMs: expect.any(Number),
    });
    expect((completed.context as { bytesOut: number }).bytesOut).toBeGreaterThan(0);
    const all = JSON.stringify(await auditRows(), (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));
    expect(all).not.toContain("hunter2-query-value");
    expect(all).not.toContain("written through Frontdesk");
    for (const secret of upstreamSecrets) expect(all).not.toContain(secret);
  });
});
