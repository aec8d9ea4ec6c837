// /admin/agents/<id> - one agent: name, owner and description; disable/enable; what it used
// (decisions grouped from the audit log); its delegations (revocable); its latest audit events.
import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { AdminForm } from "@/components/admin/admin-form";
import { EnableToggle } from "@/components/admin/confirm";
import { DelegationTable } from "@/components/admin/delegation-table";
import { DetailHeader } from "@/components/admin/detail-header";
import { Panel, TextArea, TextField } from "@/components/admin/fields";
import { Badge, DataTable, Td, When } from "@/components/admin/table";
import { SubmitButton } from "@/components/ui/button";
import { loadAuditNames } from "@/lib/admin/audit-log";
import { requireAdminPage } from "@/lib/admin/guard";
import { agentUsage, findAgent } from "@/lib/agents/admin";
import { listAuditEvents } from "@/lib/audit/query";
import { listDelegations } from "@/lib/delegations/list";
import { setAgentStatusAction, updateAgentAction } from "../actions";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Agent" };

export default async function AgentPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const { formToken } = await requireAdminPage(`/admin/agents/${id}`);
  const agent = id.length <= 128 ? await findAgent(id) : null;
  if (!agent || agent.id !== id) notFound();
  const [usage, delegations, recent] = await Promise.all([agentUsage(agent.id), listDelegations({ agentId: agent.id }), listAuditEvents({ agentId: agent.id, limit: 10 })]);
  const names = await loadAuditNames([...usage, ...recent.events]);
  const name = (map: Map<string, string>, value: string | null) => (value ? (map.get(value) ?? value) : "—");
  return (
    <>
      <DetailHeader back={{ href: "/admin/agents", label: "Agents" }} title={agent.displayName} status={agent.status} />
      <dl className="grid grid-cols-1 gap-x-6 gap-y-2 rounded-lg border border-slate-200 bg-white p-5 text-sm shadow-sm md:grid-cols-[10rem_1fr]">
        {(
          [
            ["Id", agent.id],
            ["Issuer", agent.issuer],
            ["Subject", agent.subject],
            ["First seen", <When key="f" value={agent.firstSeenAt} />],
            ["Last seen", <When key="l" value={agent.lastSeenAt} />],
          ] as const
        ).map(([k, v]) => (
          <div key={k} className="contents">
            <dt className="font-medium text-slate-600">{k}</dt>
            <dd className="min-w-0 font-mono text-xs [overflow-wrap:anywhere]">{v}</dd>
          </div>
        ))}
      </dl>

      <Panel title="What it used">
        <DataTable caption="Decisions for this agent" head={["Provider", "Gateway", "User", "Decision", "Calls", "Last"]} empty={usage.length === 0} emptyText="No calls by this agent yet.">
          {usage.map((u) => (
            <tr key={`${u.providerId}-${u.gatewayId}-${u.userId}-${u.decision}`}>
              <Td>{name(names.providers, u.providerId)}</Td>
              <Td>{name(names.gateways, u.gatewayId)}</Td>
              <Td className="text-xs">{name(names.users, u.userId)}</Td>
              <Td>
                <Badge value={u.decision} />
              </Td>
              <Td>{u.count.toLocaleString("en-US")}</Td>
              <Td>
                <When value={u.lastAt} />
              </Td>
            </tr>
          ))}
        </DataTable>
      </Panel>

      <Panel title="Delegations to this agent">
        <DelegationTable delegations={delegations} formToken={formToken} caption="Delegations to this agent" emptyText="No user has delegated a connection to this agent." />
      </Panel>

      <Panel title="Latest audit events">
        <DataTable caption="Latest audit events of this agent" head={["#", "Time (UTC)", "Action", "Decision", "User", "Reason"]} empty={recent.events.length === 0} emptyText="No audit events name this agent.">
          {recent.events.map((e) => (
            <tr key={e.seq.toString()}>
              <Td>
                <Link href={`/admin/audit/${e.seq}`} className="font-mono text-xs underline">
                  {e.seq.toString()}
                </Link>
              </Td>
              <Td>
                <When value={e.at} />
              </Td>
              <Td className="font-mono text-xs">{e.action}</Td>
              <Td>
                <Badge value={e.decision} />
              </Td>
              <Td className="text-xs">{name(names.users, e.userId)}</Td>
              <Td className="max-w-64 truncate text-xs text-slate-600">{e.reason ?? ""}</Td>
            </tr>
          ))}
        </DataTable>
        <p className="text-sm">
          <Link className="underline" href={`/admin/audit?agent=${agent.id}`}>
            All audit events of this agent
          </Link>
        </p>
      </Panel>

      <Panel title="Name and owner">
        <AdminForm action={updateAgentAction} formToken={formToken} className="space-y-4" label="Agent details">
          <input type="hidden" name="agentId" value={agent.id} />
          <div className="grid gap-4 md:grid-cols-2">
            <TextField name="displayName" label="Display name" defaultValue={agent.displayName} required hint="Users see this name on the consent page." />
            <TextField name="owner" label="Owner" defaultValue={agent.owner} />
          </div>
          <TextArea name="description" label="Description" defaultValue={agent.description} rows={2} />
          <SubmitButton pendingLabel="Saving…">Save</SubmitButton>
        </AdminForm>
      </Panel>

      <Panel title="Status">
        <EnableToggle
          enabled={agent.status === "active"}
          noun="agent"
          consequence={<p>Its next call is refused (invalid_grant, or 403 on REST) on every instance, whoever it acts for and whatever its delegations say. Approvals and delegations are kept; you can enable it again.</p>}
          action={setAgentStatusAction}
          formToken={formToken}
          disable={{ agentId: agent.id, status: "disabled" }}
          enable={{ agentId: agent.id, status: "active" }}
        />
      </Panel>
    </>
  );
}
