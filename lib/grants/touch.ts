// Grant.lastUsedAt / lastUsedGatewayId, and the requester's RequesterApproval.lastUsedAt
// (lib/consent), without an extra round trip per resolve: uses are collected in memory and
// written in one statement per table at most once a second. Losing the
// last second of "last used" on a crash is acceptable; it is attribution metadata, not audit
// (every use is in the audit log already).
import { getDb } from "@/lib/db/client";
import { log } from "@/lib/log";

const FLUSH_MS = 1_000;

// `at` travels as an ISO string ending in Z; the cast to timestamp (without zone) keeps the UTC
// wall time, which is how Prisma stores DateTime (as in lib/audit/chain.ts).
const USES_SQL = `
  UPDATE "Grant" AS g SET "lastUsedAt" = u.at, "lastUsedGatewayId" = u."gatewayId"
  FROM jsonb_to_recordset($1::jsonb) AS u(id text, at timestamp(3), "gatewayId" text)
  WHERE g.id = u.id`;
// Same shape for the requester that used it (the connections page shows who used it last).
const APPROVAL_USES_SQL = `
  UPDATE "RequesterApproval" AS a SET "lastUsedAt" = u.at
  FROM jsonb_to_recordset($1::jsonb) AS u(id text, at timestamp(3))
  WHERE a.id = u.id`;
const pending = new Map<string, { at: Date; gatewayId: string }>();
const pendingApprovals = new Map<string, Date>();
let timer: NodeJS.Timeout | undefined;

export function markGrantUsed(grantId: string, gatewayId: string, approvalId?: string): void {
  const at = new Date();
  pending.set(grantId, { at, gatewayId });
  if (approvalId) pendingApprovals.set(approvalId, at);
  if (!timer) {
    timer = setTimeout(() => void flushGrantUses(), FLUSH_MS);
    timer.unref();
  }
}

export async function flushGrantUses(): Promise<void> {
  if (timer) clearTimeout(timer);
  timer = undefined;
  if (pending.size === 0 && pendingApprovals.size === 0) return;
  const batch = [...pending.entries()];
  const approvals = [...pendingApprovals.entries()];
  pending.clear();
  pendingApprovals.clear();
  try {
    const db = await getDb();
    // One statement for every grant used in the last second: a Prisma updateMany per grant cost
    // ~0.5 ms of CPU each, i.e. up to half a core with 1,000 active grants (npm run bench).
    // updatedAt is left alone on purpose: it tells when the grant itself last changed.
    if (batch.length > 0) {
      await db.$executeRawUnsafe(USES_SQL, JSON.stringify(batch.map(([id, use]) => ({ id, at: use.at.toISOString(), gatewayId: use.gatewayId }))));
    }
    if (approvals.length > 0) {
      await db.$executeRawUnsafe(APPROVAL_USES_SQL, JSON.stringify(approvals.map(([id, at]) => ({ id, at: at.toISOString() }))));
    }
  } catch (e) {
    log.warn("recording grant use failed", { reason: e instanceof Error ? e.message : "unknown" });
  }
}
