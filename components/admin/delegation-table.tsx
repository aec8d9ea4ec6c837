// Standing delegations (user -> agent, one connection) as the dashboard lists them, each active
// one with a revoke behind a confirmation. Shared by /admin/delegations and an agent's page.
import Link from "next/link";
import type { DelegationSummary } from "@/lib/delegations/list";
import { revokeDelegationAction } from "@/app/(admin)/admin/delegations/actions";
import { ConfirmAction } from "./confirm";
import { Badge, DataTable, Td, When } from "./table";

export function DelegationTable({ delegations, formToken, caption, emptyText }: { delegations: DelegationSummary[]; formToken: string; caption: string; emptyText: string }) {
  return (
    <DataTable caption={caption} head={["User", "Agent", "Connection", "Scopes", "Gateway", "Expires", "Last used", "State", ""]} empty={delegations.length === 0} emptyText={emptyText}>
      {delegations.map((d) => (
        <tr key={d.id}>
          <Td className="text-xs">{d.userLabel}</Td>
          <Td>
            <Link href={`/admin/agents/${d.agentId}`} className="hover:underline">
              {d.agentName}
            </Link>
          </Td>
          <Td>{d.providerName}</Td>
          <Td className="font-mono text-xs">{d.scopes.join(" ")}</Td>
          <Td className="text-xs">{d.gatewayName ?? "any allowed"}</Td>
          <Td>
            <When value={d.expiresAt} />
          </Td>
          <Td>
            <When value={d.lastUsedAt} />
          </Td>
          <Td>
            <Badge value={d.state === "active" ? "active" : d.state === "revoked" ? "revoked" : "disabled"} label={d.state} />
          </Td>
          <Td>
            {d.state === "active" ? (
              <ConfirmAction
                summary="Revoke…"
                consequence={
                  <p>
                    {d.agentName} can no longer use {d.userLabel}&apos;s {d.providerName} connection without them; its next call is refused. The connection itself stays.
                  </p>
                }
                confirmLabel="Revoke delegation"
                pendingLabel="Revoking…"
                action={revokeDelegationAction}
                formToken={formToken}
                hidden={{ delegationId: d.id }}
              />
            ) : null}
          </Td>
        </tr>
      ))}
    </DataTable>
  );
}
