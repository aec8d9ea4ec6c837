// Create/edit form of a policy rule, with "Preview who is affected" and "Save".
import { AdminForm } from "@/components/admin/admin-form";
import { SelectField, TextField } from "@/components/admin/fields";
import { SubmitButton } from "@/components/ui/button";
import type { PolicyRule } from "@/lib/generated/prisma/client";
import { savePolicyRuleAction } from "./actions";

export function RuleForm({
  formToken,
  rule,
  providers,
  gateways,
}: {
  formToken: string;
  rule?: PolicyRule;
  providers: { id: string; displayName: string }[];
  gateways: { id: string; name: string }[];
}) {
  return (
    <AdminForm action={savePolicyRuleAction} formToken={formToken} className="space-y-4" label={rule ? "Edit rule" : "New rule"}>
      {rule ? <input type="hidden" name="ruleId" value={rule.id} /> : null}
      <div className="grid gap-4 md:grid-cols-3">
        <SelectField name="providerId" label="Provider" defaultValue={rule?.providerId} options={providers.map((p) => ({ value: p.id, label: p.displayName }))} />
        <SelectField
          name="gatewayId"
          label="Applies to"
          defaultValue={rule?.gatewayId ?? ""}
          options={[{ value: "", label: "Users (who may connect the provider)" }, ...gateways.map((g) => ({ value: g.id, label: `Gateway ${g.name} (what it may request)` }))]}
        />
        <TextField name="scopes" label="Allowed scopes" defaultValue={rule?.scopes.join(" ")} hint="Space separated; empty or * = any scope." />
        <TextField name="users" label="Only these users" defaultValue={rule?.users.join(" ")} hint="User ids, subjects or emails; empty with no groups = everyone." />
        <TextField name="groups" label="Only these groups" defaultValue={rule?.groups.join(" ")} hint="IdP groups." />
        <TextField name="description" label="Why this rule exists" defaultValue={rule?.description} />
      </div>
      <div className="flex gap-3">
        <SubmitButton name="intent" value="preview" variant="secondary" pendingLabel="Computing…">
          Preview who is affected
        </SubmitButton>
        <SubmitButton name="intent" value="save" pendingLabel="Saving…">
          {rule ? "Save rule" : "Add rule"}
        </SubmitButton>
      </div>
    </AdminForm>
  );
}
