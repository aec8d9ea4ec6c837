// /requests - "Requests waiting for you": the signed-in user's own pending requests, each opening
// its consent page; the agents that recently used a delegation for the first time; and the
// switch for e-mail and chat notices.
import type { Metadata } from "next";
import Link from "next/link";
import { Alert } from "@/components/ui/alert";
import { SubmitButton } from "@/components/ui/button";
import { requireViewer } from "@/lib/auth/session";
import { FIRST_USE_SHOWN_DAYS, listFirstUses } from "@/lib/delegations/first-use";
import { getNoticesEnabled } from "@/lib/notify/preferences";
import { createFormToken } from "@/lib/portal/form-guard";
import { listWaitingRequests } from "@/lib/portal/inbox";
import { readNotice } from "@/lib/portal/notices";
import { timeLeft } from "@/lib/portal/time-left";
import { setNoticesAction } from "./actions";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Requests waiting for you" };

export default async function RequestsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const viewer = await requireViewer("/requests");
  const notice = readNotice((await searchParams).notice);
  const [requests, noticesEnabled, firstUses] = await Promise.all([
    listWaitingRequests({ issuer: viewer.issuer, subject: viewer.subject }),
    getNoticesEnabled(viewer.userId),
    listFirstUses(viewer.userId),
  ]);
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold tracking-tight [overflow-wrap:anywhere]">Requests waiting for you</h1>
      {notice ? (
        <Alert tone={notice.tone} title={notice.title}>
          {notice.body}
        </Alert>
      ) : null}
      {requests.length === 0 ? (
        <div className="rounded-lg border border-dashed border-slate-300 bg-white p-8 text-center">
          <p className="font-medium">Nothing is waiting for you</p>
          <p className="mt-2 text-sm text-slate-600">When an agent needs one of your accounts, its request appears here until you answer it or it expires.</p>
        </div>
      ) : (
        <ul aria-label="Waiting requests" className="space-y-3">
          {requests.map((r) => (
            <li key={r.id} className="rounded-lg border border-slate-200 bg-white p-4">
              <p className="font-medium">
                {r.gatewayName} asks to use your {r.providerName} account
              </p>
              <dl className="mt-2 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm text-slate-700">
                {r.agentId ? (
                  <>
                    <dt className="text-slate-500">Agent</dt>
                    <dd>{r.agentId}</dd>
                  </>
                ) : null}
                {r.mcpServer ? (
                  <>
                    <dt className="text-slate-500">MCP server</dt>
                    <dd>{r.mcpServer}</dd>
                  </>
                ) : null}
                {r.toolName ? (
                  <>
                    <dt className="text-slate-500">Tool</dt>
                    <dd>{r.toolName}</dd>
                  </>
                ) : null}
                <dt className="text-slate-500">Permissions</dt>
                <dd>{r.scopes.length > 0 ? r.scopes.join(", ") : "the default ones"}</dd>
                <dt className="text-slate-500">Expires</dt>
                <dd>
                  <time dateTime={r.expiresAt.toISOString()} title={r.expiresAt.toUTCString()}>
                    {timeLeft(r.expiresAt)}
                  </time>
                </dd>
              </dl>
              <Link href={`/connect/${r.id}`} className="mt-3 inline-block text-sm font-medium text-blue-700 hover:underline">
                Review and answer
              </Link>
            </li>
          ))}
        </ul>
      )}
      {firstUses.length > 0 ? (
        <section aria-labelledby="first-uses-heading" className="rounded-lg border border-slate-200 bg-white p-4">
          <h2 id="first-uses-heading" className="font-medium">
            Agents that started acting for you
          </h2>
          <p className="mt-1 text-sm text-slate-600">Delegations used for the first time in the last {FIRST_USE_SHOWN_DAYS} days, while you were away.</p>
          <ul className="mt-2 divide-y divide-slate-100 text-sm">
            {firstUses.map((u) => (
              <li key={u.delegationId} className="py-2 [overflow-wrap:anywhere]">
                Agent <strong>{u.agentName}</strong> first used your {u.providerName} account{" "}
                <time dateTime={u.firstUsedAt.toISOString()}>{u.firstUsedAt.toUTCString()}</time>
                {u.state === "active" ? "" : ` (the delegation has ${u.state === "revoked" ? "been revoked" : "expired"} since)`}.
              </li>
            ))}
          </ul>
          <Link href="/connections" className="mt-2 inline-block text-sm font-medium text-blue-700 hover:underline">
            Review or revoke delegations on My connections
          </Link>
        </section>
      ) : null}
      <section aria-labelledby="notices-heading" className="rounded-lg border border-slate-200 bg-white p-4">
        <h2 id="notices-heading" className="font-medium">
          Notices
        </h2>
        <p className="mt-1 text-sm text-slate-600">
          {noticesEnabled
            ? "Frontdesk tells you by e-mail (and chat, where your organization set it up) when a request starts waiting for you, and by e-mail when an agent first uses a delegation."
            : "Notices are off: requests only appear here and in your agent."}
        </p>
        <form action={setNoticesAction} className="mt-3">
          <input type="hidden" name="formToken" value={createFormToken(viewer.sessionHash, "notices")} />
          <input type="hidden" name="enabled" value={noticesEnabled ? "false" : "true"} />
          <SubmitButton variant="secondary" pendingLabel="Saving…">
            {noticesEnabled ? "Turn notices off" : "Turn notices on"}
          </SubmitButton>
        </form>
      </section>
    </div>
  );
}
