// /admin/delegations - every user's standing delegations to agents (newest first); revoke one.
import type { Metadata } from "next";
import { DelegationTable } from "@/components/admin/delegation-table";
import { FilterBar, FilterSelect } from "@/components/admin/table";
import { requireAdminPage } from "@/lib/admin/guard";
import { maxDelegationDays } from "@/lib/delegations/create";
import { listDelegations } from "@/lib/delegations/list";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Delegations" };

export default async function DelegationsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { formToken } = await requireAdminPage("/admin/delegations");
  const state = (await searchParams).state;
  const activeOnly = state === "active";
  const delegations = await listDelegations({ activeOnly });
  return (
    <>
      <h1 className="text-2xl font-semibold tracking-tight [overflow-wrap:anywhere]">Delegations</h1>
      <p className="max-w-3xl text-sm text-slate-700">
        A delegation lets one agent use one user&apos;s connection while the user is away: only the scopes listed, until it expires (at most {maxDelegationDays()} days), and only where policy allows the agent and gateway too. Users create them on their connections page.
      </p>
      <FilterBar path="/admin/delegations">
        <FilterSelect name="state" label="State" defaultValue={activeOnly ? "active" : ""} options={[{ value: "active", label: "Active only" }]} />
      </FilterBar>
      <DelegationTable delegations={delegations} formToken={formToken} caption="Delegations" emptyText={activeOnly ? "No active delegations." : "No delegations yet."} />
    </>
  );
}
