// Child servers for the benchmark, each in its own process group (so RSS is measured over every
// process a server consists of, and stop() ends all of them), plus /proc readings.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Sum of VmRSS over every process whose process group is `pgid` (Linux /proc). */
export function groupRssBytes(pgid: number): number {
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the parenthesized command name: state ppid pgrp ...
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== pgid) continue;
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
      if (kb) total += Number(kb) * 1024;
    } catch {
      // the process ended while we looked
    }
  }
  return total;
}

interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /** cutime + cstime: CPU of children that have exited and been waited for. */
  childTicks: number;
}

function readStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.push({ pid: Number(entry), ppid: Number(f[1]), pgrp: Number(f[2]), cpuTicks: Number(f[11]) + Number(f[12]), childTicks: Number(f[13]) + Number(f[14]) });
    } catch {
      // ended while we looked
    }
  }
  return out;
}

// USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK).
const TICKS_PER_SECOND = 100;

/** CPU seconds used so far by the processes of a process group. */
export function groupCpuSeconds(pgid: number): number {
  return readStats().filter((p) => p.pgrp === pgid).reduce((sum, p) => sum + p.cpuTicks, 0) / TICKS_PER_SECOND;
}

/**
 * CPU seconds used so far by a process and its children, live or exited (PostgreSQL's postmaster
 * and its backends, which come and go with connections).
 */
export function treeCpuSeconds(pid: number): number {
  const ticks = readStats().reduce((sum, p) => {
    if (p.pid === pid) return sum + p.cpuTicks + p.childTicks;
    return p.ppid === pid ? sum + p.cpuTicks : sum;
  }, 0);
  return ticks / TICKS_PER_SECOND;
}

/**
 * The processes of a process group, or of a process and its children (PostgreSQL's postmaster and
 * its backends), as they are now: for cpuMsOfThreads during a short scenario.
 */
export function pidsOf(which: { group: number } | { tree: number }): number[] {
  return readStats()
    .filter((p) => ("group" in which ? p.pgrp === which.group : p.pid === which.tree || p.ppid === which.tree))
    .map((p) => p.pid);
}

/**
 * CPU time so far of every thread of `pids`, in ms, from /proc/<pid>/task/<tid>/schedstat
 * (nanoseconds on a CPU): fine enough for windows of tens of milliseconds, where /proc/<pid>/stat
 * counts in 10 ms ticks. A process that ended meanwhile counts zero.
 */
export function cpuMsOfThreads(pids: readonly number[]): number {
  return cpuMsOfThreadsNamed(pids, (pid) => readdirSync(`/proc/${pid}/task`));
}

/**
 * CPU time so far of the main thread of each of `pids`, in ms: a Node process's event loop, which
 * bounds what one instance can serve (its other threads are GC, the threadpool and the compiler).
 */
export function mainThreadCpuMs(pids: readonly number[]): number {
  return cpuMsOfThreadsNamed(pids, (pid) => [pid]);
}

function cpuMsOfThreadsNamed(pids: readonly number[], threadsOf: (pid: number) => (number | string)[]): number {
  let ns = 0;
  for (const pid of pids) {
    try {
      for (const tid of threadsOf(pid)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // ended while we looked
    }
  }
  return ns / 1e6;
}

/**
 * The machine's idle, stolen (by the hypervisor, for other guests) and total CPU time so far (all
 * cores, clock ticks), from /proc/stat.
 */
export function machineCpuTicks(): { idle: number; steal: number; total: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is inside user.
  return { idle: (fields[3] ?? 0) + (fields[4] ?? 0), steal: fields[7] ?? 0, total: fields.slice(0, 8).reduce((a, b) => a + b, 0) };
}

/** 1-minute load average. */
export function loadAverage(): number {
  return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
}

export interface ChildServer {
  pid: number;
  url: string;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts `command args` detached (own process group) and waits until `readyPath` on `url`
 * answers 200.
 */
export async function startChildServer(opts: {
  command: string;
  args: string[];
  env: Record<string, string>;
  url: string;
  readyPath: string;
  timeoutMs?: number;
}): Promise<ChildServer> {
  const child = spawn(opts.command, opts.args, { env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child.stderr.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  let exited = false;
  child.on("exit", () => (exited = true));
  const pid = child.pid!;
  const stop = async () => {
    if (exited) return;
    const done = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      process.kill(-pid, "SIGTERM");
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // gone
      }
    }, 5_000);
    await done;
    clearTimeout(timer);
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${opts.command} exited during start-up:\n${output}`);
    try {
      const res = await fetch(`${opts.url}${opts.readyPath}`);
      await res.arrayBuffer();
      if (res.status === 200) return { pid, url: opts.url, logs: () => output, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`${opts.command} did not become ready:\n${output}`);
}
