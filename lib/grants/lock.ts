// Cross-instance mutual exclusion for one grant: a transaction-scoped advisory lock keyed by the
// grant id (released at commit/rollback, so a crashed instance cannot leave it held).
import type { AuditTx } from "@/lib/audit/append";

/** The client inside db.$transaction(async (tx) => ...). */
export type Tx = AuditTx;

export async function lockGrant(tx: Tx, key: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${"grant:" + key}))`;
}
