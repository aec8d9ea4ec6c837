// /admin/gateways/<id> - one gateway: settings, secret rotation, disable/enable, and the
// providers and scopes it may request (policy rules naming it).
import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { AdminForm } from "@/components/admin/admin-form";
import { ConfirmAction, EnableToggle } from "@/components/admin/confirm";
import { DetailHeader } from "@/components/admin/detail-header";
import { CheckboxField, Panel, SelectField, TextArea, TextField } from "@/components/admin/fields";
import { DataTable, Td } from "@/components/admin/table";
import { Alert } from "@/components/ui/alert";
import { SubmitButton } from "@/components/ui/button";
import { requireAdminPage } from "@/lib/admin/guard";
import { getDb } from "@/lib/db/client";
import { findGateway } from "@/lib/gateways/register";
import {
  allowGatewayProviderAction,
  removeGatewayRuleAction,
  rotateGatewaySecretAction,
  setGatewayStatusAction,
  updateGatewaySettingsAction,
} from "../actions";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Gateway" };

export default async function GatewayPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const { formToken } = await requireAdminPage(`/admin/gateways/${id}`);
  const gateway = await findGateway(id);
  if (!gateway || gateway.id !== id) notFound();
  const db = await getDb();
  const [rules, providers] = await Promise.all([
    db.policyRule.findMany({ where: { gatewayId: id }, include: { provider: { select: { slug: true, displayName: true } } }, orderBy: { createdAt: "asc" } }),
    db.provider.findMany({ select: { id: true, slug: true, displayName: true }, orderBy: { slug: "asc" } }),
  ]);
  return (
    <>
      <DetailHeader back={{ href: "/admin/gateways", label: "Gateways" }} title={gateway.name} status={gateway.status}>
        Client id <code className="font-mono">{gateway.id}</code> · {gateway.authMethod}
        {gateway.secretPrefix ? (
          <>
            {" "}
            · secret <code className="font-mono">{gateway.secretPrefix}…</code> (only the prefix is kept for display)
          </>
        ) : null}
      </DetailHeader>
      {gateway.trustedSubject ? (
        <Alert tone="warning" title="Trusted subject is on">
          This gateway may name any user without presenting a subject token. Anyone holding its credentials can obtain any user&apos;s connections that policy allows it.
        </Alert>
      ) : null}

      <Panel title="What this gateway may request">
        <DataTable caption="Gateway policy rules" head={["Provider", "Scopes", "Only for", "Enabled", ""]} empty={rules.length === 0} emptyText="No rules: this gateway may request nothing (deny by default).">
          {rules.map((r) => (
            <tr key={r.id}>
              <Td>{r.provider.displayName}</Td>
              <Td className="font-mono text-xs">{r.scopes.join(" ")}</Td>
              <Td className="text-xs">{r.users.length || r.groups.length ? [...r.users, ...r.groups.map((g) => `group:${g}`)].join(", ") : "everyone"}</Td>
              <Td>{r.enabled ? "yes" : "no"}</Td>
              <Td>
                <ConfirmAction
                  summary="Remove…"
                  consequence={<p>The gateway can no longer request {r.provider.displayName} scopes {r.scopes.join(" ")} (unless another rule allows them). Requests are denied from the next call.</p>}
                  confirmLabel="Remove rule"
                  pendingLabel="Removing…"
                  action={removeGatewayRuleAction}
                  formToken={formToken}
                  hidden={{ ruleId: r.id }}
                />
              </Td>
            </tr>
          ))}
        </DataTable>
        <AdminForm action={allowGatewayProviderAction} formToken={formToken} className="flex flex-wrap items-end gap-3" label="Allow a provider">
          <input type="hidden" name="gatewayId" value={gateway.id} />
          <SelectField name="providerId" label="Provider" options={providers.map((p) => ({ value: p.id, label: p.displayName }))} />
          <TextField name="scopes" label="Scopes (empty = any)" placeholder="notes:read notes:write" />
          <SubmitButton pendingLabel="Adding…">Allow</SubmitButton>
        </AdminForm>
        <p className="text-xs text-slate-500">Users also need a user rule for the provider (Policy page). Finer rules (per user or group) live there too.</p>
      </Panel>

      <Panel title="Settings">
        <AdminForm action={updateGatewaySettingsAction} formToken={formToken} className="space-y-4" label="Gateway settings">
          <input type="hidden" name="gatewayId" value={gateway.id} />
          <TextField name="webhookUrl" label="Webhook URL" defaultValue={gateway.webhookUrl} hint="Empty removes the webhook." />
          {gateway.authMethod === "private_key_jwt" ? (
            <div className="grid gap-4 md:grid-cols-2">
              <TextArea name="jwks" label="Replace keys: JWKS" rows={4} hint={gateway.jwksUri ? `Currently: ${gateway.jwksUri}` : "Currently: a pasted JWKS. Leave empty to keep."} />
              <TextField name="jwksUri" label="or JWKS URI" />
            </div>
          ) : null}
          <CheckboxField
            name="trustedSubject"
            label="Trusted subject (dangerous)"
            defaultChecked={gateway.trustedSubject}
            hint="Lets this gateway name any user without a subject token. Leave off unless the gateway authenticates users itself and you trust it completely."
          />
          <SubmitButton pendingLabel="Saving…">Save settings</SubmitButton>
        </AdminForm>
      </Panel>

      <Panel title="Credentials and status">
        {gateway.authMethod !== "private_key_jwt" ? (
          <ConfirmAction
            summary="Rotate the client secret…"
            consequence={<p>A new secret is generated and shown once. The current secret stops working immediately: update the gateway right away.</p>}
            confirmLabel="Rotate secret"
            pendingLabel="Rotating…"
            action={rotateGatewaySecretAction}
            formToken={formToken}
            hidden={{ gatewayId: gateway.id }}
          />
        ) : null}
        <EnableToggle
          enabled={gateway.status === "active"}
          noun="gateway"
          consequence={<p>Its next call fails with invalid_client; no credential is handed to it. Connections are kept. You can enable it again.</p>}
          action={setGatewayStatusAction}
          formToken={formToken}
          disable={{ gatewayId: gateway.id, status: "disabled" }}
          enable={{ gatewayId: gateway.id, status: "active" }}
        />
        <p className="text-sm">
          <Link className="underline" href={`/admin/connections?gateway=${gateway.id}`}>
            Connections last used by this gateway
          </Link>{" "}
          ·{" "}
          <Link className="underline" href={`/admin/audit?gateway=${gateway.id}`}>
            Its audit events
          </Link>
        </p>
      </Panel>
    </>
  );
}
