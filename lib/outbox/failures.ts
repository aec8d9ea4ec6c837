// What the admin sees of the outbox: events that failed at least once and are not delivered
// (still retrying, or given up), newest first. Kinds, targets, attempt counts and short reasons
// only; payloads are not shown (they hold recipients' addresses).
import { getDb } from "@/lib/db/client";

export interface DeliveryFailure {
  id: string;
  kind: string;
  target: string;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: Date;
  failedAt: Date | null;
  createdAt: Date;
}

export async function listDeliveryFailures(limit = 200): Promise<DeliveryFailure[]> {
  const db = await getDb();
  return db.outboxEvent.findMany({
    where: { deliveredAt: null, lastError: { not: null } },
    orderBy: { createdAt: "desc" },
    take: limit,
    select: { id: true, kind: true, target: true, attempts: true, lastError: true, nextAttemptAt: true, failedAt: true, createdAt: true },
  });
}
