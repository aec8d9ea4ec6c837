// The README's benchmark plot: resolve latency percentiles (p50, p99, p99.9; log scale) against
// the offered load of the open-loop runs (at fractions of (b)'s maximum and of resolve's own), the
// bare baseline (b)'s p99 at its rates (the floor), and the targets as dashed lines. Plain SVG, no
// dependencies; `npm run bench` writes it to bench/results/open-loop.svg, and
// `npx tsx bench/render.ts <results.json> --svg` renders it again from a results file.
import type { BenchResults } from "./report";

const W = 640;
const H = 360;
const M = { left: 64, right: 150, top: 40, bottom: 52 };
const SERIES = [
  { key: "p50", label: "p50", color: "#2563eb" },
  { key: "p99", label: "p99", color: "#d97706" },
  { key: "p999", label: "p99.9", color: "#dc2626" },
] as const;
const TARGETS = [
  { ms: 5, label: "p99 target 5 ms", color: "#d97706" },
  { ms: 20, label: "p99.9 target 20 ms", color: "#dc2626" },
];

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const FLOOR = { label: "(b) p99 (floor)", color: "#6b7280" };

export function renderOpenLoopSvg(r: BenchResults): string {
  const byRate = (rows: BenchResults["openLoop"]) => [...rows].sort((a, b) => a.offeredRps - b.offeredRps);
  const rows = byRate(r.openLoop.filter((o) => o.server === "resolve"));
  const floor = byRate(r.openLoop.filter((o) => o.server === "(b)")).filter((o) => Number.isFinite(o.p99) && o.p99 > 0);
  const xs = [...new Set([...rows, ...floor].map((o) => o.offeredRps))];
  const values = [...rows.flatMap((o) => SERIES.map((s) => o[s.key])), ...floor.map((o) => o.p99)].filter((v) => Number.isFinite(v) && v > 0);
  const xMax = Math.max(...xs) * 1.1;
  const yMin = Math.min(0.5, ...values);
  const yMax = Math.max(50, ...values) * 1.2;
  const lo = Math.log10(yMin);
  const hi = Math.log10(yMax);
  const px = (x: number) => M.left + (x / xMax) * (W - M.left - M.right);
  const py = (y: number) => H - M.bottom - ((Math.log10(y) - lo) / (hi - lo)) * (H - M.top - M.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${M.left}" y="22" font-size="14" font-weight="600">Resolve latency at a fixed arrival rate (open loop), ${esc(r.startedAt.slice(0, 10))}</text>`,
  ];
  // Grid: decades and 2/5 steps on the latency axis.
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v < yMin || v > yMax) continue;
      const y = py(v).toFixed(1);
      out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`);
      out.push(`<text x="${M.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#374151">${v >= 1 ? v : v.toFixed(1)}</text>`);
    }
  }
  for (const x of xs) {
    out.push(`<line x1="${px(x).toFixed(1)}" x2="${px(x).toFixed(1)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#f3f4f6"/>`);
    out.push(`<text x="${px(x).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle" fill="#374151">${Math.round(x)}</text>`);
  }
  out.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#6b7280"/>`);
  out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#6b7280"/>`);
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle" fill="#111827">offered load, req/s (25, 50, 75% of (b)'s maximum and of resolve's)</text>`);
  out.push(`<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle" fill="#111827">latency, ms (log)</text>`);
  for (const t of TARGETS) {
    if (t.ms < yMin || t.ms > yMax) continue;
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${py(t.ms).toFixed(1)}" y2="${py(t.ms).toFixed(1)}" stroke="${t.color}" stroke-dasharray="5 4" opacity="0.7"/>`);
    out.push(`<text x="${W - M.right + 6}" y="${py(t.ms).toFixed(1)}" dominant-baseline="middle" fill="${t.color}">${t.label}</text>`);
  }
  for (const s of SERIES) {
    const points = rows.filter((o) => Number.isFinite(o[s.key]) && o[s.key] > 0).map((o) => `${px(o.offeredRps).toFixed(1)},${py(o[s.key]).toFixed(1)}`);
    if (points.length === 0) continue;
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${points.join(" ")}"/>`);
    for (const p of points) {
      const [x, y] = p.split(",");
      out.push(`<circle cx="${x}" cy="${y}" r="3.5" fill="${s.color}"/>`);
    }
  }
  if (floor.length > 0) {
    const points = floor.map((o) => `${px(o.offeredRps).toFixed(1)},${py(o.p99).toFixed(1)}`);
    out.push(`<polyline fill="none" stroke="${FLOOR.color}" stroke-width="2" stroke-dasharray="2 3" points="${points.join(" ")}"/>`);
    for (const p of points) {
      const [x, y] = p.split(",");
      out.push(`<rect x="${Number(x) - 3}" y="${Number(y) - 3}" width="6" height="6" fill="${FLOOR.color}"/>`);
    }
  }
  const legend = [...SERIES.map((s) => ({ ...s, dash: "" })), ...(floor.length > 0 ? [{ ...FLOOR, dash: ' stroke-dasharray="2 3"' }] : [])];
  legend.forEach((s, i) => {
    const y = M.top + 10 + i * 18;
    out.push(`<line x1="${W - M.right + 6}" x2="${W - M.right + 26}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="2"${s.dash}/>`);
    out.push(`<text x="${W - M.right + 32}" y="${y}" dominant-baseline="middle">${s.label}</text>`);
  });
  // Achieved rate under each point when it fell short of the offered one (the server could not keep up).
  for (const o of rows) {
    if (o.achievedRps < o.offeredRps * 0.97) {
      out.push(`<text x="${px(o.offeredRps).toFixed(1)}" y="${H - M.bottom + 30}" text-anchor="middle" fill="#dc2626" font-size="11">achieved ${Math.round(o.achievedRps)}</text>`);
    }
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}
