// The agent side of policy for the dashboard: a provider's default for agents no rule names
// (agentsExplicit), and the effective decision for one chosen user, gateway, agent, provider
// and scopes, computed by the evaluator the hot path uses (lib/policy/evaluate.ts) over the
// rules it would load, with what each dimension allows, so an admin sees why.
import { appendAudit } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { forgetProviders } from "@/lib/gateway-api/providers";
import { evaluatePolicy, isAgentRule, selectsAgent, selectsSubject, type PolicyDecision, type PolicyRuleInput } from "@/lib/policy/evaluate";
import { loadPolicyRules } from "@/lib/policy/load";
import type { AdminActor } from "./access";

export async function setAgentsExplicit(providerId: string, agentsExplicit: boolean, actor: AdminActor): Promise<{ displayName: string }> {
  const db = await getDb();
  const provider = await db.$transaction(async (tx) => {
    const { count } = await tx.provider.updateMany({ where: { id: providerId }, data: { agentsExplicit } });
    if (count !== 1) throw new AppError("not_found", "No such provider");
    await appendAudit(
      { actorType: "admin", actorId: actor.id, providerId, action: "admin.provider_updated", decision: "info", context: { changed: ["agentsExplicit"], agentsExplicit } },
      tx,
    );
    return tx.provider.findUniqueOrThrow({ where: { id: providerId }, select: { displayName: true } });
  });
  forgetProviders();
  return provider;
}

/** What one dimension's rules allow: null = no rule selects; ["*"] = any scope. */
export type DimensionScopes = string[] | null;

export interface EffectiveDecision {
  decision: PolicyDecision;
  user: DimensionScopes;
  gateway: DimensionScopes;
  /** Only when an agent was chosen; "inherits" = no agent rule selects it and the provider does not require one. */
  agent?: DimensionScopes | "inherits";
  agentsExplicit: boolean;
}

function scopesOf(rules: PolicyRuleInput[]): DimensionScopes {
  if (rules.length === 0) return null;
  if (rules.some((r) => r.scopes.includes("*"))) return ["*"];
  return [...new Set(rules.flatMap((r) => r.scopes))].sort();
}

export async function previewEffectiveDecision(input: { userId: string; gatewayId: string; agentId: string | null; providerId: string; scopes: string[] }): Promise<EffectiveDecision> {
  const db = await getDb();
  const [user, gateway, agent, provider] = await Promise.all([
    db.user.findUnique({ where: { id: input.userId }, select: { id: true, subject: true, email: true, groups: true } }),
    db.gateway.findUnique({ where: { id: input.gatewayId }, select: { id: true } }),
    input.agentId ? db.agent.findUnique({ where: { id: input.agentId }, select: { id: true, issuer: true, subject: true } }) : null,
    db.provider.findUnique({ where: { id: input.providerId }, select: { id: true, agentsExplicit: true } }),
  ]);
  if (!user) throw new AppError("invalid_body", "user: no such user");
  if (!gateway) throw new AppError("invalid_body", "gateway: no such gateway");
  if (!provider) throw new AppError("invalid_body", "provider: no such provider");
  if (input.agentId && !agent) throw new AppError("invalid_body", "agent: no such agent");
  if (input.scopes.length === 0) throw new AppError("invalid_body", "scopes: name at least one scope");
  const rules = (await loadPolicyRules(provider.id, gateway.id)).filter((r) => r.enabled);
  const subject = { userId: user.id, subject: user.subject, email: user.email, groups: user.groups };
  const policyAgent = agent ? { agentId: agent.id, issuer: agent.issuer, subject: agent.subject } : null;
  const decision = evaluatePolicy({
    rules,
    gatewayId: gateway.id,
    providerId: provider.id,
    subject,
    scopes: input.scopes,
    agent: policyAgent,
    agentsExplicit: provider.agentsExplicit,
  });
  const plain = rules.filter((r) => !isAgentRule(r) && selectsSubject(r, subject));
  const result: EffectiveDecision = {
    decision,
    user: scopesOf(plain.filter((r) => r.gatewayId === null)),
    gateway: scopesOf(plain.filter((r) => r.gatewayId === gateway.id)),
    agentsExplicit: provider.agentsExplicit,
  };
  if (policyAgent) {
    const agentRules = rules.filter((r) => isAgentRule(r) && (r.gatewayId === null || r.gatewayId === gateway.id) && selectsSubject(r, subject) && selectsAgent(r, policyAgent));
    result.agent = agentRules.length === 0 && !provider.agentsExplicit ? "inherits" : scopesOf(agentRules);
  }
  return result;
}
