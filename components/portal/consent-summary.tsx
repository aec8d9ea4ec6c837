// Who is asking, for what, and what is already granted.
import type { ConsentDetails } from "@/lib/portal/consent-view";
import { ScopeList } from "./scope-list";

function Row({ label, value }: { label: string; value: string | undefined }) {
  if (!value) return null;
  return (
    <div className="grid grid-cols-3 gap-4 py-2">
      <dt className="text-sm font-medium text-slate-600">{label}</dt>
      <dd className="col-span-2 text-slate-900">{value}</dd>
    </div>
  );
}

export function ConsentSummary({ details }: { details: ConsentDetails }) {
  const { context } = details;
  return (
    <div className="space-y-4">
      <dl className="divide-y divide-slate-100">
        <Row label="Service" value={details.provider.displayName} />
        <Row label="Requested by" value={details.gatewayName} />
        <Row label="Agent" value={context.agentId} />
        <Row label="MCP server" value={context.mcpServer} />
        <Row label="Tool" value={context.toolName} />
        {context.labels
          ? Object.entries(context.labels).map(([k, v]) => <Row key={k} label={k} value={v} />)
          : null}
      </dl>
      <div>
        <h2 className="text-sm font-medium text-slate-600">Permissions requested</h2>
        <div className="mt-2">
          <ScopeList scopes={details.requestedScopes} empty="The service's default access" />
        </div>
      </div>
      <div>
        <h2 className="text-sm font-medium text-slate-600">Already granted</h2>
        <div className="mt-2">
          <ScopeList scopes={details.grantedScopes} empty="Nothing yet: this is a new connection" />
        </div>
      </div>
      <p className="text-sm text-slate-600">
        This request expires at <time dateTime={details.expiresAt.toISOString()}>{details.expiresAt.toUTCString()}</time>.
      </p>
    </div>
  );
}
