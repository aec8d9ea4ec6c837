// Administration of policy rules (CLI and dashboard). Every change is audited.
import { appendAudit } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { newId } from "@/lib/ids";
import { forgetPolicyRules } from "./load";

export interface PolicyRuleDraft {
  providerId: string;
  gatewayId?: string | null;
  scopes?: string[];
  users?: string[];
  groups?: string[];
  description?: string;
  /** Gateway rules only: users it selects need not approve the gateway per connection (lib/consent). */
  preApproved?: boolean;
  /** Agent rule selectors (lib/policy/evaluate.ts): Agent ids, an issuer, a subject prefix. */
  agents?: string[];
  agentIssuer?: string | null;
  agentSubjectPrefix?: string | null;
}

export async function createPolicyRule(draft: PolicyRuleDraft, actor: { type: "admin"; id: string }) {
  if (draft.preApproved && !draft.gatewayId) throw new AppError("invalid_request", "Only a gateway rule can pre-approve a requester");
  const db = await getDb();
  const scopes = draft.scopes && draft.scopes.length > 0 ? draft.scopes : ["*"];
  return db.$transaction(async (tx) => {
    const rule = await tx.policyRule.create({
      data: {
        id: newId("pol"),
        providerId: draft.providerId,
        gatewayId: draft.gatewayId ?? null,
        scopes,
        users: draft.users ?? [],
        groups: draft.groups ?? [],
        description: draft.description ?? "",
        preApproved: draft.preApproved ?? false,
        agents: draft.agents ?? [],
        agentIssuer: draft.agentIssuer || null,
        agentSubjectPrefix: draft.agentSubjectPrefix || null,
      },
    });
    await appendAudit(
      {
        actorType: "admin",
        actorId: actor.id,
        gatewayId: rule.gatewayId,
        providerId: rule.providerId,
        action: "admin.policy_rule_created",
        decision: "info",
        context: {
          ruleId: rule.id,
          scopes: rule.scopes,
          users: rule.users,
          groups: rule.groups,
          preApproved: rule.preApproved,
          agents: rule.agents.length > 0 ? rule.agents : undefined,
          agentIssuer: rule.agentIssuer ?? undefined,
          agentSubjectPrefix: rule.agentSubjectPrefix ?? undefined,
        },
      },
      tx,
    );
    return rule;
  }).finally(forgetPolicyRules);
}

export async function listPolicyRules(filter: { providerId?: string; gatewayId?: string } = {}) {
  const db = await getDb();
  return db.policyRule.findMany({
    where: { providerId: filter.providerId, gatewayId: filter.gatewayId },
    orderBy: { createdAt: "asc" },
  });
}

export async function deletePolicyRule(id: string, actor: { type: "admin"; id: string }) {
  const db = await getDb();
  await db.$transaction(async (tx) => {
    const deleted = await tx.policyRule.deleteMany({ where: { id } });
    if (deleted.count !== 1) throw new AppError("not_found", "No such policy rule");
    await appendAudit(
      { actorType: "admin", actorId: actor.id, action: "admin.policy_rule_deleted", decision: "info", context: { ruleId: id } },
      tx,
    );
  });
  forgetPolicyRules();
}
