// /admin/providers - registered providers; create from a preset or generic OIDC/OAuth 2/API key.
import type { Metadata } from "next";
import Link from "next/link";
import { AdminForm } from "@/components/admin/admin-form";
import { Panel, SecretField, SelectField, TextField } from "@/components/admin/fields";
import { Badge, DataTable, Td, When } from "@/components/admin/table";
import { SubmitButton } from "@/components/ui/button";
import { requireAdminPage } from "@/lib/admin/guard";
import { getDb } from "@/lib/db/client";
import { presetNames } from "@/lib/providers/presets";
import { createGenericProviderAction, createPresetProviderAction, testDiscoveryAction } from "./actions";
import { ProviderFields } from "./provider-fields";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Providers" };

export default async function ProvidersPage() {
  const { formToken } = await requireAdminPage("/admin/providers");
  const db = await getDb();
  const [providers, grantCounts] = await Promise.all([
    db.provider.findMany({ orderBy: { slug: "asc" } }),
    db.grant.groupBy({ by: ["providerId"], where: { status: "active" }, _count: { _all: true } }),
  ]);
  const counts = new Map(grantCounts.map((g) => [g.providerId, g._count._all]));
  return (
    <>
      <h1 className="text-2xl font-semibold tracking-tight [overflow-wrap:anywhere]">Providers</h1>
      <DataTable caption="Providers" head={["Name", "Slug", "Kind", "Issuer / endpoint", "Revocation", "Active connections", "Status", "Created"]} empty={providers.length === 0} emptyText="No providers registered yet.">
        {providers.map((p) => (
          <tr key={p.id}>
            <Td>
              <Link href={`/admin/providers/${p.id}`} className="font-medium hover:underline">
                {p.displayName}
              </Link>
            </Td>
            <Td className="font-mono text-xs">{p.slug}</Td>
            <Td>
              {p.kind}
              {p.preset ? <span className="text-slate-500"> ({p.preset})</span> : null}
            </Td>
            <Td className="max-w-72 truncate text-xs">{p.issuer ?? p.authorizationEndpoint ?? p.apiKeyHeader ?? "—"}</Td>
            <Td>{p.revocationEndpoint || p.kind === "oidc" ? "RFC 7009 if offered" : "—"}</Td>
            <Td>
              <Link href={`/admin/connections?provider=${p.id}&status=active`} className="hover:underline">
                {counts.get(p.id) ?? 0}
              </Link>
            </Td>
            <Td>
              <Badge value={p.status} />
            </Td>
            <Td>
              <When value={p.createdAt} />
            </Td>
          </tr>
        ))}
      </DataTable>

      <div className="grid gap-6 lg:grid-cols-2">
        <Panel title="Add from a preset">
          <AdminForm action={createPresetProviderAction} formToken={formToken} className="space-y-3" label="Add from a preset">
            <SelectField name="preset" label="Preset" options={presetNames.map((n) => ({ value: n, label: n }))} />
            <TextField name="slug" label="Slug" required hint="Lowercase letters, digits and dashes; part of the callback URL." />
            <TextField name="displayName" label="Display name (optional)" />
            <TextField name="clientId" label="Client id" />
            <SecretField name="clientSecret" label="Client secret" hint="Stored encrypted; never displayed again." />
            <TextField name="tenant" label="Tenant (Microsoft only)" />
            <SubmitButton pendingLabel="Creating…">Create provider</SubmitButton>
          </AdminForm>
        </Panel>
        <Panel title="Test an OIDC issuer">
          <AdminForm action={testDiscoveryAction} formToken={formToken} className="space-y-3" label="Test an OIDC issuer">
            <TextField name="issuer" label="Issuer URL" placeholder="https://accounts.example.com" />
            <SubmitButton variant="secondary" pendingLabel="Fetching discovery…">
              Test discovery
            </SubmitButton>
          </AdminForm>
        </Panel>
      </div>

      <Panel title="Add a generic provider">
        <AdminForm action={createGenericProviderAction} formToken={formToken} className="space-y-4" label="Add a generic provider">
          <div className="grid gap-4 md:grid-cols-3">
            <TextField name="slug" label="Slug" required />
            <TextField name="displayName" label="Display name" required />
            <SelectField name="kind" label="Kind" options={[{ value: "oidc", label: "OpenID Connect (discovery)" }, { value: "oauth2", label: "OAuth 2 (explicit endpoints)" }, { value: "api_key", label: "API key" }]} />
          </div>
          <ProviderFields />
          <SubmitButton pendingLabel="Creating…">Create provider</SubmitButton>
        </AdminForm>
      </Panel>
    </>
  );
}
