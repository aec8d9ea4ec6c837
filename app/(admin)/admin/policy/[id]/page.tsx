// /admin/policy/<id> - edit one rule; disable or delete it, with who would lose access.
import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { ConfirmAction, EnableToggle } from "@/components/admin/confirm";
import { DetailHeader } from "@/components/admin/detail-header";
import { Panel } from "@/components/admin/fields";
import { requireAdminPage } from "@/lib/admin/guard";
import { findPolicyRule, previewPolicyChange } from "@/lib/admin/policy";
import { describePreview } from "@/lib/admin/policy-text";
import { getDb } from "@/lib/db/client";
import { isAgentRule } from "@/lib/policy/evaluate";
import { deletePolicyRuleAction, setPolicyRuleEnabledAction } from "../actions";
import { RuleForm, type RuleFormValues } from "../rule-form";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Policy rule" };

function formValues(rule: NonNullable<Awaited<ReturnType<typeof findPolicyRule>>>): RuleFormValues {
  const { id, providerId, gatewayId, scopes, users, groups, description, preApproved, agents, agentIssuer, agentSubjectPrefix } = rule;
  const kind = isAgentRule(rule) ? "agent" : gatewayId ? "gateway" : "user";
  return { id, kind, providerId, gatewayId, scopes, users, groups, description, preApproved, agents, agentIssuer, agentSubjectPrefix };
}

export default async function PolicyRulePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const { formToken } = await requireAdminPage(`/admin/policy/${id}`);
  const db = await getDb();
  const rule = await findPolicyRule(id);
  if (!rule) notFound();
  const [providers, gateways, agents, ifDeleted] = await Promise.all([
    db.provider.findMany({ select: { id: true, displayName: true }, orderBy: { slug: "asc" } }),
    db.gateway.findMany({ select: { id: true, name: true }, orderBy: { name: "asc" } }),
    db.agent.findMany({ select: { id: true, displayName: true, subject: true }, orderBy: { displayName: "asc" }, take: 200 }),
    previewPolicyChange({ kind: "delete", id }),
  ]);
  return (
    <>
      <DetailHeader back={{ href: "/admin/policy", label: "Policy" }} title={`Policy rule ${rule.id}`} />
      <Panel title="Edit">
        <RuleForm formToken={formToken} rule={formValues(rule)} providers={providers} gateways={gateways} agents={agents} />
      </Panel>
      <Panel title="Disable or delete">
        <EnableToggle
          enabled={rule.enabled}
          noun="rule"
          consequence={<p>Effective from the next request. {describePreview(ifDeleted)}</p>}
          action={setPolicyRuleEnabledAction}
          formToken={formToken}
          disable={{ ruleId: rule.id, enabled: "false" }}
          enable={{ ruleId: rule.id, enabled: "true" }}
        />
        <ConfirmAction
          summary="Delete this rule…"
          consequence={<p>Effective from the next request; cannot be undone (add the rule again instead). {describePreview(ifDeleted)}</p>}
          confirmLabel="Delete rule"
          pendingLabel="Deleting…"
          action={deletePolicyRuleAction}
          formToken={formToken}
          hidden={{ ruleId: rule.id }}
        />
      </Panel>
    </>
  );
}
