// /admin/deliveries - outbox events (gateway webhooks, revocation events, user notices) that
// failed at least once and are not delivered: still retrying, or given up after the last attempt
// (those can be retried). Ended events are pruned after OUTBOX_RETENTION_DAYS.
import type { Metadata } from "next";
import { ConfirmAction } from "@/components/admin/confirm";
import { DataTable, Td, When } from "@/components/admin/table";
import { requireAdminPage } from "@/lib/admin/guard";
import { env } from "@/lib/env";
import { listDeliveryFailures } from "@/lib/outbox/failures";
import { retryDeliveryAction } from "./actions";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Delivery failures" };

export default async function DeliveriesPage() {
  const { formToken } = await requireAdminPage("/admin/deliveries");
  const rows = await listDeliveryFailures();
  return (
    <>
      <h1 className="text-2xl font-semibold tracking-tight [overflow-wrap:anywhere]">Delivery failures</h1>
      <p className="text-sm text-slate-600">
        Events Frontdesk could not deliver yet. Each is retried with growing delays until its receiver accepts it or its attempts run out. A given-up event can
        be sent again once its receiver is back; events that ended (delivered or given up) are deleted after {env().OUTBOX_RETENTION_DAYS} days.
      </p>
      <DataTable caption="Undelivered events" head={["Event", "Kind", "Receiver", "Attempts", "Last error", "State", "Created", "Action"]} empty={rows.length === 0}>
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
            <Td>
              {r.failedAt ? (
                <ConfirmAction
                  summary="Retry…"
                  tone="primary"
                  consequence={<p>Makes this event due now with a fresh set of attempts. Receivers recognise a repeat by its event id.</p>}
                  confirmLabel="Retry delivery"
                  pendingLabel="Retrying…"
                  action={retryDeliveryAction}
                  formToken={formToken}
                  hidden={{ eventId: r.id }}
                />
              ) : null}
            </Td>
          </tr>
        ))}
      </DataTable>
    </>
  );
}
