// /admin/audit/<seq or id> - one event with its context and chain fields.
import type { Metadata } from "next";
import type { ReactNode } from "react";
import Link from "next/link";
import { notFound } from "next/navigation";
import { Badge } from "@/components/admin/table";
import { delegationChain } from "@/lib/admin/audit-chain";
import { findAuditEvent, loadAuditNames } from "@/lib/admin/audit-log";
import { requireAdminPage } from "@/lib/admin/guard";
import { computeAuditHash } from "@/lib/audit/hash";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Audit event" };

export default async function AuditEventPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  await requireAdminPage(`/admin/audit/${id}`);
  const event = id.length <= 64 ? await findAuditEvent(id) : null;
  if (!event) notFound();
  const names = await loadAuditNames([event]);
  const selfOk = computeAuditHash(event) === event.hash;
  const chain = delegationChain(event, names);
  const rows: [string, ReactNode][] = [
    ["Sequence", event.seq.toString()],
    ["Id", event.id],
    ["Time (UTC)", event.at.toISOString()],
    ["Actor", `${event.actorType}${event.actorId ? ` ${names.users.get(event.actorId) ?? names.gateways.get(event.actorId) ?? ""} (${event.actorId})` : ""}`],
    ["Action", event.action],
    ["Decision", <Badge key="d" value={event.decision} />],
    ["Reason", event.reason ?? "—"],
    ["User", event.userId ? `${names.users.get(event.userId) ?? ""} (${event.userId})` : "—"],
    ["Gateway", event.gatewayId ? `${names.gateways.get(event.gatewayId) ?? ""} (${event.gatewayId})` : "—"],
    ["Agent", event.agentId ? `${names.agents.get(event.agentId) ?? ""} (${event.agentId})` : "—"],
    ["Provider", event.providerId ? `${names.providers.get(event.providerId) ?? ""} (${event.providerId})` : "—"],
    ["Request id", event.requestId ?? "—"],
    ["Previous hash", event.prevHash],
    ["Hash", `${event.hash} ${selfOk ? "(matches the event)" : "(DOES NOT match the event: tampered)"}`],
  ];
  return (
    <>
      <p className="text-sm">
        <Link href="/admin/audit" className="hover:underline">
          ← Audit log
        </Link>
      </p>
      <h1 className="text-2xl font-semibold tracking-tight [overflow-wrap:anywhere]">
        Event #{event.seq.toString()}: {event.action}
      </h1>
      <dl className="grid grid-cols-1 gap-x-6 gap-y-2 rounded-lg border border-slate-200 bg-white p-5 text-sm shadow-sm md:grid-cols-[12rem_1fr]">
        {rows.map(([k, v]) => (
          <div key={k} className="contents">
            <dt className="font-medium text-slate-600">{k}</dt>
            <dd className="min-w-0 break-all font-mono text-xs">{v}</dd>
          </div>
        ))}
      </dl>
      {chain.length > 1 ? (
        <section aria-labelledby="chain" className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm">
          <h2 id="chain" className="font-semibold">
            On behalf of
          </h2>
          <ol className="mt-3 space-y-1 text-sm" aria-label="Delegation chain, from the user to the gateway">
            {chain.map((l, i) => (
              <li key={`${l.role}-${i}`} className="flex flex-wrap items-baseline gap-2">
                <span className="w-40 shrink-0 text-xs font-medium uppercase tracking-wide text-slate-500">{l.role}</span>
                <span className="font-medium [overflow-wrap:anywhere]">{l.label}</span>
                {l.detail ? <span className="font-mono text-xs text-slate-600 [overflow-wrap:anywhere]">{l.detail}</span> : null}
                {l.verified ? null : <Badge value="needs_reauth" label="unverified" />}
              </li>
            ))}
          </ol>
        </section>
      ) : null}
      <section aria-labelledby="context" className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm">
        <h2 id="context" className="font-semibold">
          Context
        </h2>
        <pre tabIndex={0} aria-label="Event context (JSON)" className="mt-3 overflow-x-auto rounded bg-slate-50 p-3 text-xs">{JSON.stringify(event.context, null, 2)}</pre>
      </section>
    </>
  );
}
