// /admin/audit/<seq or id> - one event with its context and chain fields.
import type { Metadata } from "next";
import type { ReactNode } from "react";
import Link from "next/link";
import { notFound } from "next/navigation";
import { Badge } from "@/components/admin/table";
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
      <section aria-labelledby="context" className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm">
        <h2 id="context" className="font-semibold">
          Context
        </h2>
        <pre tabIndex={0} aria-label="Event context (JSON)" className="mt-3 overflow-x-auto rounded bg-slate-50 p-3 text-xs">{JSON.stringify(event.context, null, 2)}</pre>
      </section>
    </>
  );
}
