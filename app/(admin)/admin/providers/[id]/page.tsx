// /admin/providers/<id> - edit a provider (secret write-only), disable/enable, test discovery.
import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { AdminForm } from "@/components/admin/admin-form";
import { EnableToggle } from "@/components/admin/confirm";
import { DetailHeader } from "@/components/admin/detail-header";
import { Panel, TextField } from "@/components/admin/fields";
import { SubmitButton } from "@/components/ui/button";
import { requireAdminPage } from "@/lib/admin/guard";
import { getDb } from "@/lib/db/client";
import { findProviderById } from "@/lib/providers/find";
import { setProviderStatusAction, testDiscoveryAction, updateProviderAction } from "../actions";
import { ProviderFields } from "../provider-fields";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Provider" };

export default async function ProviderPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const { formToken } = await requireAdminPage(`/admin/providers/${id}`);
  const provider = await findProviderById(id);
  if (!provider) notFound();
  const db = await getDb();
  const active = await db.grant.count({ where: { providerId: id, status: "active" } });
  return (
    <>
      <DetailHeader back={{ href: "/admin/providers", label: "Providers" }} title={provider.displayName} status={provider.status}>
        {provider.kind}
        {provider.preset ? ` · preset ${provider.preset}` : ""} · slug <code>{provider.slug}</code> · {active} active connection{active === 1 ? "" : "s"}
      </DetailHeader>
      {provider.allowPrivateNetwork ? (
        <p role="note" className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900">
          <strong>Private network allowed.</strong> The egress proxy may connect to this provider&apos;s API on private and loopback addresses. Keep this only for an on-premises API
          or development.
        </p>
      ) : null}
      <Panel title="Settings">
        <AdminForm action={updateProviderAction} formToken={formToken} className="space-y-4" label="Provider settings">
          <input type="hidden" name="providerId" value={provider.id} />
          <TextField name="displayName" label="Display name" defaultValue={provider.displayName} required />
          <ProviderFields provider={provider} />
          <SubmitButton pendingLabel="Saving…">Save changes</SubmitButton>
        </AdminForm>
      </Panel>
      {provider.kind === "oidc" ? (
        <Panel title="Discovery">
          <AdminForm action={testDiscoveryAction} formToken={formToken} label="Test discovery">
            <input type="hidden" name="providerId" value={provider.id} />
            <SubmitButton variant="secondary" pendingLabel="Fetching discovery…">
              Test discovery of {provider.issuer}
            </SubmitButton>
          </AdminForm>
        </Panel>
      ) : null}
      <Panel title="Status">
        <EnableToggle
          enabled={provider.status === "active"}
          noun="provider"
          consequence={<p>Gateways can no longer resolve {provider.displayName} credentials and no new connections start. The {active} stored connections are kept (revoke them on the Connections page if needed). You can enable it again.</p>}
          action={setProviderStatusAction}
          formToken={formToken}
          disable={{ providerId: provider.id, status: "disabled" }}
          enable={{ providerId: provider.id, status: "active" }}
        />
      </Panel>
    </>
  );
}
