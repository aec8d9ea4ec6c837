// An admin's "try again" for an event the outbox gave up on (its attempts ran out, e.g. while a
// receiver was down for longer than the retry schedule): it becomes due now with a fresh
// attempt count, keeps its id (receivers still deduplicate by the same jti) and its last error
// until an attempt succeeds. Audited. Only given-up events qualify: one that is still retrying
// is already scheduled, and a delivered one must not be sent twice.
import { appendAudit } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { wakeOutbox } from "./wake";

export async function retryGivenUpEvent(eventId: string, actor: { type: "admin"; id: string }): Promise<void> {
  const db = await getDb();
  await db.$transaction(async (tx) => {
    const event = await tx.outboxEvent.findFirst({
      where: { id: eventId, deliveredAt: null, failedAt: { not: null } },
      select: { id: true, kind: true, target: true, attempts: true, lastError: true },
    });
    if (!event) throw new AppError("not_found", "No given-up event with this id (it may have been delivered, retried or pruned already)");
    // Guarded like every finish: a concurrent retry or prune changes nothing twice. Resetting the
    // attempt count cannot revive a stale attempt's result: a given-up event has none in flight
    // (giving up is recorded by the last attempt's own finish).
    const { count } = await tx.outboxEvent.updateMany({
      where: { id: event.id, deliveredAt: null, failedAt: { not: null } },
      data: { failedAt: null, attempts: 0, nextAttemptAt: new Date() },
    });
    if (count !== 1) throw new AppError("not_found", "No given-up event with this id (it may have been delivered, retried or pruned already)");
    await appendAudit(
      {
        actorType: actor.type,
        actorId: actor.id,
        action: "outbox.retry_requested",
        decision: "info",
        context: { eventId: event.id, kind: event.kind, target: event.target, attempts: event.attempts, lastError: event.lastError },
      },
      tx,
    );
  });
  wakeOutbox();
}
