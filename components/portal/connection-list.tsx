// The user's connections. Revoke is a POST behind an explicit confirmation (a disclosure), so it
// works without JavaScript and cannot happen by a stray click.
import type { ReactNode } from "react";
import type { GrantSummary } from "@/lib/grants/list";
import { SubmitButton } from "@/components/ui/button";
import { ScopeList } from "./scope-list";

const statusLabels: Record<GrantSummary["status"], { text: string; className: string }> = {
  active: { text: "Active", className: "bg-emerald-100 text-emerald-900" },
  needs_reauth: { text: "Needs re-authorization", className: "bg-amber-100 text-amber-900" },
  revoked: { text: "Revoked", className: "bg-slate-200 text-slate-700" },
};

function date(value: Date | null): string {
  return value ? value.toUTCString() : "Never";
}

export function ConnectionList({
  grants,
  formToken,
  action,
  access,
}: {
  grants: GrantSummary[];
  formToken: string;
  action: (formData: FormData) => Promise<void>;
  /** Who may use the connection and its delegations (components/portal/connection-access.tsx). */
  access?: (grant: GrantSummary) => ReactNode;
}) {
  return (
    <ul className="space-y-4">
      {grants.map((g) => {
        const status = statusLabels[g.status];
        return (
          <li key={g.id} className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm" aria-labelledby={`grant-${g.id}`}>
            <div className="flex items-start justify-between gap-4">
              <h2 id={`grant-${g.id}`} className="text-lg font-semibold">
                {g.providerName}
              </h2>
              <span className={`rounded-full px-2.5 py-0.5 text-xs font-medium ${status.className}`}>{status.text}</span>
            </div>
            <dl className="mt-3 grid grid-cols-1 gap-2 text-sm sm:grid-cols-2">
              <div>
                <dt className="text-slate-600">Connected</dt>
                <dd>{date(g.createdAt)}</dd>
              </div>
              <div>
                <dt className="text-slate-600">Last used</dt>
                <dd>{date(g.lastUsedAt)}</dd>
              </div>
            </dl>
            <div className="mt-3">
              <h3 className="text-sm text-slate-600">Permissions</h3>
              <div className="mt-1">
                <ScopeList scopes={g.scopes} />
              </div>
            </div>
            {g.status !== "revoked" && access ? access(g) : null}
            {g.status !== "revoked" ? (
              <details className="mt-4">
                <summary className="cursor-pointer text-sm font-medium text-red-700">Revoke…</summary>
                <div className="mt-3 space-y-3 rounded-md border border-red-200 bg-red-50 p-4 text-sm text-red-900">
                  <p>
                    Frontdesk will delete its copy of your {g.providerName} credential and ask {g.providerName} to revoke it. Agents lose
                    access at once; they will ask you again if they need it.
                  </p>
                  <form action={action}>
                    <input type="hidden" name="grantId" value={g.id} />
                    <input type="hidden" name="formToken" value={formToken} />
                    <SubmitButton variant="danger" pendingLabel="Revoking…">
                      Revoke {g.providerName} connection
                    </SubmitButton>
                  </form>
                </div>
              </details>
            ) : null}
          </li>
        );
      })}
    </ul>
  );
}
