// /connections - the signed-in user's own connections: who may use each (withdraw one), the
// standing delegations of each (create one, revoke one), and revoke the whole connection.
import type { Metadata } from "next";
import { ConnectionAccess } from "@/components/portal/connection-access";
import { ConnectionList } from "@/components/portal/connection-list";
import { Alert } from "@/components/ui/alert";
import { requireViewer } from "@/lib/auth/session";
import { listRequestersByGrant } from "@/lib/consent/approvals";
import { listUserDelegations } from "@/lib/delegations/list";
import { listUserGrants } from "@/lib/grants/list";
import { delegationChoices } from "@/lib/portal/connection-delegation";
import { createFormToken } from "@/lib/portal/form-guard";
import { readNotice } from "@/lib/portal/notices";
import { createDelegationAction, revokeAction, revokeDelegationAction, withdrawRequesterAction } from "./actions";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "My connections" };

export default async function ConnectionsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const viewer = await requireViewer("/connections");
  const notice = readNotice((await searchParams).notice);
  const [grants, requesters, delegations] = await Promise.all([
    listUserGrants(viewer.userId),
    listRequestersByGrant(viewer.userId),
    listUserDelegations(viewer.userId),
  ]);
  const withdrawToken = createFormToken(viewer.sessionHash, "withdraw_requester");
  const revokeDelegationToken = createFormToken(viewer.sessionHash, "revoke_delegation");
  const createDelegationToken = createFormToken(viewer.sessionHash, "create_delegation");
  const choices = delegationChoices(requesters.values());
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold tracking-tight [overflow-wrap:anywhere]">My connections</h1>
      {notice ? (
        <Alert tone={notice.tone} title={notice.title}>
          {notice.body}
        </Alert>
      ) : null}
      {grants.length === 0 ? (
        <div className="rounded-lg border border-dashed border-slate-300 bg-white p-8 text-center">
          <p className="font-medium">No connections yet</p>
          <p className="mt-2 text-sm text-slate-600">
            When an agent needs one of your accounts, it gives you a Frontdesk link. Approving it creates a connection here.
          </p>
        </div>
      ) : (
        <ConnectionList
          grants={grants}
          formToken={createFormToken(viewer.sessionHash, "revoke")}
          action={revokeAction}
          access={(g) => (
            <ConnectionAccess
              providerName={g.providerName}
              requesters={requesters.get(g.id) ?? []}
              delegations={delegations.filter((d) => d.grantId === g.id)}
              withdrawToken={withdrawToken}
              withdrawAction={withdrawRequesterAction}
              revokeDelegationToken={revokeDelegationToken}
              revokeDelegationAction={revokeDelegationAction}
              delegate={
                g.status === "active"
                  ? { grantId: g.id, scopes: g.scopes, choices, formToken: createDelegationToken, action: createDelegationAction }
                  : undefined
              }
            />
          )}
        />
      )}
    </div>
  );
}
