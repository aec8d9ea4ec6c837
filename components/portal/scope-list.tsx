// A list of scopes: each in plain words when the provider describes it, with the raw scope name
// always visible beneath (issue 18: the person reads the line, the detail stays checkable).
export function ScopeList({ scopes, descriptions = {}, empty = "None" }: { scopes: string[]; descriptions?: Record<string, string>; empty?: string }) {
  if (scopes.length === 0) return <p className="text-sm text-slate-600">{empty}</p>;
  if (!scopes.some((scope) => descriptions[scope])) {
    return (
      <ul className="flex flex-wrap gap-2">
        {scopes.map((scope) => (
          <li key={scope}>
            <ScopeName scope={scope} />
          </li>
        ))}
      </ul>
    );
  }
  return (
    <ul className="space-y-2">
      {scopes.map((scope) => (
        <li key={scope} className="min-w-0">
          {descriptions[scope] ? <span className="block text-slate-900">{descriptions[scope]}</span> : null}
          <ScopeName scope={scope} small={Boolean(descriptions[scope])} />
        </li>
      ))}
    </ul>
  );
}

function ScopeName({ scope, small = false }: { scope: string; small?: boolean }) {
  return (
    <code className={`break-all rounded bg-slate-100 px-2 py-0.5 ${small ? "text-xs text-slate-600" : "text-sm text-slate-900"}`}>{scope}</code>
  );
}
