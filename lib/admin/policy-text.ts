// One sentence describing a policy preview, for confirmations and action results.
import type { PolicyPreview } from "./policy";

function names(list: { email: string | null; name: string | null; id: string }[], total: number): string {
  const shown = list.slice(0, 5).map((u) => u.email ?? u.name ?? u.id);
  return shown.length ? ` (${shown.join(", ")}${total > shown.length ? `, and ${total - shown.length} more` : ""})` : "";
}

export function describePreview(p: PolicyPreview): string {
  const what = p.audience.gatewayId ? "users this gateway may request credentials for" : "users allowed to connect the provider";
  const parts = [
    `${what}: ${p.coveredBefore} → ${p.coveredAfter} of ${p.usersConsidered}`,
    `${p.gainedCount} gain access${names(p.gained, p.gainedCount)}`,
    `${p.lostCount} lose access${names(p.lost, p.lostCount)}${p.lostWithActiveGrants ? `, ${p.lostWithActiveGrants} of them with an active connection` : ""}`,
  ];
  if (p.scopesBefore.join(" ") !== p.scopesAfter.join(" ")) parts.push(`scopes ${p.scopesBefore.join(" ") || "none"} → ${p.scopesAfter.join(" ") || "none"}`);
  return `${parts.join("; ")}.`;
}
