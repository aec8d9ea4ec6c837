// /admin/connections - every user's connections (grants): search, filters and page in the URL;
// revoke one, or all of the filtered user, provider or gateway.
import type { Metadata } from "next";
import Link from "next/link";
import { ConfirmAction } from "@/components/admin/confirm";
import { Badge, DataTable, FilterBar, FilterInput, FilterSelect, Pagination, Td, When } from "@/components/admin/table";
import { findGrantsForBulkRevoke, type BulkRevokeTarget } from "@/lib/admin/bulk-revoke";
import { listGrantsPage, type GrantFilter } from "@/lib/admin/grants";
import { requireAdminPage } from "@/lib/admin/guard";
import { toPageRequest } from "@/lib/admin/pagination";
import { getDb } from "@/lib/db/client";
import { bulkRevokeAction, revokeGrantAction } from "./actions";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Connections" };

const STATUSES = ["active", "needs_reauth", "revoked"] as const;
type Params = Record<string, string | string[] | undefined>;
const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.trim() || undefined;

export default async function ConnectionsPage({ searchParams }: { searchParams: Promise<Params> }) {
  const { formToken } = await requireAdminPage("/admin/connections");
  const sp = await searchParams;
  const query = {
    q: one(sp.q)?.slice(0, 200),
    status: STATUSES.find((s) => s === one(sp.status)),
    provider: one(sp.provider),
    user: one(sp.user),
    gateway: one(sp.gateway),
    pageSize: one(sp.pageSize),
  };
  const pageReq = toPageRequest(one(sp.page), query.pageSize);
  const db = await getDb();
  const [providers, gateways, user] = await Promise.all([
    db.provider.findMany({ select: { id: true, slug: true, displayName: true }, orderBy: { slug: "asc" } }),
    db.gateway.findMany({ select: { id: true, name: true }, orderBy: { name: "asc" } }),
    query.user ? db.user.findUnique({ where: { id: query.user }, select: { id: true, email: true, name: true } }) : null,
  ]);
  const filter: GrantFilter = { q: query.q, status: query.status, providerId: query.provider, userId: query.user, gatewayId: query.gateway };
  const page = await listGrantsPage(filter, pageReq);

  // Bulk revoke is offered for the user, provider or gateway the view is filtered by.
  const bulk: { target: BulkRevokeTarget; label: string; value: string }[] = [];
  if (user) bulk.push({ target: { by: "user", userId: user.id }, label: `user ${user.email ?? user.name ?? user.id}`, value: user.id });
  const provider = providers.find((p) => p.id === query.provider);
  if (provider) bulk.push({ target: { by: "provider", providerId: provider.id }, label: `provider ${provider.displayName} (${provider.slug})`, value: provider.id });
  const gateway = gateways.find((g) => g.id === query.gateway);
  if (gateway) bulk.push({ target: { by: "gateway", gatewayId: gateway.id }, label: `gateway ${gateway.name}`, value: gateway.id });
  const bulkCounts = await Promise.all(bulk.map((b) => findGrantsForBulkRevoke(b.target).then((ids) => ids.length)));

  return (
    <>
      <h1 className="text-2xl font-semibold tracking-tight [overflow-wrap:anywhere]">Connections</h1>
      <FilterBar path="/admin/connections">
        <FilterInput name="q" label="Search (user, provider)" defaultValue={query.q} placeholder="alice@example.com" />
        <FilterSelect name="status" label="Status" defaultValue={query.status} options={STATUSES.map((s) => ({ value: s, label: s.replace("_", " ") }))} />
        <FilterSelect name="provider" label="Provider" defaultValue={query.provider} options={providers.map((p) => ({ value: p.id, label: p.displayName }))} />
        <FilterSelect name="gateway" label="Last used by gateway" defaultValue={query.gateway} options={gateways.map((g) => ({ value: g.id, label: g.name }))} />
        {query.user ? <input type="hidden" name="user" value={query.user} /> : null}
        <FilterSelect name="pageSize" label="Per page" defaultValue={String(pageReq.pageSize)} options={["25", "50", "100"].map((v) => ({ value: v, label: v }))} />
      </FilterBar>

      {bulk.map((b, i) => (
        <div key={b.target.by} className="rounded-lg border border-red-200 bg-white p-4 shadow-sm">
          <ConfirmAction
            summary={`Revoke all ${bulkCounts[i]} live connection${bulkCounts[i] === 1 ? "" : "s"} of ${b.label}…`}
            consequence={
              <p>
                Frontdesk will delete the stored credentials of <strong>{bulkCounts[i]}</strong> connection{bulkCounts[i] === 1 ? "" : "s"} (active or needing re-authorization) of {b.label}
                {b.target.by === "gateway" ? " (every connection this gateway received a credential from)" : ""} and ask each provider that supports it to
                revoke them. Agents lose access at once; users are asked to connect again on their next request. This cannot be undone.
              </p>
            }
            confirmLabel={`Revoke ${bulkCounts[i]} connections`}
            pendingLabel="Revoking…"
            action={bulkRevokeAction}
            formToken={formToken}
            hidden={{ by: b.target.by, target: b.value }}
          />
        </div>
      ))}

      <DataTable caption="Connections" head={["User", "Provider", "Scopes", "Status", "Connected", "Last used", "Last refreshed", "Gateway (last use)", ""]} empty={page.rows.length === 0}>
        {page.rows.map((g) => (
          <tr key={g.id} data-grant-id={g.id}>
            <Td>
              <Link href={`/admin/connections?user=${encodeURIComponent(g.user.id)}`} className="hover:underline">
                {g.user.email ?? g.user.name ?? g.user.subject}
              </Link>
            </Td>
            <Td>{g.provider.displayName}</Td>
            <Td className="max-w-56">
              <span className="break-words font-mono text-xs">{g.scopes.join(" ") || "—"}</span>
            </Td>
            <Td>
              <Badge value={g.status} />
            </Td>
            <Td>
              <When value={g.createdAt} />
            </Td>
            <Td>
              <When value={g.lastUsedAt} />
            </Td>
            <Td>
              <When value={g.lastRefreshedAt} />
            </Td>
            <Td>{g.lastUsedGateway?.name ?? <span className="text-slate-400">—</span>}</Td>
            <Td>
              {g.status !== "revoked" ? (
                <ConfirmAction
                  summary="Revoke…"
                  consequence={
                    <p>
                      Deletes {g.user.email ?? "this user"}&apos;s {g.provider.displayName} credential and asks {g.provider.displayName} to revoke it. The next
                      request needs the user&apos;s consent again.
                    </p>
                  }
                  confirmLabel="Revoke connection"
                  pendingLabel="Revoking…"
                  action={revokeGrantAction}
                  formToken={formToken}
                  hidden={{ grantId: g.id }}
                />
              ) : (
                <span className="text-xs text-slate-500">
                  revoked <When value={g.revokedAt} />
                </span>
              )}
            </Td>
          </tr>
        ))}
      </DataTable>
      <Pagination path="/admin/connections" query={{ ...query, pageSize: query.pageSize }} page={page.page} pageCount={page.pageCount} total={page.total} />
    </>
  );
}
