// One load scenario: a short unrecorded warm-up, then a measured autocannon run at a fixed number
// of connections. Latencies are collected per response (fractional ms; autocannon's own
// histogram rounds to whole ms, too coarse for sub-millisecond baselines) and the server's RSS is
// sampled during the run. Nothing here fails on a figure: unexpected statuses and socket errors
// are counted and reported.
import autocannon, { type AutocannonRequest } from "autocannon";
import { groupCpuSeconds, groupRssBytes, machineCpuTicks, mainThreadCpuMs, pidsOf, treeCpuSeconds } from "./processes";

export interface LoadScenario {
  name: string;
  /** Base URL of the server under test (http://127.0.0.1:port). */
  url: string;
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  /** The request shape; `setupRequest` may vary the body per request. */
  requests: AutocannonRequest[];
  /** The status every response should have (anything else counts as an error). */
  expectStatus: number;
  /** Process group whose RSS is sampled (the server under test). */
  serverGroup: number;
  /** Stop after this many requests (e.g. when each needs a pre-signed, single-use assertion). */
  maxRequests?: number;
  /** Warm-up stops after this many requests. */
  maxWarmupRequests?: number;
  /** Called between the warm-up and the measured run (e.g. to reset database statistics). */
  beforeMeasure?: () => Promise<void>;
}

export interface LoadResult {
  name: string;
  connections: number;
  seconds: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** Socket errors, timeouts and responses with another status than expected. */
  errors: number;
  statuses: Record<string, number>;
  /** Peak RSS of the server's process group during the measured run, MB. */
  rssMb: number;
  /**
   * CPU time per request: the server's process group, and PostgreSQL (postmaster and backends;
   * NaN with an external database). Less sensitive to other load on the machine than req/s.
   */
  serverCpuMs: number;
  dbCpuMs: number;
  /**
   * CPU time per request of the server's main thread (its event loop: at 1,000 ms per second it is
   * saturated) and the machine's idle share during the run: together they tell an instance that is
   * out of CPU from one whose requests wait (optional: older result files lack them).
   */
  mainThreadCpuMs?: number;
  machineIdlePercent?: number;
}

let databasePid: number | null = null;

/** The postmaster's pid, so that PostgreSQL's CPU per request can be reported. */
export function setDatabasePid(pid: number | null): void {
  databasePid = pid;
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

interface RawRun {
  seconds: number;
  latencies: Float64Array;
  statuses: Record<string, number>;
  socketErrors: number;
}

function runOnce(url: string, connections: number, seconds: number, requests: AutocannonRequest[], amount?: number): Promise<RawRun> {
  let latencies = new Float64Array(1 << 16);
  let n = 0;
  const statuses: Record<string, number> = {};
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const instance = autocannon(
      // Not autocannon's `amount` (it disables the duration): the run stops at whichever comes first.
      { url, connections, duration: seconds, timeout: 30, requests },
      (err, result) => {
        if (err) return reject(err);
        resolve({
          seconds: (performance.now() - started) / 1000,
          latencies: latencies.subarray(0, n).sort(),
          statuses,
          socketErrors: result.errors,
        });
      },
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (n === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[n++] = responseTime;
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
      // Leave one request per connection in flight: they still have a body to send.
      if (amount !== undefined && n === amount - connections) instance.stop();
    });
  });
}

export async function runLoad(s: LoadScenario): Promise<LoadResult> {
  if (s.warmupSeconds > 0) await runOnce(s.url, s.connections, s.warmupSeconds, s.requests, s.maxWarmupRequests);
  await s.beforeMeasure?.();
  let peak = groupRssBytes(s.serverGroup);
  const sampler = setInterval(() => (peak = Math.max(peak, groupRssBytes(s.serverGroup))), 250);
  const cpu0 = groupCpuSeconds(s.serverGroup);
  const db0 = databasePid ? treeCpuSeconds(databasePid) : NaN;
  const serverPids = pidsOf({ group: s.serverGroup });
  const main0 = mainThreadCpuMs(serverPids);
  const machine0 = machineCpuTicks();
  let raw: RawRun;
  try {
    raw = await runOnce(s.url, s.connections, s.durationSeconds, s.requests, s.maxRequests);
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, groupRssBytes(s.serverGroup));
  const count = raw.latencies.length;
  const serverCpuMs = ((groupCpuSeconds(s.serverGroup) - cpu0) * 1000) / count;
  const dbCpuMs = databasePid ? ((treeCpuSeconds(databasePid) - db0) * 1000) / count : NaN;
  const machine1 = machineCpuTicks();
  const unexpected = Object.entries(raw.statuses).reduce((sum, [code, c]) => (Number(code) === s.expectStatus ? sum : sum + c), 0);
  return {
    name: s.name,
    connections: s.connections,
    seconds: raw.seconds,
    requests: count,
    rps: count / raw.seconds,
    p50: percentile(raw.latencies, 50),
    p99: percentile(raw.latencies, 99),
    p999: percentile(raw.latencies, 99.9),
    max: count > 0 ? raw.latencies[count - 1]! : NaN,
    errors: raw.socketErrors + unexpected,
    statuses: raw.statuses,
    rssMb: peak / 1e6,
    serverCpuMs,
    dbCpuMs,
    mainThreadCpuMs: (mainThreadCpuMs(serverPids) - main0) / count,
    machineIdlePercent: (100 * (machine1.idle - machine0.idle)) / Math.max(1, machine1.total - machine0.total),
  };
}

/** A request whose body cycles through `bodies` (e.g. one per user). */
export function cyclingBodies(base: Omit<AutocannonRequest, "body" | "setupRequest">, bodies: string[]): AutocannonRequest[] {
  let i = 0;
  return [{ ...base, body: bodies[0], setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }) }];
}

/** A request whose body is produced per request (e.g. with a single-use assertion). */
export function generatedBodies(base: Omit<AutocannonRequest, "body" | "setupRequest">, next: () => string): AutocannonRequest[] {
  return [{ ...base, body: "", setupRequest: (req) => ({ ...req, body: next() }) }];
}
