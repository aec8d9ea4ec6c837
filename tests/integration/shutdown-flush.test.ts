// What a server process holds in memory reaches its destination when it is stopped (SIGTERM,
// as an orchestrator does): the counts of unauthenticated failures added since the last 1 s
// flush (lib/audit/failure-windows.ts) and the spans its OTLP batch processor has not exported
// yet (it exports every 5 s). Before flushBeforeExit (lib/startup.ts) a drained server exited
// at once and both were lost. The process is the production server.ts on the suite's build;
// the collector end is a node:http listener decoding OTLP/HTTP JSON (the exporter's default
// encoding, @opentelemetry/exporter-trace-otlp-http's JsonTraceSerializer).
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { distDir, ensureBuild, startFrontdesk, type FrontdeskServer } from "../helpers/frontdesk-server";
import { basicAuth, gatewayEnv, startGatewayTestbed, SUBJECT_AUDIENCE, type GatewayTestbed } from "../helpers/gateway-testbed";
import { useTestDatabase } from "../helpers/test-db";

const databaseUrl = await useTestDatabase();
const DIST_DIR = distDir();
const FAILURES = 6;

interface OtlpSpan {
  name: string;
  attributes?: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}

let bed: GatewayTestbed;
let server: FrontdeskServer | undefined;
let collector: Server;
const exported: OtlpSpan[] = [];
const contentTypes = new Set<string>();

beforeAll(async () => {
  ensureBuild(DIST_DIR);
  bed = await startGatewayTestbed();
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      contentTypes.add(String(req.headers["content-type"]));
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const r of body.resourceSpans) for (const s of r.scopeSpans) exported.push(...s.spans);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
  const { FRONTDESK_URL: _ownUrl, ...shared } = gatewayEnv(bed.idp, bed.frontdeskUrl);
  server = await startFrontdesk({
    distDir: DIST_DIR,
    env: {
      ...shared,
      DATABASE_URL: databaseUrl,
      FRONTDESK_KEYS: process.env.FRONTDESK_KEYS!,
      AUTH_SECRET: randomBytes(32).toString("base64url"),
      LOG_LEVEL: "error",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`,
      // No load balancer to wait for: the listener closes at once, so the process exits well
      // within the 1 s failure-count flush and the 5 s span export it must not rely on.
      FRONTDESK_SHUTDOWN_DRAIN_MS: "0",
    },
  });
}, 600_000);

afterAll(async () => {
  await server?.stop();
  await new Promise((resolve) => collector?.close(resolve));
  await bed?.close();
});

async function failureCount(): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string | null }>(`SELECT sum(count)::text AS n FROM "AuditFailureWindow"`);
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

describe("stopping a server", () => {
  it("SIGTERM: the failure counts held in memory are written and the pending spans exported before the process exits 0", async () => {
    const running = server!;
    const subject_token = await bed.idp.signSubjectToken({ sub: bed.idp.users.alice.sub, aud: SUBJECT_AUDIENCE });
    const statuses: number[] = [];
    for (let i = 0; i < FAILURES; i++) {
      const res = await fetch(`http://127.0.0.1:${running.port}/api/v1/resolve`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: basicAuth(bed.basic.id, `fdgs_${"x".repeat(43)}`) },
        body: JSON.stringify({ subject_token, provider: "notes" }),
      });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses).toEqual(Array(FAILURES).fill(401));
    await running.stop({ killAfterMs: 30_000 });
    server = undefined;
    expect(await running.exited).toBe(0);

    // Every failure counted: the first one's upsert at once, the rest by the flush before exit.
    expect(await failureCount()).toBe(FAILURES);
    // One server span per request reached the collector, with its outcome, in OTLP/HTTP JSON.
    expect([...contentTypes]).toEqual(["application/json"]);
    const requestSpans = exported.filter((s) => s.name === "gateway.resolve");
    expect(requestSpans).toHaveLength(FAILURES);
    for (const span of requestSpans) {
      const status = span.attributes?.find((a) => a.key === "http.response.status_code")?.value.intValue;
      expect(Number(status)).toBe(401);
    }
  }, 300_000);
});
