// The benchmark's results: one object, printed as a table, written as JSON (gitignored) and as a
// markdown summary (bench/results/latest.md) that the README can quote.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { LoadResult } from "./load";
import type { OpenLoopResult } from "./open-loop";

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  os: string;
  postgres: string;
  loadAverageBefore: number;
  loadAverageAfter?: number;
  /** Share of the machine's CPU time the hypervisor gave other guests during the run (/proc/stat steal). */
  stealPercent?: number;
}

export interface StormResult {
  instances: number;
  requests: number;
  upstreamDelayMs: number;
  /** A direct refresh_token call to the upstream with the same delay, ms. */
  upstreamLatencyMs: number;
  upstreamRefreshCalls: number;
  statuses: Record<string, number>;
  distinctTokens: number;
  /** From the first request sent: when the upstream got the refresh call, when it issued the tokens. */
  upstreamCalledMs: number;
  upstreamIssuedMs: number;
  /** From the first request sent to the first, the middle and the last response, ms. */
  firstAnsweredMs: number;
  medianAnsweredMs: number;
  allAnsweredMs: number;
  /** allAnsweredMs minus upstreamLatencyMs: what Frontdesk adds. */
  overheadMs: number;
  /**
   * CPU ms used from the first request sent until the upstream issued the tokens (`before`) and
   * from then until the last answer (`after`), per party: this process (the load generator, with
   * the upstream and the IdP in it), each instance, PostgreSQL. `after` over the machine's cores
   * is the least time that phase can take with that much work.
   */
  cpu: { cores: number; before: StormCpu; after: StormCpu } | null;
}

export interface StormCpu {
  loadGenerator: number;
  instanceA: number;
  instanceB: number;
  postgres: number;
  total: number;
}

export interface GrowthSide {
  grants: number;
  auditEvents: number;
  /** Distinct users whose subject tokens the run cycles through. */
  activeUsers: number;
  load: LoadResult;
}

export interface LongPollResult {
  samples: number;
  p50: number;
  p99: number;
  max: number;
  /** Wake-ups that returned another status than "completed". */
  errors: number;
}

export interface Target {
  name: string;
  target: string;
  actual: string;
  met: boolean;
}

export interface OpenLoopRow extends OpenLoopResult {
  /** What was loaded: Frontdesk's resolve or the bare baseline (b). */
  server: "resolve" | "(b)";
  fraction: number;
  /** Whose closed-loop maximum `fraction` is of. */
  of: "(b)" | "resolve";
}

export interface MemoryAfter {
  instance: string;
  rssMb: number;
  /** From prom-client's default metrics (nodejs_heap_size_used_bytes, ..._total_bytes, nodejs_external_memory_bytes); NaN if unreadable. */
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  settings: Record<string, number | string>;
  load: LoadResult[];
  ratios: Record<string, number>;
  storm: StormResult | null;
  /** p50/p99 ratios: large / small (same number of active users); `wide` has more active users on the large tables. */
  growth: { small: GrowthSide; large: GrowthSide; wide: GrowthSide; p50Ratio: number; p99Ratio: number } | null;
  longPoll: LongPollResult | null;
  /**
   * Fixed arrival rates: resolve and the bare baseline (b) at fractions of (b)'s closed-loop
   * maximum (the target's load, and (b)'s own latency there: the floor), resolve also at fractions
   * of its own maximum.
   */
  openLoop: OpenLoopRow[];
  /** Each instance when the run is over: RSS of its process group, and what V8 reports (metrics endpoint). */
  memoryAfter: MemoryAfter[];
  targets: Target[];
  notes: string[];
}

const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-");

