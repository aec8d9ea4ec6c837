// Cross-instance mutual exclusion for one grant: a transaction-scoped advisory lock keyed by the
// grant id (released at commit/rollback, so a crashed instance cannot leave it held).
import type { AuditTx } from "@/lib/audit/append";

/** The client inside db.$transaction(async (tx) => ...). */
export type Tx = AuditTx;

export async function lockGrant(tx: Tx, key: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${"grant:" + key}))`;
}

/** Takes the lock only if no other transaction holds it (a refresh in progress elsewhere). */
export async function tryLockGrant(tx: Tx, key: string): Promise<boolean> {
  const [row] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(hashtext(${"grant:" + key})) AS locked`;
  return row?.locked === true;
}
