// /admin/deliveries - outbox events (gateway webhooks, revocation events, user notices) that
// failed at least once and are not delivered: still retrying, or given up after the last attempt.
import type { Metadata } from "next";
import { DataTable, Td, When } from "@/components/admin/table";
import { requireAdminPage } from "@/lib/admin/guard";
import { listDeliveryFailures } from "@/lib/outbox/failures";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Delivery failures" };

export default async function DeliveriesPage() {
  await requireAdminPage("/admin/deliveries");
  const rows = await listDeliveryFailures();
  return (
    <>
      <h1 className="text-2xl font-semibold tracking-tight [overflow-wrap:anywhere]">Delivery failures</h1>
      <p className="text-sm text-slate-600">
        Events Frontdesk could not deliver yet. Each is retried with growing delays until its receiver accepts it or its attempts run out.
      </p>
      <DataTable caption="Undelivered events" head={["Event", "Kind", "Receiver", "Attempts", "Last error", "State", "Created"]} empty={rows.length === 0}>
        {rows.map((r) => (
          <tr key={r.id}>
            <Td>{r.id}</Td>
            <Td>{r.kind}</Td>
            <Td>{r.target}</Td>
            <Td>{r.attempts}</Td>
            <Td>{r.lastError}</Td>
            <Td>{r.failedAt ? "given up" : <>retrying, next <When value={r.nextAttemptAt} /></>}</Td>
            <Td>
              <When value={r.createdAt} />
            </Td>
          </tr>
        ))}
      </DataTable>
    </>
  );
}
