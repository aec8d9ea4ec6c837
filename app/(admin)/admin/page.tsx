// /admin - overview: counts, activity over time (allowed vs denied), what needs attention.
import type { Metadata } from "next";
import Link from "next/link";
import { ActivityChart } from "@/components/admin/activity-chart";
import { Stat } from "@/components/admin/stat";
import { Badge, When } from "@/components/admin/table";
import { requireAdminPage } from "@/lib/admin/guard";
import { getActivitySeries, getOverviewCounts, getRecentProblems, type Bucket } from "@/lib/admin/overview";
import { loadAuditNames } from "@/lib/admin/audit-log";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Overview" };

export default async function OverviewPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requireAdminPage("/admin");
  const bucket: Bucket = (await searchParams).bucket === "day" ? "day" : "hour";
  const [counts, series, problems] = await Promise.all([getOverviewCounts(), getActivitySeries(bucket), getRecentProblems()]);
  const names = await loadAuditNames([...problems.denied, ...problems.refreshFailures]);
  return (
    <>
      <h1 className="text-2xl font-semibold tracking-tight [overflow-wrap:anywhere]">Overview</h1>
      <dl className="grid grid-cols-2 gap-4 md:grid-cols-3 lg:grid-cols-6">
        <Stat label="Users" value={counts.users} />
        <Stat label="Active connections" value={counts.activeGrants} href="/admin/connections?status=active" />
        <Stat label="Need re-authorization" value={counts.needsReauthGrants} href="/admin/connections?status=needs_reauth" tone="warning" />
        <Stat label="Pending elicitations" value={counts.pendingElicitations} />
        <Stat label="Active gateways" value={counts.activeGateways} href="/admin/gateways" />
        <Stat label="Active providers" value={counts.providers} href="/admin/providers" />
      </dl>

      <section className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm" aria-labelledby="activity">
        <div className="flex items-center justify-between">
          <h2 id="activity" className="text-lg font-semibold">
            Resolves and elicitations, last {bucket === "hour" ? "48 hours" : "30 days"}
          </h2>
          <nav aria-label="Time buckets" className="flex gap-2 text-sm">
            <Link href="/admin" aria-current={bucket === "hour" ? "page" : undefined} className={bucket === "hour" ? "font-semibold underline" : "hover:underline"}>
              By hour
            </Link>
            <Link href="/admin?bucket=day" aria-current={bucket === "day" ? "page" : undefined} className={bucket === "day" ? "font-semibold underline" : "hover:underline"}>
              By day
            </Link>
          </nav>
        </div>
        <ActivityChart points={series} bucket={bucket} />
      </section>

      <div className="grid gap-6 lg:grid-cols-3">
        <section className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm" aria-labelledby="denied">
          <h2 id="denied" className="font-semibold">
            Recent denied requests
          </h2>
          <ul className="mt-3 space-y-2 text-sm">
            {problems.denied.length === 0 ? <li className="text-slate-500">None.</li> : null}
            {problems.denied.map((e) => (
              <li key={e.seq.toString()}>
                <Link href={`/admin/audit/${e.seq}`} className="hover:underline">
                  <When value={e.at} /> <Badge value="deny" /> {e.action} {e.reason ? <span className="text-slate-600">({e.reason})</span> : null}
                  {e.userId ? <span className="text-slate-600"> · {names.users.get(e.userId) ?? e.userId}</span> : null}
                </Link>
              </li>
            ))}
          </ul>
          <Link href="/admin/audit?decision=deny" className="mt-3 inline-block text-sm text-slate-700 underline">
            All denials
          </Link>
        </section>
        <section className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm" aria-labelledby="refresh">
          <h2 id="refresh" className="font-semibold">
            Refresh failures
          </h2>
          <ul className="mt-3 space-y-2 text-sm">
            {problems.refreshFailures.length === 0 ? <li className="text-slate-500">None.</li> : null}
            {problems.refreshFailures.map((e) => (
              <li key={e.seq.toString()}>
                <Link href={`/admin/audit/${e.seq}`} className="hover:underline">
                  <When value={e.at} /> {e.action} {e.reason ? <span className="text-slate-600">({e.reason})</span> : null}
                  {e.providerId ? <span className="text-slate-600"> · {names.providers.get(e.providerId) ?? e.providerId}</span> : null}
                </Link>
              </li>
            ))}
          </ul>
        </section>
        <section className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm" aria-labelledby="reauth">
          <h2 id="reauth" className="font-semibold">
            Connections needing re-authorization
          </h2>
          <ul className="mt-3 space-y-2 text-sm">
            {problems.needsReauth.length === 0 ? <li className="text-slate-500">None.</li> : null}
            {problems.needsReauth.map((g) => (
              <li key={g.id}>
                {g.user.email ?? g.user.name ?? g.userId} · {g.provider.displayName} · since <When value={g.updatedAt} />
              </li>
            ))}
          </ul>
        </section>
      </div>
    </>
  );
}
