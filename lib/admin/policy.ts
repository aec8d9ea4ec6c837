// Policy administration for the dashboard: validated drafts, edit and enable/disable (create
// and delete live in lib/policy/rules.ts), and a preview of who a change affects, computed
// with the evaluator's own subject matching (lib/policy/evaluate.ts) over the user table.
import { z } from "zod";
import { appendAudit } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { isSpiffeId } from "@/lib/agents/spiffe";
import { isAgentRule, selectsSubject, type PolicyRuleInput } from "@/lib/policy/evaluate";
import { forgetPolicyRules } from "@/lib/policy/load";
import type { AdminActor } from "./access";
import { previewAgents, type AgentPreview } from "./agent-preview";

const token = z.string().trim().min(1).max(256).regex(/^[\x21-\x7e]+$/, "no spaces or control characters");

export const policyDraftSchema = z
  .object({
    providerId: z.string().min(1).max(128),
    gatewayId: z.string().min(1).max(128).nullable(),
    scopes: z.array(token).max(100),
    users: z.array(z.string().trim().min(1).max(320)).max(500),
    groups: z.array(z.string().trim().min(1).max(200)).max(200),
    description: z.string().trim().max(500),
    /** Gateway rules: the users it selects need not approve this gateway per connection (lib/consent). */
    preApproved: z.boolean().default(false),
    /** Agent selectors: any of them makes this an agent rule (lib/policy/evaluate.ts). */
    agents: z.array(z.string().trim().min(1).max(128)).max(200).default([]),
    agentIssuer: z.string().trim().max(2048).nullable().default(null),
    agentSubjectPrefix: z.string().trim().max(1024).nullable().default(null),
  })
  .strict();

export type PolicyDraft = z.output<typeof policyDraftSchema>;

/** Validates a draft against the schema and the database (provider and gateway must exist). */
export async function validatePolicyDraft(input: unknown): Promise<PolicyDraft> {
  const parsed = policyDraftSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError("invalid_body", `${issue?.path.join(".") || "rule"}: ${issue?.message ?? "invalid"}`);
  }
  const draft = {
    ...parsed.data,
    scopes: parsed.data.scopes.length > 0 ? [...new Set(parsed.data.scopes)] : ["*"],
    agents: [...new Set(parsed.data.agents)],
    agentIssuer: parsed.data.agentIssuer || null,
    agentSubjectPrefix: parsed.data.agentSubjectPrefix || null,
  };
  if (draft.scopes.includes("*") && draft.scopes.length > 1) throw new AppError("invalid_body", "scopes: * already allows every scope; list nothing else");
  const agentRule = isAgentRule(draft);
  if (draft.preApproved && (!draft.gatewayId || agentRule)) throw new AppError("invalid_body", "preApproved: only a gateway rule can pre-approve its gateway");
  if (draft.agentSubjectPrefix?.startsWith("spiffe:") && !isSpiffeId(draft.agentSubjectPrefix.replace(/\/$/, ""))) {
    throw new AppError("invalid_body", "agentSubjectPrefix: not a SPIFFE ID (spiffe://trust-domain/path)");
  }
  const db = await getDb();
  const [provider, gateway, agents] = await Promise.all([
    db.provider.findUnique({ where: { id: draft.providerId }, select: { id: true } }),
    draft.gatewayId ? db.gateway.findUnique({ where: { id: draft.gatewayId }, select: { id: true } }) : null,
    draft.agents.length ? db.agent.count({ where: { id: { in: draft.agents } } }) : 0,
  ]);
  if (!provider) throw new AppError("invalid_body", "provider: no such provider");
  if (draft.gatewayId && !gateway) throw new AppError("invalid_body", "gateway: no such gateway");
  if (agents !== draft.agents.length) throw new AppError("invalid_body", "agents: no such agent");
  return draft;
}

/** One rule by id, or null. Ids come from URLs: a NUL names nothing (and would fail the query as a 500). */
export async function findPolicyRule(id: string) {
  if (id.includes("\0")) return null;
  const db = await getDb();
  return db.policyRule.findUnique({ where: { id } });
}

function ruleAuditView(r: PolicyRuleInput) {
  return {
    scopes: r.scopes,
    users: r.users,
    groups: r.groups,
    gatewayId: r.gatewayId,
    preApproved: r.preApproved ?? false,
    agents: r.agents ?? [],
    agentIssuer: r.agentIssuer ?? null,
    agentSubjectPrefix: r.agentSubjectPrefix ?? null,
  };
}

export async function updatePolicyRule(id: string, draft: PolicyDraft, actor: AdminActor) {
  const db = await getDb();
  const rule = await db.$transaction(async (tx) => {
    const before = await tx.policyRule.findUnique({ where: { id } });
    if (!before) throw new AppError("not_found", "No such policy rule");
    const rule = await tx.policyRule.update({ where: { id }, data: draft });
    await appendAudit(
      {
        actorType: "admin",
        actorId: actor.id,
        gatewayId: rule.gatewayId,
        providerId: rule.providerId,
        action: "admin.policy_rule_updated",
        decision: "info",
        context: {
          ruleId: id,
          before: ruleAuditView(before),
          after: ruleAuditView(rule),
        },
      },
      tx,
    );
    return rule;
  });
  forgetPolicyRules();
  return rule;
}

