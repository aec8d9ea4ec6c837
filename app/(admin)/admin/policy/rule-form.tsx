"use client";
// Create/edit form of a policy rule, with "Preview who is affected" and "Save". Three kinds:
// a user rule (who may connect), a gateway rule (what one gateway may request) and an agent rule
// (what the agents it selects may do, optionally only through one gateway).
// After a preview or a refused save the form shows what was submitted, so Save after Preview
// saves what the admin typed; after adding a rule the new-rule form is empty again.
import { AdminForm, type LastSubmission } from "@/components/admin/admin-form";
import { CheckboxField, SelectField, TextField } from "@/components/admin/fields";
import { SubmitButton } from "@/components/ui/button";
import { savePolicyRuleAction } from "./actions";

export type RuleKind = "user" | "gateway" | "agent";

/** What the form shows: a saved rule's fields (edit) or nothing yet (new rule). */
export interface RuleFormValues {
  id: string;
  kind: RuleKind;
  providerId: string;
  gatewayId: string | null;
  scopes: string[];
  users: string[];
  groups: string[];
  description: string;
  preApproved: boolean;
  agents: string[];
  agentIssuer: string | null;
  agentSubjectPrefix: string | null;
}

interface Shown {
  kind: string;
  providerId?: string;
  gatewayId: string;
  scopes: string;
  users: string;
  groups: string;
  description: string;
  preApproved: boolean;
  agents: string[];
  agentIssuer: string;
  agentSubjectPrefix: string;
}

function fromRule(rule?: RuleFormValues): Shown {
  return {
    kind: rule?.kind ?? "user",
    providerId: rule?.providerId,
    gatewayId: rule?.gatewayId ?? "",
    scopes: rule?.scopes.join(" ") ?? "",
    users: rule?.users.join(" ") ?? "",
    groups: rule?.groups.join(" ") ?? "",
    description: rule?.description ?? "",
    preApproved: rule?.preApproved ?? false,
    agents: rule?.agents ?? [],
    agentIssuer: rule?.agentIssuer ?? "",
    agentSubjectPrefix: rule?.agentSubjectPrefix ?? "",
  };
}

function fromSubmitted(form: FormData): Shown {
  const text = (name: string) => {
    const v = form.get(name);
    return typeof v === "string" ? v : "";
  };
  return {
    kind: text("kind"),
    providerId: text("providerId"),
    gatewayId: text("gatewayId"),
    scopes: text("scopes"),
    users: text("users"),
    groups: text("groups"),
    description: text("description"),
    preApproved: form.has("preApproved"),
    agents: form.getAll("agents").filter((v): v is string => typeof v === "string"),
    agentIssuer: text("agentIssuer"),
    agentSubjectPrefix: text("agentSubjectPrefix"),
  };
}

/** A new rule that was added starts the form over; anything else shows what was submitted. */
function shownAfter(last: LastSubmission | null, rule?: RuleFormValues): Shown {
  if (!last) return fromRule(rule);
  const added = !rule && last.result.ok && last.submitted.get("intent") === "save";
  return added ? fromRule() : fromSubmitted(last.submitted);
}

export function RuleForm({
  formToken,
  rule,
  providers,
  gateways,
  agents,
}: {
  formToken: string;
  rule?: RuleFormValues;
  providers: { id: string; displayName: string }[];
  gateways: { id: string; name: string }[];
  agents: { id: string; displayName: string; subject: string }[];
}) {
  return (
    <AdminForm action={savePolicyRuleAction} formToken={formToken} className="space-y-4" label={rule ? "Edit rule" : "New rule"}>
      {(last) => {
        const shown = shownAfter(last, rule);
        return (
          <>
            {rule ? <input type="hidden" name="ruleId" value={rule.id} /> : null}
            <div className="grid gap-4 md:grid-cols-3">
              <SelectField name="providerId" label="Provider" defaultValue={shown.providerId} options={providers.map((p) => ({ value: p.id, label: p.displayName }))} />
              <SelectField
                name="kind"
                label="Kind of rule"
                defaultValue={shown.kind}
                options={[
                  { value: "user", label: "User rule: who may connect the provider" },
                  { value: "gateway", label: "Gateway rule: what the gateway may request" },
                  { value: "agent", label: "Agent rule: what the selected agents may do" },
                ]}
              />
              <SelectField
                name="gatewayId"
                label="Gateway"
                defaultValue={shown.gatewayId}
                options={[{ value: "", label: "None (user rule) / any gateway (agent rule)" }, ...gateways.map((g) => ({ value: g.id, label: g.name }))]}
                hint="Required for a gateway rule; for an agent rule, limits it to calls through this gateway."
              />
              <TextField name="scopes" label="Allowed scopes" defaultValue={shown.scopes} hint="Space separated; empty or * = any scope." />
              <TextField name="users" label="Only these users" defaultValue={shown.users} hint="User ids, subjects or emails; empty with no groups = everyone." />
              <TextField name="groups" label="Only these groups" defaultValue={shown.groups} hint="IdP groups." />
              <TextField name="description" label="Why this rule exists" defaultValue={shown.description} />
            </div>
            <CheckboxField
              name="preApproved"
              label="Pre-approve this gateway (gateway rules)"
              defaultChecked={shown.preApproved}
              hint="Users it selects are not asked to approve this gateway for a connection they already have, for the scopes the rule names."
            />
            <fieldset className="space-y-3 rounded-md border border-slate-200 p-3">
              <legend className="px-1 text-sm font-medium text-slate-800">Agents (agent rules only; every selector given must match)</legend>
              {agents.length > 0 ? (
                <div className="flex max-h-40 flex-wrap gap-x-5 gap-y-1 overflow-y-auto" role="group" aria-label="Registered agents">
                  {agents.map((a) => (
                    <label key={a.id} className="flex items-center gap-2 text-sm">
                      <input type="checkbox" name="agents" value={a.id} defaultChecked={shown.agents.includes(a.id)} />
                      <span>
                        {a.displayName} <span className="font-mono text-xs text-slate-500 [overflow-wrap:anywhere]">{a.subject}</span>
                      </span>
                    </label>
                  ))}
                </div>
              ) : (
                <p className="text-xs text-slate-500">No agents registered yet; select them by issuer or subject prefix instead.</p>
              )}
              <div className="grid gap-4 md:grid-cols-2">
                <TextField name="agentIssuer" label="Agent issuer" defaultValue={shown.agentIssuer} placeholder="spiffe://corp.example" />
                <TextField
                  name="agentSubjectPrefix"
                  label="Agent subject prefix"
                  defaultValue={shown.agentSubjectPrefix}
                  placeholder="spiffe://corp.example/ns/prod"
                  hint="Matches on path boundaries: /ns/prod covers /ns/prod/x, not /ns/production."
                />
              </div>
            </fieldset>
            <div className="flex flex-wrap gap-3">
              <SubmitButton name="intent" value="preview" variant="secondary" pendingLabel="Computing…">
                Preview who is affected
              </SubmitButton>
              <SubmitButton name="intent" value="save" pendingLabel="Saving…">
                {rule ? "Save rule" : "Add rule"}
              </SubmitButton>
            </div>
          </>
        );
      }}
    </AdminForm>
  );
}
