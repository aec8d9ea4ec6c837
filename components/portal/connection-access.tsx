// Who may use one connection (design.md invariant 11) and the standing delegations of it
// (invariant 13), with a withdraw / revoke POST each. A requester is named truthfully: the agent
// by its registered name only when an actor token proved it, otherwise "an unidentified agent".
import type { RequesterSummary } from "@/lib/consent/approvals";
import type { DelegationSummary } from "@/lib/delegations/list";
import { SubmitButton } from "@/components/ui/button";
import { DelegateForm } from "./delegate-form";
import { requesterLabel } from "./consent-summary";
import { ScopeList } from "./scope-list";

type Action = (formData: FormData) => Promise<void>;

function date(value: Date | null): string {
  return value ? value.toUTCString() : "Never";
}

const approvedByText: Record<RequesterSummary["approvedBy"], string> = {
  user: "approved by you",
  policy: "pre-approved by your administrator",
  migrated: "used it before per-requester approval existed",
  cross_app_access: "allowed by your organization's identity provider",
};

const delegationState: Record<DelegationSummary["state"], { text: string; className: string }> = {
  active: { text: "Active", className: "bg-emerald-100 text-emerald-900" },
  expired: { text: "Expired", className: "bg-slate-200 text-slate-700" },
  revoked: { text: "Revoked", className: "bg-slate-200 text-slate-700" },
};

export function ConnectionAccess(props: {
  providerName: string;
  requesters: RequesterSummary[];
  delegations: DelegationSummary[];
  withdrawToken: string;
  withdrawAction: Action;
  revokeDelegationToken: string;
  revokeDelegationAction: Action;
  /** Offered on an active connection: create a delegation of it (components/portal/delegate-form.tsx). */
  delegate?: Omit<Parameters<typeof DelegateForm>[0], "providerName">;
}) {
  const current = props.requesters.filter((r) => r.withdrawnAt === null);
  return (
    <div className="mt-4 space-y-4">
      <section aria-label={`Who may use ${props.providerName}`}>
        <h3 className="text-sm font-medium text-slate-600">Who may use it</h3>
        {current.length === 0 ? (
          <p className="mt-1 text-sm text-slate-600">Nobody yet: the next agent that asks will need your approval.</p>
        ) : (
          <ul className="mt-1 divide-y divide-slate-100 text-sm">
            {current.map((r) => {
              const who = requesterLabel({ gatewayName: r.gatewayName, agentName: r.agentName });
              return (
                <li key={r.approvalId} className="flex flex-col gap-2 py-2 sm:flex-row sm:items-center sm:justify-between">
                  <div className="min-w-0 [overflow-wrap:anywhere]">
                    <p className="font-medium text-slate-900">{who}</p>
                    <p className="text-slate-600">
                      Since {date(r.createdAt)} ({approvedByText[r.approvedBy]}) · Last used {date(r.lastUsedAt)}
                    </p>
                  </div>
                  <form action={props.withdrawAction}>
                    <input type="hidden" name="approvalId" value={r.approvalId} />
                    <input type="hidden" name="formToken" value={props.withdrawToken} />
                    <SubmitButton variant="secondary" pendingLabel="Withdrawing…" aria-label={`Withdraw access of ${who}`}>
                      Withdraw
                    </SubmitButton>
                  </form>
                </li>
              );
            })}
          </ul>
        )}
      </section>
      {props.delegations.length > 0 ? (
        <section aria-label={`Delegations of ${props.providerName}`}>
          <h3 className="text-sm font-medium text-slate-600">Acting for you while you are away</h3>
          <ul className="mt-1 divide-y divide-slate-100 text-sm">
            {props.delegations.map((d) => {
              const state = delegationState[d.state];
              return (
                <li key={d.id} className="flex flex-col gap-2 py-2 sm:flex-row sm:items-center sm:justify-between">
                  <div className="min-w-0 space-y-1 [overflow-wrap:anywhere]">
                    <p className="font-medium text-slate-900">
                      Agent {d.agentName}
                      {d.gatewayName ? ` via ${d.gatewayName} only` : " via any allowed gateway"}{" "}
                      <span className={`ml-1 rounded-full px-2 py-0.5 text-xs font-medium ${state.className}`}>{state.text}</span>
                    </p>
                    <ScopeList scopes={d.scopes} />
                    {d.state === "active" ? (
                      <p className="text-slate-600">
                        Delegation id (the agent names it when it calls): <code className="rounded bg-slate-100 px-1 text-slate-900">{d.id}</code>
                      </p>
                    ) : null}
                    <p className="text-slate-600">
                      {d.state === "revoked" ? `Revoked ${date(d.revokedAt)}` : `${d.state === "expired" ? "Expired" : "Until"} ${date(d.expiresAt)}`} · Last
                      used {date(d.lastUsedAt)}
                    </p>
                  </div>
                  {d.state === "active" ? (
                    <form action={props.revokeDelegationAction}>
                      <input type="hidden" name="delegationId" value={d.id} />
                      <input type="hidden" name="formToken" value={props.revokeDelegationToken} />
                      <SubmitButton variant="danger" pendingLabel="Revoking…" aria-label={`Revoke the delegation to agent ${d.agentName}`}>
                        Revoke delegation
                      </SubmitButton>
                    </form>
                  ) : null}
                </li>
              );
            })}
          </ul>
        </section>
      ) : null}
      {props.delegate ? <DelegateForm providerName={props.providerName} {...props.delegate} /> : null}
    </div>
  );
}
