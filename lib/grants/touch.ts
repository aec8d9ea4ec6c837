// Grant.lastUsedAt / lastUsedGatewayId, and the requester's RequesterApproval.lastUsedAt
// (lib/consent; the connections page shows who used a connection last), batched once a second
// by the lock-ordered, non-waiting helper in lib/db/touch-batch.ts, to the minute: a row in use
// is written when its stored time is USE_RESOLUTION_SECONDS old, and at once when another gateway
// used the grant (admins bulk-revoke by the last gateway; lib/admin/bulk-revoke.ts).
// updatedAt is left alone on purpose: it tells when the grant itself last changed.
import { createTouchBatch, USE_RESOLUTION_SECONDS } from "@/lib/db/touch-batch";

const grantUses = createTouchBatch<{ at: Date; gatewayId: string }>({
  table: "Grant",
  columns: { at: "timestamp(3)", gatewayId: "text" },
  set: `"lastUsedAt" = u.at, "lastUsedGatewayId" = u."gatewayId"`,
  // Time and gateway move together, and only forwards, when two instances flush the same grant.
  where: `t."lastUsedAt" IS NULL OR t."lastUsedAt" <= u.at`,
  resolution: { column: "lastUsedAt", seconds: USE_RESOLUTION_SECONDS, orWhen: `t."lastUsedGatewayId" IS DISTINCT FROM u."gatewayId"` },
  what: "grant use",
});

const approvalUses = createTouchBatch<{ at: Date }>({
  table: "RequesterApproval",
  columns: { at: "timestamp(3)" },
  set: `"lastUsedAt" = GREATEST(t."lastUsedAt", u.at)`,
  resolution: { column: "lastUsedAt", seconds: USE_RESOLUTION_SECONDS },
  what: "requester use",
});

export function markGrantUsed(grantId: string, gatewayId: string, approvalId?: string): void {
  const at = new Date();
  grantUses.mark(grantId, { at, gatewayId });
  if (approvalId) approvalUses.mark(approvalId, { at });
}

export async function flushGrantUses(): Promise<void> {
  await Promise.all([grantUses.flush(), approvalUses.flush()]);
}
