// Per-requester approvals of a connection (design.md invariant 11): which requesters (gateway,
// and verified agent) may receive a grant's credential. One row per (grant, requester); a
// withdrawal marks the row instead of deleting it, because the row is also the record that this
// gateway was handed the grant's tokens (what revocation events are sent for).
import { appendAudit, type AuditTx } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import type { ApprovalSource } from "@/lib/generated/prisma/client";
import { lockGrant } from "@/lib/grants/lock";
import { newId } from "@/lib/ids";
import { enqueueCredentialChange } from "@/lib/outbox/credential-change";
import { wakeOutbox } from "@/lib/outbox/wake";
import type { Requester } from "./requester";

export interface ApprovalInput {
  grantId: string;
  requester: Requester;
  approvedBy: Exclude<ApprovalSource, "migrated">;
  /** The approving user's id, or the pre-approving policy rule's id. */
  approvedById: string;
}

/**
 * Records (or renews, after a withdrawal) the approval of a requester for a grant. Writes for
 * one grant are serialized by an advisory lock (PostgreSQL unique indexes treat NULL agent ids
 * as distinct, so the lock is what keeps one row per requester).
 */
export async function recordApproval(tx: AuditTx, input: ApprovalInput): Promise<{ id: string; created: boolean }> {
  await lockGrant(tx, `approval:${input.grantId}`);
  const existing = await tx.requesterApproval.findFirst({
    where: { grantId: input.grantId, gatewayId: input.requester.gatewayId, agentId: input.requester.agentId },
    select: { id: true, withdrawnAt: true, approvedBy: true },
  });
  if (existing) {
    // A withdrawn row is renewed; a user's own approval replaces one that only a policy gave
    // (a policy approval lasts only as long as the rule does, a user's does not).
    if (existing.withdrawnAt || (existing.approvedBy === "policy" && input.approvedBy === "user")) {
      await tx.requesterApproval.update({
        where: { id: existing.id },
        data: { withdrawnAt: null, withdrawnById: null, approvedBy: input.approvedBy, approvedById: input.approvedById, createdAt: new Date() },
      });
    }
    return { id: existing.id, created: false };
  }
  const id = newId("apr");
  await tx.requesterApproval.create({
    data: {
      id,
      grantId: input.grantId,
      gatewayId: input.requester.gatewayId,
      agentId: input.requester.agentId,
      approvedBy: input.approvedBy,
      approvedById: input.approvedById,
    },
  });
  return { id, created: true };
}

/** An admin pre-approval used for the first time: recorded (and audited) before the credential leaves. */
export async function recordPolicyApproval(input: {
  grantId: string;
  userId: string;
  providerId: string;
  requester: Requester;
  ruleId: string;
  scopes: string[];
  requestId: string;
}): Promise<string> {
  const db = await getDb();
  return db.$transaction(async (tx) => {
    const approval = await recordApproval(tx, {
      grantId: input.grantId,
      requester: input.requester,
      approvedBy: "policy",
      approvedById: input.ruleId,
    });
    await appendAudit(
      {
        actorType: "system",
        actorId: input.ruleId,
        userId: input.userId,
        gatewayId: input.requester.gatewayId,
        providerId: input.providerId,
        action: "consent.requester_approved",
        decision: "allow",
        reason: "policy_pre_approval",
        requestId: input.requestId,
        context: { grantId: input.grantId, approvalId: approval.id, agentId: input.requester.agentId, ruleId: input.ruleId, scopes: input.scopes },
      },
      tx,
    );
    return approval.id;
  });
}

/**
 * The user withdraws one requester from one of their connections; the connection itself and its
 * other requesters are untouched. The requester's next call asks the user again.
 */
