// The branded "not found" page. Also what a non-admin sees at /admin: the dashboard's guard
// answers 404 rather than 403 so that it does not confirm what exists there.
import type { Metadata } from "next";
import Link from "next/link";
import { getViewer } from "@/lib/auth/session";

export const metadata: Metadata = { title: "Page not found" };

export default async function NotFound() {
  const viewer = await getViewer().catch(() => null);
  return (
    <main className="mx-auto max-w-xl px-6 py-16">
      <p className="text-sm font-semibold text-slate-600">Frontdesk</p>
      <section className="mt-4 rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
        <h1 className="text-2xl font-semibold tracking-tight [overflow-wrap:anywhere]">Page not found</h1>
        <p className="mt-3 text-slate-700">
          There is nothing here, or you do not have access to it. If you followed a link from your agent, open it again from
          there; links to requests expire after a few minutes.
        </p>
        <nav aria-label="Ways back" className="mt-6 flex flex-wrap gap-3 text-sm">
          <Link href="/" className="rounded-md bg-slate-900 px-4 py-2 font-medium text-white hover:bg-slate-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-slate-900">
            Frontdesk home
          </Link>
          {viewer ? (
            <Link href="/connections" className="rounded-md border border-slate-300 bg-white px-4 py-2 font-medium text-slate-900 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-slate-900">
              My connections
            </Link>
          ) : null}
        </nav>
      </section>
    </main>
  );
}
