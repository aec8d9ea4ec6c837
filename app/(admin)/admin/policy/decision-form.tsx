"use client";
// The "effective decision" form of the policy page. It stays filled in after each answer (see
// AdminForm), so the admin can change one field, e.g. add an agent rule and ask again.
import { AdminForm } from "@/components/admin/admin-form";
import { SelectField, TextField } from "@/components/admin/fields";
import { SubmitButton } from "@/components/ui/button";
import { previewEffectiveDecisionAction } from "./actions";

type Option = { value: string; label: string };

export function DecisionForm({ formToken, users, gateways, agents, providers }: { formToken: string; users: Option[]; gateways: Option[]; agents: Option[]; providers: Option[] }) {
  return (
    <AdminForm action={previewEffectiveDecisionAction} formToken={formToken} className="space-y-4" label="Effective decision">
      {(last) => {
        const shown = (name: string) => {
          const v = last?.submitted.get(name);
          return typeof v === "string" ? v : undefined;
        };
        return (
          <>
            <div className="grid gap-4 md:grid-cols-3">
              <SelectField name="userId" label="User" defaultValue={shown("userId")} options={users} />
              <SelectField name="gatewayId" label="Gateway" defaultValue={shown("gatewayId")} options={gateways} />
              <SelectField name="agentId" label="Agent" defaultValue={shown("agentId")} options={[{ value: "", label: "No agent (the user's own call)" }, ...agents]} />
              <SelectField name="providerId" label="Provider" defaultValue={shown("providerId")} options={providers} />
              <TextField name="scopes" label="Requested scopes" defaultValue={shown("scopes")} required placeholder="notes:read" />
            </div>
            <SubmitButton variant="secondary" pendingLabel="Computing…">
              Show the effective decision
            </SubmitButton>
          </>
        );
      }}
    </AdminForm>
  );
}