export async function withdrawApproval(
  approvalId: string,
  actor: { type: "user" | "admin"; id: string },
  opts: { expectedUserId?: string } = {},
): Promise<void> {
  const db = await getDb();
  await db.$transaction(async (tx) => {
    const approval = await tx.requesterApproval.findFirst({
      where: { id: approvalId, withdrawnAt: null, ...(opts.expectedUserId ? { grant: { userId: opts.expectedUserId } } : {}) },
      select: { id: true, grantId: true, gatewayId: true, agentId: true, grant: { select: { userId: true, providerId: true } } },
    });
    if (!approval) throw new AppError("not_found", "No such requester on your connections");
    await lockGrant(tx, `approval:${approval.grantId}`);
    const { count } = await tx.requesterApproval.updateMany({
      where: { id: approval.id, withdrawnAt: null },
      data: { withdrawnAt: new Date(), withdrawnById: actor.id },
    });
    if (count !== 1) throw new AppError("not_found", "No such requester on your connections");
    await appendAudit(
      {
        actorType: actor.type,
        actorId: actor.id,
        userId: approval.grant.userId,
        gatewayId: approval.gatewayId,
        providerId: approval.grant.providerId,
        action: "consent.requester_withdrawn",
        decision: "info",
        context: { grantId: approval.grantId, approvalId: approval.id, agentId: approval.agentId },
      },
      tx,
    );
    // The withdrawn requester's gateway may hold a token of this connection: tell it to drop it
    // (RFC 8417 SET, interface H) instead of using it until its cache expires.
    await enqueueCredentialChange(
      tx,
      { id: approval.grantId, userId: approval.grant.userId, providerId: approval.grant.providerId },
      { changeType: "revoke", initiatingEntity: actor.type, reason: "requester_withdrawn" },
      { onlyGateways: [approval.gatewayId] },
    );
  });
  wakeOutbox();
}

export interface RequesterSummary {
  approvalId: string;
  gatewayId: string;
  gatewayName: string;
  agentId: string | null;
  /** The agent's registered display name (null with agentId). */
  agentName: string | null;
  approvedBy: ApprovalSource;
  createdAt: Date;
  lastUsedAt: Date | null;
  withdrawnAt: Date | null;
}

/** The requesters of each of a user's grants, keyed by grant id, most recently used first. */
export async function listRequestersByGrant(userId: string): Promise<Map<string, RequesterSummary[]>> {
  const db = await getDb();
  const rows = await db.requesterApproval.findMany({
    where: { grant: { userId } },
    orderBy: [{ lastUsedAt: { sort: "desc", nulls: "last" } }, { createdAt: "desc" }],
    select: {
      id: true,
      grantId: true,
      gatewayId: true,
      agentId: true,
      approvedBy: true,
      createdAt: true,
      lastUsedAt: true,
      withdrawnAt: true,
      gateway: { select: { name: true } },
      agent: { select: { displayName: true } },
    },
  });
  const byGrant = new Map<string, RequesterSummary[]>();
  for (const r of rows) {
    const list = byGrant.get(r.grantId) ?? [];
    list.push({
      approvalId: r.id,
      gatewayId: r.gatewayId,
      gatewayName: r.gateway.name,
      agentId: r.agentId,
      agentName: r.agent?.displayName ?? null,
      approvedBy: r.approvedBy,
      createdAt: r.createdAt,
      lastUsedAt: r.lastUsedAt,
      withdrawnAt: r.withdrawnAt,
    });
    byGrant.set(r.grantId, list);
  }
  return byGrant;
}

/**
 * The user approved the requester of an elicitation for a grant (by connecting on its consent
 * page, or with the one-click approval). Inside the caller's transaction, audited with it.
 */
export async function approveElicitationRequester(
  tx: AuditTx,
  input: {
    grantId: string;
    userId: string;
    elicitation: { id: string; gatewayId: string; agentId: string | null; providerId: string; scopes: string[] };
    how: "connected" | "one_click";
  },
): Promise<string> {
  const { elicitation } = input;
  const approval = await recordApproval(tx, {
    grantId: input.grantId,
    requester: { gatewayId: elicitation.gatewayId, agentId: elicitation.agentId },
    approvedBy: "user",
    approvedById: input.userId,
  });
  await appendAudit(
    {
      actorType: "user",
      actorId: input.userId,
      userId: input.userId,
      gatewayId: elicitation.gatewayId,
      providerId: elicitation.providerId,
      action: "consent.requester_approved",
      decision: "allow",
      reason: input.how,
      context: { grantId: input.grantId, approvalId: approval.id, agentId: elicitation.agentId, elicitationId: elicitation.id, scopes: elicitation.scopes },
    },
    tx,
  );
  return approval.id;
}
