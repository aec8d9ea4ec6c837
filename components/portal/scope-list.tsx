export function ScopeList({ scopes, empty = "None" }: { scopes: string[]; empty?: string }) {
  if (scopes.length === 0) return <p className="text-sm text-slate-600">{empty}</p>;
  return (
    <ul className="flex flex-wrap gap-2">
      {scopes.map((scope) => (
        <li key={scope}>
          <code className="rounded bg-slate-100 px-2 py-0.5 text-sm text-slate-900">{scope}</code>
        </li>
      ))}
    </ul>
  );
}
