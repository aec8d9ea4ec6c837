// The delegation check of a delegation-mode call (design.md invariant 13): an agent, proven by
// its own verified actor token, names a user instead of presenting the user's subject token.
// It gets an answer only if an active delegation of that user's connection covers exactly that
// agent and every requested scope (and the gateway, when the delegation names one). Read from
// the database on every call, so expiry and revocation hold at once on every instance.
import { getDb } from "@/lib/db/client";

export type DelegationDenial = "no_delegation" | "revoked" | "expired" | "scope_not_delegated" | "wrong_gateway";

export type DelegationCheck = { ok: true; delegationId: string } | { ok: false; reason: DelegationDenial };

interface Candidate {
  id: string;
  scopes: string[];
  gatewayId: string | null;
  expiresAt: Date;
  revokedAt: Date | null;
}

/** Pure: which delegation covers the call, or the most specific reason none does. */
export function chooseDelegation(candidates: readonly Candidate[], call: { gatewayId: string; scopes: readonly string[] }, now = Date.now()): DelegationCheck {
  if (candidates.length === 0) return { ok: false, reason: "no_delegation" };
  const live = candidates.filter((d) => d.revokedAt === null);
  if (live.length === 0) return { ok: false, reason: "revoked" };
  const current = live.filter((d) => d.expiresAt.getTime() > now);
  if (current.length === 0) return { ok: false, reason: "expired" };
  const scoped = current.filter((d) => call.scopes.every((s) => d.scopes.includes(s)));
  if (scoped.length === 0) return { ok: false, reason: "scope_not_delegated" };
  const match = scoped.find((d) => d.gatewayId === null || d.gatewayId === call.gatewayId);
  return match ? { ok: true, delegationId: match.id } : { ok: false, reason: "wrong_gateway" };
}

export async function checkDelegation(call: {
  userId: string;
  grantId: string;
  agentId: string;
  gatewayId: string;
  scopes: readonly string[];
  /** The delegation the call named (token endpoint): no other one answers for it. */
  delegationId?: string;
}): Promise<DelegationCheck> {
  const db = await getDb();
  const candidates = await db.delegation.findMany({
    where: { userId: call.userId, grantId: call.grantId, agentId: call.agentId, ...(call.delegationId ? { id: call.delegationId } : {}) },
    select: { id: true, scopes: true, gatewayId: true, expiresAt: true, revokedAt: true },
    orderBy: { createdAt: "desc" },
    take: 20,
  });
  return chooseDelegation(candidates, call);
}

/**
 * Records a use (after the credential was approved and audited). Returns true on the first use,
 * so the caller can tell the user. One statement: the first-use flag cannot be taken twice.
 */
export async function recordDelegationUse(delegationId: string): Promise<boolean> {
  const db = await getDb();
  const rows = await db.$queryRaw<{ first: boolean }[]>`
    UPDATE "Delegation" SET "lastUsedAt" = now() AT TIME ZONE 'UTC', "firstUsedAt" = COALESCE("firstUsedAt", now() AT TIME ZONE 'UTC')
    WHERE "id" = ${delegationId}
    RETURNING "firstUsedAt" = "lastUsedAt" AS "first"`;
  return rows[0]?.first === true;
}
