// Egress proxy benchmark (part of `npm run bench`, BENCH_ONLY=egress): the same small and 1 MiB
// GETs sent (1) straight to an upstream, (2) through a bare node:http reverse proxy, and (3)
// through Frontdesk's egress proxy (gateway auth, subject token, request rules, resolve with
// audit, pinned connection, streamed body), all in one run on the same machine. Overhead is
// reported as p50 latency added per request at one connection (Frontdesk minus direct), and
// throughput as req/s at the usual connection count (Frontdesk / baseline proxy).
import path from "node:path";
import { runLoad, type LoadResult } from "./lib/load";
import { startChildServer } from "./lib/processes";
import type { BenchResults } from "./lib/report";

export interface EgressBenchInput {
  frontdesk: { port: number; pid: number };
  gatewayAuthorization: string;
  gatewayIds: string[];
  /** Subject tokens of users 0..n-1 and their user ids. */
  users: { token: string; userId: string }[];
  load: { durationSeconds: number; warmupSeconds: number; connections: number };
  results: BenchResults;
  log: (msg: string) => void;
  cleanups: (() => Promise<void> | void)[];
}

export async function measureEgress(input: EgressBenchInput): Promise<void> {
  const { freePort } = await import("@/tests/helpers/postgres-cluster");
  const upstreamPort = await freePort();
  const upstream = await startChildServer({
    command: process.execPath,
    args: ["--import", "tsx", path.join("bench", "egress-servers.ts"), "upstream", String(upstreamPort)],
    env: {},
    url: `http://127.0.0.1:${upstreamPort}`,
    readyPath: "/ready",
  });
  input.cleanups.push(() => upstream.stop());
  const baselinePort = await freePort();
  const baseline = await startChildServer({
    command: process.execPath,
    args: ["--import", "tsx", path.join("bench", "egress-servers.ts"), "baseline", String(baselinePort), String(upstreamPort)],
    env: {},
    url: `http://127.0.0.1:${baselinePort}`,
    readyPath: "/ready",
  });
  input.cleanups.push(() => baseline.stop());

  // A provider for the upstream, reachable on loopback, GETs allowed for any caller; a grant per user.
  const { createProvider } = await import("@/lib/providers/create");
  const { createPolicyRule } = await import("@/lib/policy/rules");
  const { saveGrant } = await import("@/lib/grants/save");
  const { approveGateways } = await import("@/tests/helpers/gateway-testbed");
  const provider = await createProvider({
    slug: "bench-egress",
    displayName: "Bench egress upstream",
    kind: "api_key",
    apiKeyHeader: "Authorization",
    apiKeyPrefix: "Bearer ",
    resourceUrls: [`http://127.0.0.1:${upstreamPort}/`],
    allowInsecureHttp: true,
    allowPrivateNetwork: true,
    requestRules: { "*": [{ methods: ["GET"], paths: ["/small", "/large"] }] },
  });
  for (const gatewayId of [...input.gatewayIds, null]) await createPolicyRule({ providerId: provider.id, gatewayId }, { type: "admin", id: "bench" });
  for (const [i, u] of input.users.entries()) {
    const { grantId } = await saveGrant({ userId: u.userId, providerId: provider.id, scopes: [], credential: { kind: "api_key", apiKey: `bench-egress-key-${i}-0123456789` } });
    await approveGateways(grantId, u.userId, input.gatewayIds);
  }

  const frontdeskUrl = `http://127.0.0.1:${input.frontdesk.port}`;
  const viaFrontdesk = (p: string) =>
    input.users.map((u) => ({ method: "GET", path: `/api/v1/proxy/bench-egress${p}`, headers: { authorization: input.gatewayAuthorization, "frontdesk-subject-token": u.token } }));
  const warm = await fetch(`${frontdeskUrl}/api/v1/proxy/bench-egress/small`, { headers: viaFrontdesk("/small")[0]!.headers });
  if (warm.status !== 200) throw new Error(`egress warm-up failed: ${warm.status} ${await warm.text()}`);

  const rows: Record<string, LoadResult> = {};
  for (const size of ["small", "large"] as const) {
    const label = size === "small" ? "small" : "1 MiB";
    for (const [key, name, url, pid, requests] of [
      ["direct", `egress ${label}: direct to the upstream`, upstream.url, upstream.pid, [{ method: "GET", path: `/${size}` }]],
      ["baseline", `egress ${label}: bare node:http reverse proxy`, baseline.url, baseline.pid, [{ method: "GET", path: `/${size}` }]],
      ["frontdesk", `egress ${label}: Frontdesk egress proxy`, frontdeskUrl, input.frontdesk.pid, viaFrontdesk(`/${size}`)],
    ] as const) {
      for (const connections of [1, input.load.connections]) {
        input.log(`${name}, ${connections} connection(s)`);
        const result = await runLoad({
          ...input.load,
          connections,
          name: `${name}${connections === 1 ? ", 1 connection" : ""}`,
          url,
          serverGroup: pid,
          expectStatus: 200,
          requests: [...requests],
        });
        input.results.load.push(result);
        rows[`${key}:${size}:${connections}`] = result;
      }
    }
    const c = input.load.connections;
    const fd1 = rows[`frontdesk:${size}:1`]!;
    const direct1 = rows[`direct:${size}:1`]!;
    input.results.ratios[`egress ${label}: p50 ms added per request (Frontdesk - direct, 1 connection)`] = fd1.p50 - direct1.p50;
    input.results.ratios[`egress ${label}: req/s Frontdesk / bare reverse proxy (${c} connections)`] = rows[`frontdesk:${size}:${c}`]!.rps / rows[`baseline:${size}:${c}`]!.rps;
  }
}
