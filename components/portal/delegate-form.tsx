// "Let an agent act for you while you are away" on one connection (lib/portal/connection-delegation.ts):
// a plain POST form (works without JavaScript) behind a disclosure. It offers the verified agents
// and the gateways the user approved as requesters, only the connection's own permissions (none
// ticked: the user chooses), and a number of days within the administrator's maximum. The
// outcome comes back as a notice on the page (an error is announced, role=alert).
import type { DelegationChoices } from "@/lib/portal/connection-delegation";
import { SubmitButton } from "@/components/ui/button";

const DEFAULT_DAYS = 7;
const control = "mt-1 block w-full max-w-md rounded-md border border-slate-300 bg-white px-3 py-2 text-slate-900 focus:border-slate-900 focus:outline-none focus:ring-2 focus:ring-slate-900/20";

export function DelegateForm(props: {
  grantId: string;
  providerName: string;
  scopes: string[];
  choices: DelegationChoices;
  formToken: string;
  action: (formData: FormData) => Promise<void>;
}) {
  const { grantId, providerName, scopes, choices } = props;
  const id = (name: string) => `${name}-${grantId}`;
  return (
    <details className="rounded-md border border-slate-200 bg-slate-50 p-3 text-sm">
      <summary className="cursor-pointer font-medium text-slate-900">Let an agent use {providerName} while you are away…</summary>
      {choices.agents.length === 0 ? (
        <p className="mt-2 text-slate-700">
          No agent to choose yet. An agent you have approved for one of your connections, verified by its actor token, can be chosen here.
        </p>
      ) : (
        <form action={props.action} className="mt-3 space-y-4" aria-label={`Delegate ${providerName}`} aria-describedby={id("delegate-hint")}>
          <input type="hidden" name="grantId" value={grantId} />
          <input type="hidden" name="formToken" value={props.formToken} />
          <p id={id("delegate-hint")} className="text-slate-700">
            The agent may then use {providerName} on its own, for example on a schedule, with nobody signed in: only with the permissions you
            tick, until the end of the period. You can revoke it here at any time.
          </p>
          <div>
            <label htmlFor={id("delegate-agent")} className="block font-medium text-slate-900">
              Agent
            </label>
            <select id={id("delegate-agent")} name="agentId" className={control}>
              {choices.agents.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor={id("delegate-gateway")} className="block font-medium text-slate-900">
              Through which gateway
            </label>
            <select id={id("delegate-gateway")} name="gatewayId" className={control}>
              <option value="">Any gateway your administrator allows</option>
              {choices.gateways.map((g) => (
                <option key={g.id} value={g.id}>
                  Only {g.name}
                </option>
              ))}
            </select>
          </div>
          {scopes.length > 0 ? (
            <fieldset>
              <legend className="font-medium text-slate-900">Permissions it may use</legend>
              <ul className="mt-1 space-y-1">
                {scopes.map((scope) => (
                  <li key={scope}>
                    <label className="flex items-center gap-2">
                      <input type="checkbox" name="scopes" value={scope} className="h-4 w-4" />
                      <code className="break-all rounded bg-slate-100 px-2 py-0.5 text-slate-900">{scope}</code>
                    </label>
                  </li>
                ))}
              </ul>
            </fieldset>
          ) : (
            <p className="text-slate-700">This connection has no separate permissions: the agent may use it as a whole.</p>
          )}
          <div>
            <label htmlFor={id("delegate-days")} className="block font-medium text-slate-900">
              For how many days (1 to {choices.maxDays})
            </label>
            <input
              id={id("delegate-days")}
              name="days"
              type="number"
              inputMode="numeric"
              min={1}
              max={choices.maxDays}
              step={1}
              required
              defaultValue={Math.min(DEFAULT_DAYS, choices.maxDays)}
              className={`${control} w-24`}
            />
          </div>
          <SubmitButton pendingLabel="Delegating…">Delegate {providerName}</SubmitButton>
        </form>
      )}
    </details>
  );
}
