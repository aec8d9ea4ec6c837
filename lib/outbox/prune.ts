// Keeps the outbox table small: events delivered (or skipped) or given up more than
// OUTBOX_RETENTION_DAYS ago are deleted. Run by every instance's worker about once an hour
// (deleting is idempotent, so instances need no coordination), in batches so that no statement
// holds many row locks at once. Pending and retrying events are never pruned, however old.
import { getDb } from "@/lib/db/client";
import { env } from "@/lib/env";

const BATCH = 5_000;

export async function pruneOutbox(now = new Date()): Promise<{ deleted: number; before: Date }> {
  const db = await getDb();
  const before = new Date(now.getTime() - env().OUTBOX_RETENTION_DAYS * 86_400_000);
  let deleted = 0;
  for (;;) {
    // Stored DateTimes are UTC wall time (timestamp without time zone): compare as such.
    const n = await db.$executeRaw`
      DELETE FROM "OutboxEvent" WHERE id IN (
        SELECT id FROM "OutboxEvent"
         WHERE "deliveredAt" < ${before.toISOString()}::timestamp OR "failedAt" < ${before.toISOString()}::timestamp
         LIMIT ${BATCH})`;
    deleted += n;
    if (n < BATCH) return { deleted, before };
  }
}
