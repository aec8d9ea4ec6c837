// /admin/policy - allow rules (deny by default): who may connect which provider, and what each
// gateway may request. Add rules with a preview of who is affected.
import type { Metadata } from "next";
import Link from "next/link";
import { Panel } from "@/components/admin/fields";
import { Badge, DataTable, Td } from "@/components/admin/table";
import { requireAdminPage } from "@/lib/admin/guard";
import { getDb } from "@/lib/db/client";
import { RuleForm } from "./rule-form";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Policy" };

export default async function PolicyPage() {
  const { formToken } = await requireAdminPage("/admin/policy");
  const db = await getDb();
  const [rules, providers, gateways] = await Promise.all([
    db.policyRule.findMany({
      orderBy: [{ providerId: "asc" }, { createdAt: "asc" }],
      include: { provider: { select: { displayName: true } }, gateway: { select: { name: true } } },
    }),
    db.provider.findMany({ select: { id: true, displayName: true }, orderBy: { slug: "asc" } }),
    db.gateway.findMany({ select: { id: true, name: true }, orderBy: { name: "asc" } }),
  ]);
  return (
    <>
      <h1 className="text-2xl font-semibold tracking-tight [overflow-wrap:anywhere]">Policy</h1>
      <p className="max-w-3xl text-sm text-slate-700">
        Everything not allowed here is denied. A request needs a <strong>gateway rule</strong> (this gateway may request these scopes of the provider) and a{" "}
        <strong>user rule</strong> (this user may connect the provider with these scopes), both covering every requested scope.
      </p>
      <DataTable caption="Policy rules" head={["Provider", "Kind", "Scopes", "Selects", "Description", "Status", ""]} empty={rules.length === 0} emptyText="No rules: everything is denied.">
        {rules.map((r) => (
          <tr key={r.id}>
            <Td>{r.provider.displayName}</Td>
            <Td>{r.gateway ? `gateway ${r.gateway.name}` : "users"}</Td>
            <Td className="font-mono text-xs">{r.scopes.join(" ")}</Td>
            <Td className="text-xs">{r.users.length || r.groups.length ? [...r.users, ...r.groups.map((g) => `group:${g}`)].join(", ") : "everyone"}</Td>
            <Td className="max-w-64 text-xs text-slate-600">{r.description || "—"}</Td>
            <Td>
              <Badge value={r.enabled ? "active" : "disabled"} label={r.enabled ? "enabled" : "disabled"} />
            </Td>
            <Td>
              <Link href={`/admin/policy/${r.id}`} className="text-sm underline">
                Edit
              </Link>
            </Td>
          </tr>
        ))}
      </DataTable>
      <Panel title="Add a rule">
        <RuleForm formToken={formToken} providers={providers} gateways={gateways} />
      </Panel>
    </>
  );
}
