// Who is asking, for what, and what is already granted to whom (design.md flow step 4). The
// requester is named truthfully: the gateway Frontdesk authenticated, the agent only when an
// actor token proved it, and whatever the gateway merely reported marked as unverified.
import type { ConsentDetails } from "@/lib/portal/consent-view";
import { timeLeft } from "@/lib/portal/time-left";
import { ScopeList } from "./scope-list";

function Row({ label, value, note }: { label: string; value: string | undefined; note?: string }) {
  if (!value) return null;
  return (
    <div className="grid grid-cols-1 gap-x-4 gap-y-1 py-2 sm:grid-cols-3">
      <dt className="text-sm font-medium text-slate-600">{label}</dt>
      <dd className="min-w-0 break-words text-slate-900 sm:col-span-2">
        {value}
        {note ? <span className="block text-sm text-slate-600 sm:ml-2 sm:inline">({note})</span> : null}
      </dd>
    </div>
  );
}

const UNVERIFIED = "reported by the gateway, not verified";

/** "agent X via gateway Y" (X: the verified agent's registered name), or "an unidentified agent via gateway Y". */
export function requesterLabel(r: { gatewayName: string; agentName: string | null }): string {
  return `${r.agentName ? `agent ${r.agentName}` : "an unidentified agent"} via ${r.gatewayName}`;
}

export function ConsentSummary({ details }: { details: ConsentDetails }) {
  const { context } = details;
  return (
    <div className="space-y-4">
      <dl className="divide-y divide-slate-100">
        <Row label="Service" value={details.provider.displayName} />
        <Row label="Gateway" value={details.gatewayName} note="authenticated by Frontdesk" />
        {details.verifiedAgent ? (
          <Row label="Agent" value={details.verifiedAgent.displayName} note="verified by its actor token" />
        ) : (
          <Row label="Agent" value="An unidentified agent" note={context.agentId ? `it calls itself “${context.agentId}”, not verified` : undefined} />
        )}
        <Row label="MCP server" value={context.mcpServer} note={UNVERIFIED} />
        <Row label="Tool" value={context.toolName} note={UNVERIFIED} />
        {context.labels
          ? Object.entries(context.labels).map(([k, v]) => <Row key={k} label={k} value={v} note={UNVERIFIED} />)
          : null}
      </dl>
      <div>
        <h2 className="text-sm font-medium text-slate-600">Permissions requested</h2>
        <div className="mt-2">
          <ScopeList scopes={details.requestedScopes} descriptions={details.scopeDescriptions} empty="The service's default access" />
        </div>
      </div>
      <div>
        <h2 className="text-sm font-medium text-slate-600">Already granted</h2>
        <div className="mt-2">
          <ScopeList scopes={details.grantedScopes} descriptions={details.scopeDescriptions} empty="Nothing yet: this is a new connection" />
        </div>
        {details.approvedRequesters.length > 0 ? (
          <div className="mt-3">
            <h3 className="text-sm text-slate-600">Who may use this connection now</h3>
            <ul className="mt-1 list-disc pl-5 text-sm text-slate-900">
              {details.approvedRequesters.map((r) => (
                <li key={`${r.gatewayName}|${r.agentName ?? ""}`}>{requesterLabel(r)}</li>
              ))}
            </ul>
          </div>
        ) : null}
      </div>
      <p className="text-sm text-slate-600">
        This request expires{" "}
        <time dateTime={details.expiresAt.toISOString()} title={details.expiresAt.toUTCString()}>
          {timeLeft(details.expiresAt)}
        </time>
        .
      </p>
    </div>
  );
}
