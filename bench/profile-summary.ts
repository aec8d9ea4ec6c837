// Summarizes a V8 CPU profile (BENCH_PROFILE=1 writes them to bench/results/profiles):
//   npx tsx bench/profile-summary.ts <file.cpuprofile> [top=30] [last-seconds] [skip-end-seconds]
// Self time per function and per package/folder, so the hot path's costs are visible. A profile
// covers the instance's whole life; `last-seconds` (optionally ending `skip-end-seconds` before the
// profile does) keeps one scenario's window, e.g. `... 40 10 1.5` for the token exchange of a
// BENCH_ONLY=exchange run (its timestamps are in the bench's log).
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg, lastArg, skipEndArg] = process.argv.slice(2);
if (!file) {
  console.error("usage: profile-summary.ts <file.cpuprofile> [top]");
  process.exit(2);
}
const top = Number(topArg ?? 30);
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
// Sample times (µs since the profile started) and the window kept.
const times: number[] = [];
profile.timeDeltas.reduce((t, d) => (times.push(t + d), t + d), 0);
const end = (times[times.length - 1] ?? 0) - Number(skipEndArg ?? 0) * 1e6;
const start = lastArg === undefined ? -Infinity : end - Number(lastArg) * 1e6;
// Idle time is not work: leave it out of the totals.
profile.samples.forEach((id, i) => {
  if (times[i]! < start || times[i]! > end) return;
  if (byId.get(id)?.callFrame.functionName === "(idle)") return;
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);

function area(url: string): string {
  if (!url) return "(native/v8)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm !== -1) {
    const rest = url.slice(nm + 13).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith("node:")) return url;
  const m = /\/(lib\/[^/]+|app|server\.ts|\.next[^/]*)/.exec(url);
  return m ? m[1]! : url;
}

const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
// Native frames (syscalls, GC, builtins) are charged to the nearest JavaScript caller's area.
function areaOf(id: number): string {
  let cur: number | undefined = id;
  while (cur !== undefined) {
    const url = byId.get(cur)!.callFrame.url;
    if (url) return area(url);
    cur = parent.get(cur);
  }
  return "(native/v8)";
}

const fns = new Map<string, number>();
const areas = new Map<string, number>();
for (const [id, t] of self) {
  const n = byId.get(id)!;
  const key = `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/^.*\/(node_modules|work\/main)\//, "")}:${n.callFrame.lineNumber + 1}`;
  fns.set(key, (fns.get(key) ?? 0) + t);
  const a = areaOf(id);
  areas.set(a, (areas.get(a) ?? 0) + t);
}
const pct = (t: number) => `${((t / total) * 100).toFixed(1).padStart(5)}%`;
console.log(`busy ${(total / 1e6).toFixed(1)} s (idle excluded)`);
console.log("\nby area:");
for (const [k, t] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`${pct(t)}  ${k}`);
console.log("\nby function (self):");
for (const [k, t] of [...fns].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`${pct(t)}  ${k}`);