function loadTable(rows: LoadResult[]): string[] {
  const lines = [
    "| scenario | conns | req/s | p50 ms | p99 ms | p99.9 ms | errors | server RSS MB | server CPU ms/req | server main thread ms/req | PostgreSQL CPU ms/req | machine idle % |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    lines.push(`| ${r.name} | ${r.connections} | ${int(r.rps)} | ${f(r.p50, 2)} | ${f(r.p99, 2)} | ${f(r.p999, 2)} | ${r.errors} | ${int(r.rssMb)} | ${f(r.serverCpuMs, 3)} | ${f(r.mainThreadCpuMs ?? NaN, 3)} | ${f(r.dbCpuMs, 3)} | ${f(r.machineIdlePercent ?? NaN, 0)} |`);
  }
  return lines;
}

/** (b) beside resolve at each of (b)'s fractions, then resolve at fractions of its own maximum. */
export function openLoopOrder(rows: OpenLoopRow[]): OpenLoopRow[] {
  const key = (r: OpenLoopRow) => [r.of === "(b)" ? 0 : 1, r.fraction, r.server === "(b)" ? 0 : 1];
  return [...rows].sort((x, y) => {
    const [kx, ky] = [key(x), key(y)];
    return kx[0]! - ky[0]! || kx[1]! - ky[1]! || kx[2]! - ky[2]!;
  });
}

function openLoopTable(rows: OpenLoopRow[]): string[] {
  if (rows.length === 0) return [];
  const lines = [
    "Open loop (fixed arrival rate; latency from when each request was due). (b) at the same rates is the floor: what this machine gives a bare server doing one SELECT and one INSERT.",
    "",
    "| scenario | offered req/s | achieved req/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | dropped | server RSS MB | server CPU ms/req | PostgreSQL CPU ms/req | server GC pauses ms/s | major GCs |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of openLoopOrder(rows)) {
    lines.push(
      `| ${r.name} | ${int(r.offeredRps)} | ${int(r.achievedRps)} | ${f(r.p50, 2)} | ${f(r.p99, 2)} | ${f(r.p999, 2)} | ${f(r.max, 1)} | ${r.errors} | ${r.dropped} | ${int(r.rssMb)} | ${f(r.serverCpuMs, 3)} | ${f(r.dbCpuMs, 3)} | ${f(r.gcPauseMsPerSecond, 1)} | ${int(r.majorGcs)} |`,
    );
  }
  lines.push("");
  return lines;
}

function memoryTable(rows: MemoryAfter[]): string[] {
  if (rows.length === 0) return [];
  const lines = [
    "",
    "Memory after the run (RSS of the process group; V8's figures from the instance's metrics endpoint; the rest of RSS is native: code, malloc arenas, stacks, and heap pages not yet returned):",
    "",
    "| instance | RSS MB | JS heap used MB | JS heap total MB | external MB | RSS - heap total - external MB |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  for (const m of rows) {
    lines.push(`| ${m.instance} | ${int(m.rssMb)} | ${int(m.heapUsedMb)} | ${int(m.heapTotalMb)} | ${int(m.externalMb)} | ${int(m.rssMb - m.heapTotalMb - m.externalMb)} |`);
  }
  return lines;
}

