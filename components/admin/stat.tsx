import Link from "next/link";

export function Stat({ label, value, href, tone = "default" }: { label: string; value: number; href?: string; tone?: "default" | "warning" }) {
  const body = (
    <>
      <dt className="text-sm text-slate-600">{label}</dt>
      <dd className={`mt-1 text-2xl font-semibold ${tone === "warning" && value > 0 ? "text-amber-700" : "text-slate-900"}`}>{value.toLocaleString("en-US")}</dd>
    </>
  );
  return <div className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">{href ? <Link href={href} className="block hover:underline">{body}</Link> : body}</div>;
}
