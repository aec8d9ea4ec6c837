// Writing an event into the outbox. Always inside the caller's transaction, next to the state
// change it reports: either both commit or neither does, so no event is lost between "the grant
// is revoked" and "the gateway was told", and none is sent for a change that rolled back.
// After the commit the caller calls wakeOutbox() so this instance delivers at once.
import type { AuditTx } from "@/lib/audit/append";
import { newId } from "@/lib/ids";
import type { OutboxKind, OutboxPayload } from "./kinds";

export interface NewOutboxEvent<K extends OutboxKind = OutboxKind> {
  kind: K;
  target: string;
  payload: OutboxPayload<K>;
}

export async function enqueueOutboxEvents(tx: AuditTx, events: NewOutboxEvent[]): Promise<string[]> {
  if (events.length === 0) return [];
  const rows = events.map((e) => ({ id: newId("evt"), kind: e.kind, target: e.target, payload: e.payload as object }));
  await tx.outboxEvent.createMany({ data: rows });
  return rows.map((r) => r.id);
}
