// A user's standing delegation of one connection to one agent (design.md invariant 13): scopes
// within what the connection holds, an expiry no later than the admin maximum
// (DELEGATION_MAX_DAYS), optionally only through one gateway. Audited. Each refusal names the
// field it is about (AppError details.field), so a form can say what to change.
import { appendAudit, type AuditTx } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { missingScopes } from "@/lib/grants/sealed";
import { newId } from "@/lib/ids";

export interface DelegationDraft {
  userId: string;
  grantId: string;
  agentId: string;
  scopes: string[];
  /** Whole days from now, 1..DELEGATION_MAX_DAYS. */
  days: number;
  gatewayId?: string | null;
}

export function maxDelegationDays(): number {
  return env().DELEGATION_MAX_DAYS;
}

/** Checks the length in days against the admin maximum (AppError invalid_request otherwise). */
export function checkDelegationDays(days: number): void {
  const max = maxDelegationDays();
  if (!Number.isInteger(days) || days < 1 || days > max) throw new AppError("invalid_request", `A delegation lasts 1 to ${max} days`, { field: "days" });
}

export async function createDelegation(draft: DelegationDraft, opts: { requestId?: string; elicitationId?: string } = {}) {
  checkDelegationDays(draft.days);
  const db = await getDb();
  return db.$transaction((tx) => insertDelegation(tx, draft, opts));
}

/** createDelegation inside the caller's transaction (the consent page creates one with the grant it approves). */
export async function insertDelegation(tx: AuditTx, draft: DelegationDraft, opts: { requestId?: string; elicitationId?: string } = {}) {
  checkDelegationDays(draft.days);
  const scopes = [...new Set(draft.scopes)].sort();
  // The user's own, active connection only; scopes never beyond what it holds.
  const grant = await tx.grant.findFirst({
    where: { id: draft.grantId, userId: draft.userId, status: "active" },
    select: { id: true, providerId: true, scopes: true },
  });
  if (!grant) throw new AppError("not_found", "No such active connection", { field: "connection" });
  // An API key holds no scopes: delegating it is delegating the key as a whole. Otherwise at least one.
  if (scopes.length === 0 && grant.scopes.length > 0) throw new AppError("invalid_request", "Choose at least one permission to delegate", { field: "scopes" });
  const beyond = missingScopes(grant.scopes, scopes);
  if (beyond.length > 0) throw new AppError("invalid_request", `The connection does not hold: ${beyond.join(", ")}`, { field: "scopes", beyond });
  const agent = await tx.agent.findFirst({ where: { id: draft.agentId, status: "active" }, select: { id: true } });
  if (!agent) throw new AppError("not_found", "No such active agent", { field: "agent" });
  if (draft.gatewayId) {
    const gateway = await tx.gateway.findFirst({ where: { id: draft.gatewayId, status: "active" }, select: { id: true } });
    if (!gateway) throw new AppError("not_found", "No such active gateway", { field: "gateway" });
  }
  const delegation = await tx.delegation.create({
    data: {
      id: newId("dlg"),
      grantId: grant.id,
      userId: draft.userId,
      providerId: grant.providerId,
      agentId: agent.id,
      scopes,
      gatewayId: draft.gatewayId ?? null,
      expiresAt: new Date(Date.now() + draft.days * 86_400_000),
    },
  });
  await appendAudit(
    {
      actorType: "user",
      actorId: draft.userId,
      userId: draft.userId,
      gatewayId: delegation.gatewayId,
      providerId: grant.providerId,
      action: "delegation.created",
      decision: "info",
      requestId: opts.requestId ?? null,
      context: {
        delegationId: delegation.id,
        grantId: grant.id,
        agentId: agent.id,
        scopes,
        expiresAt: delegation.expiresAt.toISOString(),
        ...(opts.elicitationId ? { elicitationId: opts.elicitationId } : {}),
      },
    },
    tx,
  );
  return delegation;
}
