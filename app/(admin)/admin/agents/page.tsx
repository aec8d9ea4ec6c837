// /admin/agents - agents known by their verified actor tokens (issuer + subject), newest seen
// first; pre-register one so policy can name it before its first call.
import type { Metadata } from "next";
import Link from "next/link";
import { AdminForm } from "@/components/admin/admin-form";
import { Panel, TextArea, TextField } from "@/components/admin/fields";
import { Badge, DataTable, FilterBar, FilterInput, FilterSelect, Td, When } from "@/components/admin/table";
import { SubmitButton } from "@/components/ui/button";
import { requireAdminPage } from "@/lib/admin/guard";
import { listAgents } from "@/lib/agents/admin";
import { registerAgentAction } from "./actions";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Agents" };

type Params = Record<string, string | string[] | undefined>;
const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.trim().slice(0, 200) || undefined;

export default async function AgentsPage({ searchParams }: { searchParams: Promise<Params> }) {
  const { formToken } = await requireAdminPage("/admin/agents");
  const sp = await searchParams;
  const query = one(sp.q)?.replace(/\0/g, "");
  const status = one(sp.status) === "active" || one(sp.status) === "disabled" ? (one(sp.status) as "active" | "disabled") : undefined;
  const agents = await listAgents({ query, status });
  return (
    <>
      <h1 className="text-2xl font-semibold tracking-tight [overflow-wrap:anywhere]">Agents</h1>
      <p className="max-w-3xl text-sm text-slate-700">
        An agent is known by the verified actor token a gateway presents for it (its issuer and subject, e.g. a SPIFFE ID). It appears here on its first verified call, or when you register it. A disabled agent is refused on its next call, on every instance.
      </p>
      <FilterBar path="/admin/agents">
        <FilterInput name="q" label="Name, subject, issuer or owner" defaultValue={query} />
        <FilterSelect name="status" label="Status" defaultValue={status} options={[{ value: "active", label: "active" }, { value: "disabled", label: "disabled" }]} />
      </FilterBar>
      <DataTable caption="Agents" head={["Name", "Subject", "Issuer", "Owner", "Status", "First seen", "Last seen"]} empty={agents.length === 0} emptyText={query || status ? "No agent matches these filters." : "No agents yet."}>
        {agents.map((a) => (
          <tr key={a.id}>
            <Td>
              <Link href={`/admin/agents/${a.id}`} className="font-medium hover:underline">
                {a.displayName}
              </Link>
            </Td>
            <Td className="max-w-72 font-mono text-xs [overflow-wrap:anywhere]">{a.subject}</Td>
            <Td className="max-w-56 text-xs [overflow-wrap:anywhere]">{a.issuer}</Td>
            <Td className="text-xs">{a.owner || "—"}</Td>
            <Td>
              <Badge value={a.status} />
            </Td>
            <Td>
              <When value={a.firstSeenAt} />
            </Td>
            <Td>
              <When value={a.lastSeenAt} />
            </Td>
          </tr>
        ))}
      </DataTable>
      <Panel title="Register an agent">
        <AdminForm action={registerAgentAction} formToken={formToken} className="space-y-4" label="Register an agent">
          <div className="grid gap-4 md:grid-cols-2">
            <TextField name="issuer" label="Issuer" required placeholder="https://auth.example.com or spiffe://corp.example" hint="The actor token's iss; for a JWT-SVID without iss, spiffe://<trust domain>." />
            <TextField name="subject" label="Subject" required placeholder="spiffe://corp.example/ns/prod/sa/scheduler" hint="The actor token's sub (a client id, or a SPIFFE ID)." />
            <TextField name="displayName" label="Display name" hint="Shown to users on the consent page. Default: the subject." />
            <TextField name="owner" label="Owner" hint="Who answers for this agent (a team or an e-mail)." />
          </div>
          <TextArea name="description" label="Description" rows={2} />
          <SubmitButton pendingLabel="Registering…">Register agent</SubmitButton>
        </AdminForm>
      </Panel>
    </>
  );
}