export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const out: string[] = [
    `Frontdesk benchmark, ${r.startedAt} (${((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 60000).toFixed(1)} min)`,
    "",
    `Machine: ${m.cpu}, ${m.cores} cores, ${f(m.memoryGb, 0)} GB, ${m.os}, Node ${m.node}; PostgreSQL: ${m.postgres}; ` +
      `load average ${f(m.loadAverageBefore, 2)} before, ${f(m.loadAverageAfter ?? NaN, 2)} after; CPU time stolen by the hypervisor during the run ${f(m.stealPercent ?? NaN, 1)}%. ` +
      `Load generator (autocannon) in the same machine, 127.0.0.1.`,
    "",
    ...loadTable(r.load),
    "",
    ...openLoopTable(r.openLoop ?? []),
    "| ratio | value |",
    "|---|---:|",
    ...Object.entries(r.ratios).map(([k, v]) => `| ${k} | ${f(v, 3)} |`),
  ];
  if (r.storm) {
    const s = r.storm;
    out.push(
      "",
      `Refresh storm: ${s.requests} concurrent resolves of one expired grant over ${s.instances} instances; upstream delay ${s.upstreamDelayMs} ms ` +
        `(direct refresh ${f(s.upstreamLatencyMs, 0)} ms); upstream refresh calls ${s.upstreamRefreshCalls}; statuses ${JSON.stringify(s.statuses)}; ` +
        `distinct tokens handed out ${s.distinctTokens}; upstream called after ${f(s.upstreamCalledMs, 0)} ms, tokens issued after ${f(s.upstreamIssuedMs, 0)} ms; first answer after ${f(s.firstAnsweredMs, 0)} ms, half after ${f(s.medianAnsweredMs, 0)} ms, ` +
        `all after ${f(s.allAnsweredMs, 0)} ms (upstream latency + ${f(s.overheadMs, 0)} ms).`,
    );
    if (s.cpu) {
      const c = (x: StormCpu) => `${f(x.total, 0)} ms (load generator ${f(x.loadGenerator, 0)}, instances ${f(x.instanceA, 0)} + ${f(x.instanceB, 0)}, PostgreSQL ${f(x.postgres, 0)})`;
      const afterWall = s.allAnsweredMs - s.upstreamIssuedMs;
      out.push(
        "",
        `Storm CPU on ${s.cpu.cores} cores: until the tokens were issued ${c(s.cpu.before)}; from then to the last answer (${f(afterWall, 0)} ms) ${c(s.cpu.after)}, ` +
          `${f(s.cpu.after.total / afterWall, 2)} cores busy on average, so that phase takes at least ${f(s.cpu.after.total / s.cpu.cores, 0)} ms with this much work.`,
      );
    }
  }
  if (r.growth) {
    const g = r.growth;
    const side = (s: GrowthSide) =>
      `${int(s.grants)} grants / ${int(s.auditEvents)} audit events / ${int(s.activeUsers)} active users: p50 ${f(s.load.p50, 2)} ms, p99 ${f(s.load.p99, 2)} ms, ` +
      `${int(s.load.rps)} req/s, CPU per request server ${f(s.load.serverCpuMs, 3)} ms, PostgreSQL ${f(s.load.dbCpuMs, 3)} ms`;
    out.push(
      "",
      `Growth: resolve with ${side(g.small)}; with ${side(g.large)}; ratio p50 ${f(g.p50Ratio, 2)}, p99 ${f(g.p99Ratio, 2)} (same active users, so the ratio is what the data size costs). ` +
        `With ${side(g.wide)} (p50 ${f(g.wide.load.p50 / g.small.load.p50, 2)}x the small run's: what more active users cost).`,
    );
  }
  out.push(...memoryTable(r.memoryAfter));
  if (r.longPoll) {
    const l = r.longPoll;
    out.push("", `Long-poll wake-up (completion in another process, poller on an instance): ${l.samples} samples, p50 ${f(l.p50, 0)} ms, p99 ${f(l.p99, 0)} ms, max ${f(l.max, 0)} ms, errors ${l.errors}.`);
  }
  out.push("", "| target | wanted | measured | met |", "|---|---|---|---|", ...r.targets.map((t) => `| ${t.name} | ${t.target} | ${t.actual} | ${t.met ? "yes" : "no"} |`));
  if (r.notes.length > 0) out.push("", ...r.notes.map((n) => `- ${n}`));
  return out.join("\n") + "\n";
}

export function writeResults(r: BenchResults, dir: string): { json: string; markdown: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = r.startedAt.replace(/[:.]/g, "-");
  const json = path.join(dir, `bench-${stamp}.json`);
  const markdown = path.join(dir, "latest.md");
  writeFileSync(json, JSON.stringify(r, null, 2));
  writeFileSync(markdown, renderMarkdown(r));
  return { json, markdown };
}
