// /admin/audit - the audit log: filters in the URL, newest first with keyset pages, export of
// the filtered set (CSV, JSON Lines), and hash-chain verification on demand.
import type { Metadata } from "next";
import Link from "next/link";
import { Badge, DataTable, FilterBar, FilterInput, FilterSelect, hrefWith, Td, When } from "@/components/admin/table";
import { Alert } from "@/components/ui/alert";
import { KNOWN_ACTIONS, loadAuditNames, readAuditQuery, resolveAuditFilter } from "@/lib/admin/audit-log";
import { requireAdminPage } from "@/lib/admin/guard";
import { countAuditEvents, listAuditEvents, parseAuditSeq } from "@/lib/audit/query";
import { verifyAuditChain } from "@/lib/audit/verify";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Audit log" };

const PAGE_SIZE = 50;
type Params = Record<string, string | string[] | undefined>;
const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.trim() || undefined;

export default async function AuditPage({ searchParams }: { searchParams: Promise<Params> }) {
  await requireAdminPage("/admin/audit");
  const sp = await searchParams;
  const q = readAuditQuery(sp);
  const beforeRaw = one(sp.before);
  const before = parseAuditSeq(beforeRaw);
  const verify = one(sp.verify) === "1";
  const { filter, unmatched } = await resolveAuditFilter(q);
  const [page, total, chain] = await Promise.all([
    unmatched.length ? { events: [], nextCursor: null } : listAuditEvents({ ...filter, cursor: before, limit: PAGE_SIZE }),
    unmatched.length ? 0 : countAuditEvents(filter),
    verify ? verifyAuditChain() : null,
  ]);
  const names = await loadAuditNames(page.events);
  const query: Record<string, string | undefined> = { ...q };
  const exportHref = (format: string) => hrefWith("/api/admin/audit/export", query, { format });
  // The person an event is about: its user, or the user who acted (portal actions name only the actor).
  const subjectOf = (e: { userId: string | null; actorType: string; actorId: string | null }) => e.userId ?? (e.actorType === "user" ? e.actorId : null);
  const who = (actorType: string, actorId: string | null) =>
    actorId ? `${actorType} ${names.users.get(actorId) ?? names.gateways.get(actorId) ?? actorId}` : actorType;

  return (
    <>
      <div className="flex flex-wrap items-center justify-between gap-4">
        <h1 className="text-2xl font-semibold tracking-tight [overflow-wrap:anywhere]">Audit log</h1>
        <div className="flex gap-3 text-sm">
          <a href={exportHref("csv")} className="rounded-md border border-slate-300 bg-white px-3 py-1.5 hover:bg-slate-100" download>
            Export CSV
          </a>
          <a href={exportHref("jsonl")} className="rounded-md border border-slate-300 bg-white px-3 py-1.5 hover:bg-slate-100" download>
            Export JSON Lines
          </a>
          <Link href={hrefWith("/admin/audit", query, { verify: "1" })} title="Walks the whole chain: about 2 s per 100,000 events" className="rounded-md border border-slate-300 bg-white px-3 py-1.5 hover:bg-slate-100">
            Verify chain
          </Link>
        </div>
      </div>
      {chain ? (
        chain.ok ? (
          <Alert tone="success" title="Hash chain intact">
            All {chain.count.toLocaleString("en-US")} events verify: each hash matches its event and links to its predecessor.
          </Alert>
        ) : (
          <Alert tone="error" title={`Hash chain broken at event ${chain.firstBadSeq} (${chain.kind})`}>
            {chain.detail}. {chain.count.toLocaleString("en-US")} events before it verify.{" "}
            <Link className="underline" href={`/admin/audit/${chain.firstBadSeq}`}>
              Open the first broken event
            </Link>
          </Alert>
        )
      ) : null}
      <FilterBar path="/admin/audit">
        <FilterInput name="user" label="User (email or id)" defaultValue={q.user} />
        <FilterInput name="gateway" label="Gateway (name or id)" defaultValue={q.gateway} />
        <FilterInput name="agent" label="Agent (name, subject or id)" defaultValue={q.agent} />
        <FilterInput name="provider" label="Provider (slug or id)" defaultValue={q.provider} />
        <FilterInput name="action" label="Action" defaultValue={q.action} placeholder="resolve, grant.revoked…" suggestions={KNOWN_ACTIONS} />
        <FilterSelect name="decision" label="Decision" defaultValue={q.decision} options={["allow", "deny", "info"].map((d) => ({ value: d, label: d }))} />
        <FilterInput name="from" label="From (UTC)" type="datetime-local" defaultValue={q.from} />
        <FilterInput name="to" label="To (UTC)" type="datetime-local" defaultValue={q.to} />
      </FilterBar>
      {unmatched.length ? <Alert tone="warning">No {unmatched.join(", ")} matches that value, so no events match.</Alert> : null}
      <p className="text-sm text-slate-600" role="status">
        {total.toLocaleString("en-US")} matching event{total === 1 ? "" : "s"}
        {before ? ` · older than #${before}` : ""}
      </p>
      <DataTable caption="Audit events" head={["#", "Time (UTC)", "Actor", "Action", "Decision", "User", "Gateway", "Agent", "Provider", "Reason"]} empty={page.events.length === 0}>
        {page.events.map((e) => (
          <tr key={e.seq.toString()}>
            <Td>
              <Link href={`/admin/audit/${e.seq}`} className="font-mono text-xs underline">
                {e.seq.toString()}
              </Link>
            </Td>
            <Td>
              <When value={e.at} />
            </Td>
            <Td className="text-xs">{who(e.actorType, e.actorId)}</Td>
            <Td className="font-mono text-xs">{e.action}</Td>
            <Td>
              <Badge value={e.decision} />
            </Td>
            <Td className="text-xs">{subjectOf(e) ? (names.users.get(subjectOf(e)!) ?? subjectOf(e)) : "—"}</Td>
            <Td className="text-xs">{e.gatewayId ? (names.gateways.get(e.gatewayId) ?? e.gatewayId) : "—"}</Td>
            <Td className="text-xs">{e.agentId ? (names.agents.get(e.agentId) ?? e.agentId) : "—"}</Td>
            <Td className="text-xs">{e.providerId ? (names.providers.get(e.providerId) ?? e.providerId) : "—"}</Td>
            <Td className="max-w-64 truncate text-xs text-slate-600">{e.reason ?? ""}</Td>
          </tr>
        ))}
      </DataTable>
      <nav aria-label="Pagination" className="flex justify-end gap-2 text-sm">
        {before ? (
          <Link href={hrefWith("/admin/audit", query, {})} className="rounded-md border border-slate-300 bg-white px-3 py-1 hover:bg-slate-100">
            Newest
          </Link>
        ) : null}
        {page.nextCursor !== null ? (
          <Link rel="next" href={hrefWith("/admin/audit", query, { before: page.nextCursor.toString() })} className="rounded-md border border-slate-300 bg-white px-3 py-1 hover:bg-slate-100">
            Older
          </Link>
        ) : null}
      </nav>
    </>
  );
}
