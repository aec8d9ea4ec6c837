// The egress proxy through the production server (server.ts, as `npm start` runs it): a 150 MB
// upstream response streams through with bounded memory in the Frontdesk process, a client that
// stops reading does not stall anyone else, and the raw request target is what the proxy checks.
// Needs the production build (`npm test` makes it before the suites run).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import http, { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuild, startFrontdesk, type FrontdeskServer } from "../helpers/frontdesk-server";
import { approveGateways, basicAuth, gatewayEnv, startGatewayTestbed, SUBJECT_AUDIENCE, type GatewayTestbed } from "../helpers/gateway-testbed";
import { useTestDatabase } from "../helpers/test-db";

const databaseUrl = await useTestDatabase();
const DIST_DIR = process.env.FRONTDESK_DIST_DIR || ".next";
const BIG = 150 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

let bed: GatewayTestbed;
let frontdesk: FrontdeskServer;
let upstream: Server;
let upstreamHits = 0;
let userToken: string;
let gatewayAuth: string;

/** Serves /base/big (150 MB, written only as fast as the socket takes it) and /base/small. */
function startBulkUpstream(): Promise<number> {
  upstream = createServer((req, res) => {
    upstreamHits++;
    if (req.url === "/base/small") return void res.writeHead(200, { "content-type": "text/plain" }).end("small");
    if (req.url !== "/base/big") return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(BIG) });
    let sent = 0;
    const pump = () => {
      while (sent < BIG) {
        sent += CHUNK.length;
        if (!res.write(CHUNK)) return void res.once("drain", pump);
      }
      res.end();
    };
    pump();
  });
  return new Promise((resolve) => upstream.listen(0, "127.0.0.1", () => resolve((upstream.address() as { port: number }).port)));
}

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!;
  return Number(line.replace(/\D+/g, "")) * 1024;
}

function proxyGet(pathname: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port: frontdesk.port, path: pathname, headers: { authorization: gatewayAuth, "frontdesk-subject-token": userToken } }, resolve)
      .once("error", reject);
  });
}

beforeAll(async () => {
  ensureBuild(DIST_DIR);
  bed = await startGatewayTestbed();
  const port = await startBulkUpstream();
  const { createProvider } = await import("@/lib/providers/create");
  const { createPolicyRule } = await import("@/lib/policy/rules");
  const { saveGrant } = await import("@/lib/grants/save");
  const p = await createProvider({
    slug: "bulk",
    displayName: "Bulk",
    kind: "api_key",
    apiKeyHeader: "X-Api-Key",
    resourceUrls: [`http://127.0.0.1:${port}/base`],
    allowInsecureHttp: true,
    allowPrivateNetwork: true,
    requestRules: { "*": [{ methods: ["GET"], paths: ["/**"] }] },
  });
  await createPolicyRule({ providerId: p.id, gatewayId: bed.basic.id }, { type: "admin", id: "test" });
  await createPolicyRule({ providerId: p.id, gatewayId: null }, { type: "admin", id: "test" });
  const { grantId } = await saveGrant({ userId: bed.users.alice, providerId: p.id, scopes: [], credential: { kind: "api_key", apiKey: "bulk-key-0123456789" } });
  await approveGateways(grantId, bed.users.alice, [bed.basic.id]);
  const { FRONTDESK_URL: _own, ...shared } = gatewayEnv(bed.idp, bed.frontdeskUrl);
  frontdesk = await startFrontdesk({
    env: { ...shared, DATABASE_URL: databaseUrl, FRONTDESK_KEYS: process.env.FRONTDESK_KEYS!, AUTH_SECRET: randomBytes(32).toString("base64url"), LOG_LEVEL: "error" },
    distDir: DIST_DIR,
  });
  userToken = await bed.idp.signSubjectToken({ sub: bed.idp.users.alice.sub, aud: SUBJECT_AUDIENCE });
  gatewayAuth = basicAuth(bed.basic.id, bed.basic.secret!);
  // Warm the route (module loading, IdP key set, provider cache) before measuring.
  for (let i = 0; i < 3; i++) {
    const res = await proxyGet("/api/v1/proxy/bulk/small");
    res.resume();
    expect(res.statusCode).toBe(200);
  }
}, 600_000);

afterAll(async () => {
  await frontdesk?.stop();
  upstream?.close();
  await bed?.close();
});

describe("streaming through server.ts", () => {
  it("a 150 MB upstream response reaches a slow client completely while Frontdesk's memory stays bounded", async () => {
    const before = rssBytes(frontdesk.pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(frontdesk.pid))), 50);
    const res = await proxyGet("/api/v1/proxy/bulk/big");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-length"]).toBe(String(BIG));
    // A slow reader: after each megabyte, stop reading for 40 ms.
    const received = await new Promise<number>((resolve, reject) => {
      let bytes = 0;
      let nextPause = 1024 * 1024;
      res.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes >= nextPause) {
          nextPause += 1024 * 1024;
          res.pause();
          setTimeout(() => res.resume(), 40);
        }
      });
      res.once("end", () => resolve(bytes));
      res.once("error", reject);
    });
    clearInterval(sampler);
    expect(received).toBe(BIG);
    console.info(`egress streaming: 150 MB through a slow client, Frontdesk RSS peak +${((peak - before) / 1048576).toFixed(1)} MB`);
    // Buffering the body would add at least its 150 MB; streaming holds a few 64 KB chunks. The
    // margin is V8's young generation, which fills with spent chunks before a scavenge (20 to
    // 41 MB measured on 2 loaded cores: a 40 MB bound over a 50 MB body failed once in CI), so
    // the body is three times the bound and the bound twice the largest margin seen.
    expect(peak - before).toBeLessThan(100 * 1024 * 1024);
  }, 180_000);

  it("a client that stops reading does not stall other requests, and holds no growing buffer", async () => {
    const stalled = await proxyGet("/api/v1/proxy/bulk/big");
    expect(stalled.statusCode).toBe(200);
    stalled.pause();
    const before = rssBytes(frontdesk.pid);
    const started = Date.now();
    const others = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const res = await proxyGet("/api/v1/proxy/bulk/small");
        let text = "";
        for await (const c of res) text += String(c);
        return { status: res.statusCode, text };
      }),
    );
    const elapsed = Date.now() - started;
    expect(others.every((o) => o.status === 200 && o.text === "small")).toBe(true);
    const health = await fetch(`http://127.0.0.1:${frontdesk.port}/api/health`);
    expect(health.status).toBe(200);
    // Generous: only a hang fails this (the requests above do not queue behind the stalled one).
    expect(elapsed).toBeLessThan(30_000);
    expect(rssBytes(frontdesk.pid) - before).toBeLessThan(40 * 1024 * 1024);
    stalled.destroy();
  }, 120_000);

  it("the raw request target is checked: a dot segment never reaches the upstream", async () => {
    const hits = upstreamHits;
    for (const target of ["/api/v1/proxy/bulk/../../../base/small", "/api/v1/proxy/bulk/a/%2e%2e/small", "/api/v1/proxy/bulk//127.0.0.1/small"]) {
      const status = await new Promise<number>((resolve, reject) => {
        http
          .get({ host: "127.0.0.1", port: frontdesk.port, path: target, headers: { authorization: gatewayAuth, "frontdesk-subject-token": userToken } }, (res) => {
            res.resume();
            resolve(res.statusCode!);
          })
          .once("error", reject);
      });
      expect(status, target).toBe(400);
    }
    expect(upstreamHits).toBe(hits);
  });
});
