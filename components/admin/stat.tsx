import Link from "next/link";

// One figure of the overview. dt/dd stay direct children of the card (a <dl> group may hold
// only those), so the link goes inside the value.
export function Stat({ label, value, href, tone = "default" }: { label: string; value: number; href?: string; tone?: "default" | "warning" }) {
  const figure = value.toLocaleString("en-US");
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <dt className="text-sm text-slate-600">{label}</dt>
      <dd className={`mt-1 text-2xl font-semibold ${tone === "warning" && value > 0 ? "text-amber-700" : "text-slate-900"}`}>
        {href ? (
          <Link href={href} className="underline decoration-slate-300 underline-offset-4 hover:decoration-slate-900">
            {figure}
          </Link>
        ) : (
          figure
        )}
      </dd>
    </div>
  );
}
