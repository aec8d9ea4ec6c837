// /admin/policy - allow rules (deny by default): who may connect which provider, what each
// gateway may request, and what agents may do; each provider's default for agents no rule
// names; the effective decision for a chosen user, gateway, agent, provider and scopes.
import type { Metadata } from "next";
import Link from "next/link";
import { AdminForm } from "@/components/admin/admin-form";
import { Panel } from "@/components/admin/fields";
import { Badge, DataTable, Td } from "@/components/admin/table";
import { SubmitButton } from "@/components/ui/button";
import { requireAdminPage } from "@/lib/admin/guard";
import { getDb } from "@/lib/db/client";
import { isAgentRule } from "@/lib/policy/evaluate";
import { setAgentsExplicitAction } from "./actions";
import { DecisionForm } from "./decision-form";
import { RuleForm } from "./rule-form";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Policy" };

function selects(r: { users: string[]; groups: string[]; agents: string[]; agentIssuer: string | null; agentSubjectPrefix: string | null }, agentNames: Map<string, string>): string {
  const who = r.users.length || r.groups.length ? [...r.users, ...r.groups.map((g) => `group:${g}`)].join(", ") : "everyone";
  if (!isAgentRule(r)) return who;
  const agents = [
    ...r.agents.map((a) => agentNames.get(a) ?? a),
    ...(r.agentIssuer ? [`issuer ${r.agentIssuer}`] : []),
    ...(r.agentSubjectPrefix ? [`subject ${r.agentSubjectPrefix}…`] : []),
  ];
  return `agents ${agents.join(" + ")}, for ${who}`;
}

export default async function PolicyPage() {
  const { formToken } = await requireAdminPage("/admin/policy");
  const db = await getDb();
  const [rules, providers, gateways, agents, users] = await Promise.all([
    db.policyRule.findMany({
      orderBy: [{ providerId: "asc" }, { createdAt: "asc" }],
      include: { provider: { select: { displayName: true } }, gateway: { select: { name: true } } },
    }),
    db.provider.findMany({ select: { id: true, displayName: true, agentsExplicit: true }, orderBy: { slug: "asc" } }),
    db.gateway.findMany({ select: { id: true, name: true }, orderBy: { name: "asc" } }),
    db.agent.findMany({ select: { id: true, displayName: true, subject: true }, orderBy: { displayName: "asc" }, take: 200 }),
    db.user.findMany({ select: { id: true, email: true, name: true, subject: true }, orderBy: { createdAt: "asc" }, take: 200 }),
  ]);
  const agentNames = new Map(agents.map((a) => [a.id, a.displayName]));
  return (
    <>
      <h1 className="text-2xl font-semibold tracking-tight [overflow-wrap:anywhere]">Policy</h1>
      <p className="max-w-3xl text-sm text-slate-700">
        Everything not allowed here is denied. A request needs a <strong>gateway rule</strong> (this gateway may request these scopes of the provider) and a{" "}
        <strong>user rule</strong> (this user may connect the provider with these scopes), both covering every requested scope. When a verified agent acts, the{" "}
        <strong>agent rules</strong> that select it must cover the scopes too: the effective permission is user ∩ gateway ∩ agent.
      </p>
      <DataTable caption="Policy rules" head={["Provider", "Kind", "Scopes", "Selects", "Description", "Status", ""]} empty={rules.length === 0} emptyText="No rules: everything is denied.">
        {rules.map((r) => (
          <tr key={r.id}>
            <Td>{r.provider.displayName}</Td>
            <Td>
              {isAgentRule(r) ? `agent${r.gateway ? ` via ${r.gateway.name}` : ""}` : r.gateway ? `gateway ${r.gateway.name}` : "users"}
              {r.preApproved ? (
                <>
                  {" "}
                  <Badge value="info" label="pre-approved" />
                </>
              ) : null}
            </Td>
            <Td className="font-mono text-xs">{r.scopes.join(" ")}</Td>
            <Td className="max-w-72 text-xs [overflow-wrap:anywhere]">{selects(r, agentNames)}</Td>
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

      <Panel title="Agents no rule names">
        <p className="max-w-3xl text-sm text-slate-700">
          Per provider: either an agent no agent rule selects gets what its user and gateway may do (agent rules only narrow), or agents must be allowed explicitly (an unlisted agent is denied).
        </p>
        <DataTable caption="Default for agents per provider" head={["Provider", "Agents no rule names", ""]} empty={providers.length === 0} emptyText="No providers.">
          {providers.map((p) => (
            <tr key={p.id}>
              <Td>{p.displayName}</Td>
              <Td>{p.agentsExplicit ? <Badge value="deny" label="denied: must be allowed explicitly" /> : <Badge value="allow" label="inherit user ∩ gateway" />}</Td>
              <Td>
                <AdminForm action={setAgentsExplicitAction} formToken={formToken} label={`Default for agents: ${p.displayName}`}>
                  <input type="hidden" name="providerId" value={p.id} />
                  <input type="hidden" name="agentsExplicit" value={p.agentsExplicit ? "false" : "true"} />
                  <SubmitButton variant="secondary" pendingLabel="Saving…">
                    {p.agentsExplicit ? "Let unlisted agents inherit" : "Require agents to be allowed explicitly"}
                  </SubmitButton>
                </AdminForm>
              </Td>
            </tr>
          ))}
        </DataTable>
      </Panel>

      <Panel title="Effective decision">
        <p className="max-w-3xl text-sm text-slate-700">What the gateway API would decide for this request today (the rules as saved, the provider&apos;s agent default), and what each dimension allows. Consent and connections are not part of it.</p>
        <DecisionForm
          formToken={formToken}
          users={users.map((u) => ({ value: u.id, label: u.email ?? u.name ?? u.subject }))}
          gateways={gateways.map((g) => ({ value: g.id, label: g.name }))}
          agents={agents.map((a) => ({ value: a.id, label: a.displayName }))}
          providers={providers.map((p) => ({ value: p.id, label: p.displayName }))}
        />
      </Panel>

      <Panel title="Add a rule">
        <RuleForm formToken={formToken} providers={providers.map(({ id, displayName }) => ({ id, displayName }))} gateways={gateways} agents={agents} />
      </Panel>
    </>
  );
}
