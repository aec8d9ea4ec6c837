import type { ReactNode } from "react";

export function Card({ title, children, headingLevel = 1 }: { title: ReactNode; children: ReactNode; headingLevel?: 1 | 2 }) {
  const Heading = headingLevel === 1 ? "h1" : "h2";
  return (
    <section className="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
      <Heading className={headingLevel === 1 ? "text-2xl font-semibold tracking-tight" : "text-lg font-semibold"}>{title}</Heading>
      <div className="mt-4 space-y-4 text-slate-700">{children}</div>
    </section>
  );
}
