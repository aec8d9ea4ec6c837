"use server";
// Policy actions: create or edit a rule (or only preview who it affects), enable/disable, delete.
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { checkbox, listField, optionalText } from "@/lib/admin/form-fields";
import { previewEffectiveDecision, setAgentsExplicit } from "@/lib/admin/agent-policy";
import { adminAction } from "@/lib/admin/guard";
import { describeEffectiveDecision, describePreview } from "@/lib/admin/policy-text";
import { AppError } from "@/lib/errors";
import { previewPolicyChange, setPolicyRuleEnabled, updatePolicyRule, validatePolicyDraft } from "@/lib/admin/policy";
import { createPolicyRule, deletePolicyRule } from "@/lib/policy/rules";

const id = z.string().min(1).max(128);

const ruleFields = {
  providerId: id,
  /** user: who may connect; gateway: what one gateway may request; agent: what selected agents may do. */
  kind: z.enum(["user", "gateway", "agent"]),
  gatewayId: optionalText(128),
  scopes: listField(256, 100),
  users: listField(320, 500),
  groups: listField(200, 200),
  description: optionalText(500),
  preApproved: checkbox,
  agents: listField(128, 200),
  agentIssuer: optionalText(2048),
  agentSubjectPrefix: optionalText(1024),
  intent: z.enum(["preview", "save"]),
};

type RuleFields = z.output<z.ZodObject<typeof ruleFields>>;

/** The form's kind decides which fields count: an agent rule needs a selector, the others take none. */
async function draftOf({ kind, intent: _intent, ...input }: RuleFields) {
  const agentFields = { agents: input.agents, agentIssuer: input.agentIssuer ?? null, agentSubjectPrefix: input.agentSubjectPrefix ?? null };
  if (kind === "agent" && agentFields.agents.length === 0 && !agentFields.agentIssuer && !agentFields.agentSubjectPrefix) {
    throw new AppError("invalid_body", "An agent rule selects agents: choose agents, an issuer or a subject prefix");
  }
  if (kind === "gateway" && !input.gatewayId) throw new AppError("invalid_body", "A gateway rule names its gateway");
  return validatePolicyDraft({
    ...input,
    gatewayId: kind === "user" ? null : (input.gatewayId ?? null),
    description: input.description ?? "",
    preApproved: kind === "gateway" && input.preApproved,
    ...(kind === "agent" ? agentFields : { agents: [], agentIssuer: null, agentSubjectPrefix: null }),
  });
}

export const savePolicyRuleAction = adminAction("policy.save", z.object({ ruleId: optionalText(128), ...ruleFields }), async ({ ruleId, ...fields }, { actor }) => {
  const { intent } = fields;
  const draft = await draftOf(fields);
  const change = ruleId ? ({ kind: "update", id: ruleId, draft } as const) : ({ kind: "create", draft } as const);
  const preview = await previewPolicyChange(change);
  if (intent === "preview") return { message: `Preview (nothing saved): ${describePreview(preview)}` };
  if (ruleId) await updatePolicyRule(ruleId, draft, actor);
  else await createPolicyRule(draft, actor);
  revalidatePath("/admin/policy", "layout");
  return { message: `Saved. ${describePreview(preview)}` };
});

export const setPolicyRuleEnabledAction = adminAction(
  "policy.set_enabled",
  z.object({ ruleId: id, enabled: z.enum(["true", "false"]) }),
  async ({ ruleId, enabled }, { actor }) => {
    await setPolicyRuleEnabled(ruleId, enabled === "true", actor);
    revalidatePath("/admin/policy", "layout");
    return { message: enabled === "true" ? "Rule enabled." : "Rule disabled." };
  },
);

export const deletePolicyRuleAction = adminAction("policy.delete", z.object({ ruleId: id }), async ({ ruleId }, { actor }) => {
  await deletePolicyRule(ruleId, actor);
  revalidatePath("/admin/policy", "layout");
  return { message: "Rule deleted." };
});

export const setAgentsExplicitAction = adminAction(
  "policy.agents_explicit",
  z.object({ providerId: id, agentsExplicit: z.enum(["true", "false"]) }),
  async ({ providerId, agentsExplicit }, { actor }) => {
    const provider = await setAgentsExplicit(providerId, agentsExplicit === "true", actor);
    revalidatePath("/admin/policy", "layout");
    return {
      message:
        agentsExplicit === "true"
          ? `${provider.displayName}: agents must now be allowed explicitly; an agent no agent rule selects is denied from its next call.`
          : `${provider.displayName}: agents without an agent rule now get what their user and gateway may do.`,
    };
  },
);

export const previewEffectiveDecisionAction = adminAction(
  "policy.preview_decision",
  z.object({ userId: id, gatewayId: id, agentId: optionalText(128), providerId: id, scopes: listField(256, 100) }),
  async ({ agentId, ...input }) => {
    const effective = await previewEffectiveDecision({ ...input, agentId: agentId ?? null });
    return { message: `Effective decision (nothing saved): ${describeEffectiveDecision(effective)}` };
  },
);
