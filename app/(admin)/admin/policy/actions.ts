"use server";
// Policy actions: create or edit a rule (or only preview who it affects), enable/disable, delete.
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { listField, optionalText } from "@/lib/admin/form-fields";
import { adminAction } from "@/lib/admin/guard";
import { describePreview } from "@/lib/admin/policy-text";
import { previewPolicyChange, setPolicyRuleEnabled, updatePolicyRule, validatePolicyDraft } from "@/lib/admin/policy";
import { createPolicyRule, deletePolicyRule } from "@/lib/policy/rules";

const id = z.string().min(1).max(128);

const ruleFields = {
  providerId: id,
  gatewayId: optionalText(128),
  scopes: listField(256, 100),
  users: listField(320, 500),
  groups: listField(200, 200),
  description: optionalText(500),
  intent: z.enum(["preview", "save"]),
};

async function draftOf(input: { providerId: string; gatewayId?: string; scopes: string[]; users: string[]; groups: string[]; description?: string }) {
  return validatePolicyDraft({ ...input, gatewayId: input.gatewayId ?? null, description: input.description ?? "" });
}

export const savePolicyRuleAction = adminAction("policy.save", z.object({ ruleId: optionalText(128), ...ruleFields }), async ({ ruleId, intent, ...fields }, { actor }) => {
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
