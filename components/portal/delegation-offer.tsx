// The consent page's optional standing delegation (lib/portal/consent-delegation.ts): unticked by
// default, and it says exactly what it allows: which agent, which permissions, through which
// gateway, for how long, with nobody signed in, and where to take it back.
import type { ConsentDetails } from "@/lib/portal/consent-view";
import { ScopeList } from "./scope-list";

const DEFAULT_DAYS = 7;

/** `form`: the id of the approving form the fields belong to (they may sit outside it). */
export function DelegationOffer({ details, form }: { details: ConsentDetails; form: string }) {
  const max = details.delegationMaxDays;
  if (max === null || !details.verifiedAgent) return null;
  const agent = details.verifiedAgent.displayName;
  const service = details.provider.displayName;
  return (
    <fieldset className="space-y-3 rounded-md border border-slate-200 bg-slate-50 p-4 text-sm">
      <legend className="px-1 font-medium text-slate-900">While you are away (optional)</legend>
      <div className="flex items-start gap-3">
        <input id="delegate" form={form} name="delegate" type="checkbox" value="on" className="mt-1 h-4 w-4" aria-describedby="delegate-hint" />
        <label htmlFor="delegate" className="text-slate-900">
          Also let agent <strong>{agent}</strong> use {service} for me when I am not here
        </label>
      </div>
      <div id="delegate-hint" className="space-y-2 text-slate-700">
        <p>
          Without this, {agent} can use {service} only while you are using it. With it, {agent} may use it on its own (for example on a
          schedule) with only these permissions, and only through {details.gatewayName}:
        </p>
        <ScopeList scopes={details.requestedScopes} empty="The service's default access" />
        <p>You can revoke it at any time on My connections. It ends by itself after the number of days below.</p>
      </div>
      <div>
        <label htmlFor="delegateDays" className="block font-medium text-slate-900">
          For how many days (1 to {max})
        </label>
        <input
          id="delegateDays"
          form={form}
          name="delegateDays"
          type="number"
          inputMode="numeric"
          min={1}
          max={max}
          step={1}
          defaultValue={Math.min(DEFAULT_DAYS, max)}
          className="mt-1 block w-24 rounded-md border border-slate-300 px-3 py-2 text-slate-900 focus:border-slate-900 focus:outline-none focus:ring-2 focus:ring-slate-900/20"
        />
      </div>
    </fieldset>
  );
}
