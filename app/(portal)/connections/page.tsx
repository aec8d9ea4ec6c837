// /connections - the signed-in user's own connections, with revoke.
import type { Metadata } from "next";
import { ConnectionList } from "@/components/portal/connection-list";
import { Alert } from "@/components/ui/alert";
import { requireViewer } from "@/lib/auth/session";
import { listUserGrants } from "@/lib/grants/list";
import { createFormToken } from "@/lib/portal/form-guard";
import { readNotice } from "@/lib/portal/notices";
import { revokeAction } from "./actions";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "My connections" };

export default async function ConnectionsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const viewer = await requireViewer("/connections");
  const notice = readNotice((await searchParams).notice);
  const grants = await listUserGrants(viewer.userId);
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
        <ConnectionList grants={grants} formToken={createFormToken(viewer.sessionHash, "revoke")} action={revokeAction} />
      )}
    </div>
  );
}
