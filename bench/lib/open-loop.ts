// Open-loop load: requests are sent at a fixed arrival rate whatever the server does, each on
// any free keep-alive socket (a new one when all are busy), and each latency is measured from the
// moment the request was due, not from when it was actually written. So a server (or a load
// generator) that falls behind shows it in the percentiles instead of silently lowering the
// offered load (closed-loop "coordinated omission"). Reports the achieved rate next to the
// offered one: when they differ, the system could not keep up.
import http from "node:http";
import { percentile } from "./load";
import { groupCpuSeconds, groupRssBytes, treeCpuSeconds } from "./processes";

export interface OpenLoopScenario {
  name: string;
  /** http://127.0.0.1:port */
  url: string;
  ratePerSecond: number;
  durationSeconds: number;
  warmupSeconds: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Bodies sent in turn (e.g. one per user). */
  bodies: string[];
  expectStatus: number;
  serverGroup: number;
  databasePid: number | null;
  /** At most this many requests in flight; further arrivals are counted as dropped (an overload, not waited for). */
  maxInFlight?: number;
  /** The server's garbage-collection totals so far (its metrics endpoint), read around the measured phase. */
  serverGc?: () => Promise<GcTotals>;
}

export interface GcTotals {
  majorCount: number;
  /** Pauses of every kind (minor, major, incremental marking steps, weak callbacks). */
  pauseSeconds: number;
}

export interface OpenLoopResult {
  name: string;
  offeredRps: number;
  achievedRps: number;
  requests: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  errors: number;
  dropped: number;
  rssMb: number;
  serverCpuMs: number;
  dbCpuMs: number;
  /** Major (mark-compact) collections in the server during the measured phase; NaN without serverGc. */
  majorGcs: number;
  /** The server's GC pauses per second of the measured phase; NaN without serverGc. */
  gcPauseMsPerSecond: number;
}

interface Phase {
  latencies: number[];
  errors: number;
  dropped: number;
  completedAt: number;
}

function drive(s: OpenLoopScenario, agent: http.Agent, seconds: number): Promise<Phase> {
  const target = new URL(s.url);
  const total = Math.round(s.ratePerSecond * seconds);
  const interval = 1000 / s.ratePerSecond;
  const maxInFlight = s.maxInFlight ?? 2_000;
  const phase: Phase = { latencies: [], errors: 0, dropped: 0, completedAt: 0 };
  let sent = 0;
  let inFlight = 0;
  let settled = 0;
  return new Promise((resolve) => {
    const start = performance.now();
    const finish = () => {
      if (++settled === total) {
        phase.completedAt = performance.now();
        resolve(phase);
      }
    };
    const send = (due: number) => {
      if (inFlight >= maxInFlight) {
        phase.dropped++;
        return finish();
      }
      inFlight++;
      const body = s.bodies[sent % s.bodies.length]!;
      const req = http.request(
        { host: target.hostname, port: target.port, path: s.path, method: s.method, agent, headers: { ...s.headers, "content-length": Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on("end", () => {
            inFlight--;
            phase.latencies.push(performance.now() - due);
            if (res.statusCode !== s.expectStatus) phase.errors++;
            finish();
          });
        },
      );
      req.on("error", () => {
        inFlight--;
        phase.errors++;
        finish();
      });
      req.end(body);
    };
    // A 1 ms timer sends every request that has come due since the last tick (a busy loop would
    // take a core from the servers on this 2-core machine).
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) send(start + sent++ * interval);
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
}

export async function runOpenLoop(s: OpenLoopScenario): Promise<OpenLoopResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, keepAliveMsecs: 10_000 });
  try {
    if (s.warmupSeconds > 0) await drive(s, agent, s.warmupSeconds);
    let peak = groupRssBytes(s.serverGroup);
    const sampler = setInterval(() => (peak = Math.max(peak, groupRssBytes(s.serverGroup))), 250);
    const cpu0 = groupCpuSeconds(s.serverGroup);
    const db0 = s.databasePid ? treeCpuSeconds(s.databasePid) : NaN;
    const gc0 = await s.serverGc?.();
    const started = performance.now();
    let phase: Phase;
    try {
      phase = await drive(s, agent, s.durationSeconds);
    } finally {
      clearInterval(sampler);
    }
    const elapsed = (phase.completedAt - started) / 1000;
    const gc1 = await s.serverGc?.();
    const count = phase.latencies.length;
    const sorted = Float64Array.from(phase.latencies).sort();
    return {
      name: s.name,
      offeredRps: s.ratePerSecond,
      achievedRps: count / elapsed,
      requests: count,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      p999: percentile(sorted, 99.9),
      max: count > 0 ? sorted[count - 1]! : NaN,
      errors: phase.errors,
      dropped: phase.dropped,
      rssMb: Math.max(peak, groupRssBytes(s.serverGroup)) / 1e6,
      serverCpuMs: ((groupCpuSeconds(s.serverGroup) - cpu0) * 1000) / Math.max(1, count),
      dbCpuMs: s.databasePid ? ((treeCpuSeconds(s.databasePid) - db0) * 1000) / Math.max(1, count) : NaN,
      majorGcs: gc0 && gc1 ? gc1.majorCount - gc0.majorCount : NaN,
      gcPauseMsPerSecond: gc0 && gc1 ? ((gc1.pauseSeconds - gc0.pauseSeconds) * 1000) / elapsed : NaN,
    };
  } finally {
    agent.destroy();
  }
}
