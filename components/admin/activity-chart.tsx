// Resolves and elicitations over time as stacked bars (SVG, no client JavaScript), with a
// data table fallback for screen readers.
import type { ActivityPoint } from "@/lib/admin/overview";

const series = [
  { key: "resolvesAllowed", label: "Resolves allowed", color: "#059669" },
  { key: "resolvesElicited", label: "Consent needed", color: "#0284c7" },
  { key: "resolvesDenied", label: "Resolves denied", color: "#dc2626" },
] as const;

export function ActivityChart({ points, bucket }: { points: ActivityPoint[]; bucket: "hour" | "day" }) {
  const max = Math.max(1, ...points.map((p) => p.resolvesAllowed + p.resolvesDenied + p.resolvesElicited));
  const width = 720;
  const height = 160;
  const barWidth = width / points.length;
  const labelEvery = Math.ceil(points.length / 8);
  const label = (iso: string) => (bucket === "hour" ? iso.slice(11, 16) : iso.slice(5, 10));
  const totals = points.reduce(
    (t, p) => ({
      allowed: t.allowed + p.resolvesAllowed,
      denied: t.denied + p.resolvesDenied,
      elicited: t.elicited + p.resolvesElicited,
      completed: t.completed + p.elicitationsCompleted,
      unsuccessful: t.unsuccessful + p.elicitationsUnsuccessful,
    }),
    { allowed: 0, denied: 0, elicited: 0, completed: 0, unsuccessful: 0 },
  );
  return (
    <figure className="space-y-3">
      {/* The bars stretch to the card's width (preserveAspectRatio none); the labels are HTML, so they keep their shape. */}
      <svg
        viewBox={`0 0 ${width} ${height}`}
        preserveAspectRatio="none"
        className="h-48 w-full"
        role="img"
        aria-label={`Resolves per ${bucket}: ${totals.allowed} allowed, ${totals.elicited} needed consent, ${totals.denied} denied`}
      >
        {points.map((p, i) => {
          let y = height;
          return (
            <g key={p.start}>
              <title>{`${p.start}: ${p.resolvesAllowed} allowed, ${p.resolvesElicited} consent needed, ${p.resolvesDenied} denied; elicitations ${p.elicitationsCompleted} completed, ${p.elicitationsUnsuccessful} unsuccessful`}</title>
              {series.map((s) => {
                const h = (p[s.key] / max) * height;
                y -= h;
                return h > 0 ? <rect key={s.key} x={i * barWidth + 1} y={y} width={Math.max(1, barWidth - 2)} height={h} fill={s.color} /> : null;
              })}
            </g>
          );
        })}
      </svg>
      <div className="relative h-4 text-[10px] text-slate-600" aria-hidden>
        {points.map((p, i) =>
          i % labelEvery === 0 ? (
            <span key={p.start} className="absolute" style={{ left: `${(i / points.length) * 100}%` }}>
              {label(p.start)}
            </span>
          ) : null,
        )}
      </div>
      <figcaption className="flex flex-wrap gap-4 text-xs text-slate-700">
        {series.map((s) => (
          <span key={s.key} className="inline-flex items-center gap-1">
            <span className="inline-block h-3 w-3 rounded-sm" style={{ background: s.color }} aria-hidden />
            {s.label}
          </span>
        ))}
        <span>
          Elicitations: {totals.completed} completed, {totals.unsuccessful} declined/expired/refused (UTC, peak {max} per {bucket})
        </span>
      </figcaption>
    </figure>
  );
}