export async function setPolicyRuleEnabled(id: string, enabled: boolean, actor: AdminActor) {
  const db = await getDb();
  const rule = await db.$transaction(async (tx) => {
    const { count } = await tx.policyRule.updateMany({ where: { id }, data: { enabled } });
    if (count !== 1) throw new AppError("not_found", "No such policy rule");
    const rule = await tx.policyRule.findUniqueOrThrow({ where: { id } });
    await appendAudit(
      {
        actorType: "admin",
        actorId: actor.id,
        gatewayId: rule.gatewayId,
        providerId: rule.providerId,
        action: enabled ? "admin.policy_rule_enabled" : "admin.policy_rule_disabled",
        decision: "info",
        context: { ruleId: id },
      },
      tx,
    );
    return rule;
  });
  forgetPolicyRules();
  return rule;
}

export type PolicyChange =
  | { kind: "create"; draft: PolicyDraft }
  | { kind: "update"; id: string; draft: PolicyDraft }
  | { kind: "delete"; id: string }
  | { kind: "enable" | "disable"; id: string };

export interface AffectedUser {
  id: string;
  email: string | null;
  name: string | null;
}

export interface PolicyPreview {
  /** What the rules in question control: users connecting the provider, or one gateway's requests. */
  audience: { providerId: string; gatewayId: string | null };
  usersConsidered: number;
  coveredBefore: number;
  coveredAfter: number;
  gained: AffectedUser[];
  lost: AffectedUser[];
  gainedCount: number;
  lostCount: number;
  /** Of those who lose access: how many hold an active connection to the provider today. */
  lostWithActiveGrants: number;
  scopesBefore: string[];
  scopesAfter: string[];
  /** For an agent rule: which registered agents the provider's agent rules select, before and after. */
  agents?: AgentPreview;
}

const SAMPLE = 20;
/** The preview reads at most this many users (newest last); larger directories get a partial preview. */
export const PREVIEW_USER_LIMIT = 50_000;

type Rule = PolicyRuleInput;

function applyChange(rules: Rule[], change: PolicyChange): Rule[] {
  switch (change.kind) {
    case "create":
      return [...rules, { id: "(new)", enabled: true, ...change.draft }];
    case "update":
      return rules.map((r) => (r.id === change.id ? { ...r, ...change.draft } : r));
    case "delete":
      return rules.filter((r) => r.id !== change.id);
    case "enable":
    case "disable":
      return rules.map((r) => (r.id === change.id ? { ...r, enabled: change.kind === "enable" } : r));
  }
}

function scopesOf(rules: Rule[]): string[] {
  if (rules.some((r) => r.scopes.includes("*"))) return ["*"];
  return [...new Set(rules.flatMap((r) => r.scopes))].sort();
}

/** Who gains or loses access to the provider (user rules) or to this gateway's requests (gateway rules). */
export async function previewPolicyChange(change: PolicyChange): Promise<PolicyPreview> {
  const db = await getDb();
  const select = { id: true, providerId: true, gatewayId: true, scopes: true, users: true, groups: true, enabled: true, agents: true, agentIssuer: true, agentSubjectPrefix: true } as const;
  const target =
    change.kind === "create" ? change.draft : await db.policyRule.findUnique({ where: { id: change.id }, select });
  if (!target) throw new AppError("not_found", "No such policy rule");
  const after = change.kind === "update" ? change.draft : target;
  // An update may move a rule to another provider/gateway; the preview covers the rule's new audience.
  const audience = { providerId: after.providerId, gatewayId: after.gatewayId ?? null };
  const current = await db.policyRule.findMany({ where: { providerId: { in: [...new Set([target.providerId, audience.providerId])] } }, select });
  const proposed = applyChange(current, change);
  // Agent rules narrow (or, with agentsExplicit, admit) agents; they never let a user connect or a
  // gateway request, so they only count in the agent part of the preview.
  const agentChange = isAgentRule(after) || isAgentRule(target);
  const relevant = (rules: Rule[]) =>
    rules.filter((r) => r.enabled && r.providerId === audience.providerId && isAgentRule(r) === agentChange && (agentChange || r.gatewayId === audience.gatewayId));
  const beforeRules = relevant(current);
  const afterRules = relevant(proposed);

  const users = await db.user.findMany({ select: { id: true, subject: true, email: true, name: true, groups: true }, orderBy: { createdAt: "asc" }, take: PREVIEW_USER_LIMIT });
  const gained: AffectedUser[] = [];
  const lost: AffectedUser[] = [];
  let coveredBefore = 0;
  let coveredAfter = 0;
  const lostIds: string[] = [];
  for (const u of users) {
    const subject = { userId: u.id, subject: u.subject, email: u.email, groups: u.groups };
    const was = beforeRules.some((r) => selectsSubject(r, subject));
    const is = afterRules.some((r) => selectsSubject(r, subject));
    if (was) coveredBefore++;
    if (is) coveredAfter++;
    if (!was && is) gained.push({ id: u.id, email: u.email, name: u.name });
    if (was && !is) {
      lost.push({ id: u.id, email: u.email, name: u.name });
      lostIds.push(u.id);
    }
  }
  const lostWithActiveGrants = lostIds.length
    ? await db.grant.count({ where: { providerId: audience.providerId, status: "active", userId: { in: lostIds } } })
    : 0;
  const agents = agentChange ? await previewAgents(audience.providerId, current, proposed) : undefined;
  return {
    ...(agents ? { agents } : {}),
    audience,
    usersConsidered: users.length,
    coveredBefore,
    coveredAfter,
    gained: gained.slice(0, SAMPLE),
    lost: lost.slice(0, SAMPLE),
    gainedCount: gained.length,
    lostCount: lost.length,
    lostWithActiveGrants,
    scopesBefore: scopesOf(beforeRules),
    scopesAfter: scopesOf(afterRules),
  };
}
