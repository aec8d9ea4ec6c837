// The fault harness: two (or more) Frontdesk server processes (server.ts over the production
// build) on one real PostgreSQL, a real HAProxy in front with health checks, and a load generator
// that sends gateway traffic through HAProxy and records every outcome. Fault tests (rolling
// restart, key rotation, kill -9, brute force across instances, upstream faults) start one,
// inject their fault with restart()/instance().kill(), and read the figures from the load and
// from HAProxy's statistics.
import http from "node:http";
import { startFrontdesk, type FrontdeskServer } from "./frontdesk-server";
import { startHaproxy, type Haproxy } from "./haproxy";
import { freePort } from "./postgres-cluster";

export interface FaultHarness {
  proxy: Haproxy;
  /** Server names in HAProxy ("fd0", "fd1", ...), one per instance. */
  names: string[];
  instance(i: number): FrontdeskServer;
  /**
   * A rolling-restart step for one instance: SIGTERM (it drains), wait for the exit, start it again
   * on the same port with `env` merged over its previous environment, and wait until HAProxy's
   * health checks have put it back. Returns the phases' durations.
   */
  restart(i: number, env?: Record<string, string>): Promise<{ stopMs: number; startMs: number; backInRotationMs: number }>;
  stop(): Promise<void>;
}

export async function startFaultHarness(opts: { env: Record<string, string>; distDir: string; instances?: number }): Promise<FaultHarness> {
  const count = opts.instances ?? 2;
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  const names = ports.map((_, i) => `fd${i}`);
  const envs = ports.map(() => ({ ...opts.env }));
  const proxy = await startHaproxy(ports.map((port, i) => ({ name: names[i]!, port })));
  let servers: FrontdeskServer[];
  try {
    // FRONTDESK_URL is the load balancer's: that is the address gateways and browsers use.
    servers = await Promise.all(ports.map((port, i) => startFrontdesk({ env: { FRONTDESK_URL: proxy.url, ...envs[i]! }, distDir: opts.distDir, port })));
  } catch (e) {
    await proxy.stop();
    throw e;
  }
  await Promise.all(names.map((n) => proxy.waitForStatus(n, "UP")));
  return {
    proxy,
    names,
    instance: (i) => servers[i]!,
    async restart(i, env = {}) {
      const t0 = Date.now();
      // Generous: the drain delay plus in-flight requests; SIGKILL only ends a hang.
      await servers[i]!.stop({ killAfterMs: 60_000 });
      const t1 = Date.now();
      Object.assign(envs[i]!, env);
      servers[i] = await startFrontdesk({ env: { FRONTDESK_URL: proxy.url, ...envs[i]! }, distDir: opts.distDir, port: ports[i]! });
      const t2 = Date.now();
      await proxy.waitForStatus(names[i]!, "UP");
      return { stopMs: t1 - t0, startMs: t2 - t1, backInRotationMs: Date.now() - t2 };
    },
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
      await proxy.stop();
    },
  };
}

export interface LoadRequest {
  /** A label for the figures ("resolve", "token", ...). */
  kind: string;
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Statuses that count as served correctly (anything else, and any network error, is a failure). */
  expect: number[];
}

export interface LoadOutcome {
  kind: string;
  at: number;
  ms: number;
  status: number | null;
  /** Not answered with one of the request's expected statuses. */
  failed: boolean;
  /** A network-level failure (reset, refused, closed without a response). */
  error?: string;
  body?: string;
  /** Failures only: the Retry-After header, if any. */
  retryAfter?: string | null;
}

export interface Load {
  outcomes: LoadOutcome[];
  failures(): LoadOutcome[];
  /** Resolves once `n` more requests have been answered as expected (an event, not a sleep). */
  waitForSuccesses(n: number): Promise<void>;
  stop(): Promise<LoadSummary>;
}

export interface LoadSummary {
  total: number;
  failed: number;
  byKind: Record<string, Record<string, number>>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Keeps `lanes` requests in flight through `baseUrl` until stopped, each lane cycling through
 * `requests` (a function, so tokens can change over time). Keep-alive connections, as gateways
 * use them: a connection the server closes between requests is exactly the race a restart creates.
 */
export function startLoad(baseUrl: string, lanes: number, requests: () => LoadRequest[]): Load {
  const agent = new http.Agent({ keepAlive: true, maxSockets: lanes });
  const outcomes: LoadOutcome[] = [];
  let successes = 0;
  const waiters: { target: number; resolve: () => void }[] = [];
  let running = true;
  const url = new URL(baseUrl);

  const send = (r: LoadRequest) =>
    new Promise<LoadOutcome>((resolve) => {
      const started = Date.now();
      const req = http.request(
        { host: url.hostname, port: url.port, method: r.method, path: r.path, headers: r.headers, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            const failed = !r.expect.includes(status);
            // Bodies are kept only for failures (what went wrong), not for the thousands of successes.
            resolve({
              kind: r.kind,
              at: Date.now(),
              ms: Date.now() - started,
              status,
              failed,
              ...(failed ? { body: Buffer.concat(chunks).toString().slice(0, 500), retryAfter: (res.headers["retry-after"] as string | undefined) ?? null } : {}),
            });
          });
          res.on("error", (e) => resolve({ kind: r.kind, at: Date.now(), ms: Date.now() - started, status: null, failed: true, error: e.message }));
        },
      );
      req.on("error", (e) => resolve({ kind: r.kind, at: Date.now(), ms: Date.now() - started, status: null, failed: true, error: (e as NodeJS.ErrnoException).code ?? e.message }));
      req.end(r.body);
    });

  const lane = async (n: number) => {
    for (let i = n; running; i++) {
      const list = requests();
      const r = list[i % list.length]!;
      const outcome = await send(r);
      outcomes.push(outcome);
      if (outcome.failed) continue;
      successes++;
      for (const w of waiters.filter((w) => successes >= w.target)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const done = Promise.all(Array.from({ length: lanes }, (_, n) => lane(n)));
  const isFailure = (o: LoadOutcome) => o.failed;

  return {
    outcomes,
    failures: () => outcomes.filter(isFailure),
    waitForSuccesses(n) {
      return new Promise((resolve) => waiters.push({ target: successes + n, resolve }));
    },
    async stop() {
      running = false;
      await done;
      agent.destroy();
      const byKind: LoadSummary["byKind"] = {};
      for (const o of outcomes) {
        const k = (byKind[o.kind] ??= {});
        const key = o.status === null ? `error:${o.error}` : String(o.status);
        k[key] = (k[key] ?? 0) + 1;
      }
      const ms = outcomes.map((o) => o.ms).sort((a, b) => a - b);
      const pct = (p: number) => ms[Math.min(ms.length - 1, Math.floor((p / 100) * ms.length))] ?? 0;
      return { total: outcomes.length, failed: outcomes.filter(isFailure).length, byKind, p50Ms: pct(50), p99Ms: pct(99), maxMs: ms[ms.length - 1] ?? 0 };
    },
  };
}
