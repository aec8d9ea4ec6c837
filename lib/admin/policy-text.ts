// One sentence describing a policy preview, for confirmations and action results.
import type { DimensionScopes, EffectiveDecision } from "./agent-policy";
import type { RequesterChange } from "./agent-preview";
import type { PolicyPreview } from "./policy";

function names(list: { email: string | null; name: string | null; id: string }[], total: number): string {
  const shown = list.slice(0, 5).map((u) => u.email ?? u.name ?? u.id);
  return shown.length ? ` (${shown.join(", ")}${total > shown.length ? `, and ${total - shown.length} more` : ""})` : "";
}

function agentNames(list: string[], total: number): string {
  const shown = list.slice(0, 5);
  return shown.length ? ` (${shown.join(", ")}${total > shown.length ? `, and ${total - shown.length} more` : ""})` : "";
}

function requesterChanges(list: RequesterChange[], total: number): string {
  const shown = list.slice(0, 5).map((c) => `${c.requester}: ${[...c.gained.map((g) => `+${g}`), ...c.lost.map((l) => `−${l}`)].join(" ")}`);
  return shown.length ? ` (${shown.join("; ")}${total > shown.length ? `; and ${total - shown.length} more` : ""})` : "";
}

export function describePreview(p: PolicyPreview): string {
  if (p.agents) {
    const a = p.agents;
    // What being selected means depends on the provider's default (lib/policy/evaluate.ts).
    const effect = a.explicit ? "agents no agent rule selects are denied" : "agents no agent rule selects keep what their user and gateway may do; a selected agent is held to its rules";
    const parts = [
      `agents selected by agent rules: ${a.selectedBefore} → ${a.selectedAfter} of ${a.agentsConsidered}`,
      `${a.gainedCount} newly selected${agentNames(a.gained, a.gainedCount)}`,
      `${a.lostCount} no longer selected${agentNames(a.lost, a.lostCount)}`,
      effect,
      `agents acting for users today (approved or delegated, via their gateway): ${a.requestersConsidered}; ${a.requestersGaining} gain scopes, ${a.requestersLosing} lose scopes${requesterChanges(a.changed, a.changedCount)}`,
    ];
    if (p.scopesBefore.join(" ") !== p.scopesAfter.join(" ")) parts.push(`agent scopes ${p.scopesBefore.join(" ") || "none"} → ${p.scopesAfter.join(" ") || "none"}`);
    return `${parts.join("; ")}.`;
  }
  const what = p.audience.gatewayId ? "users this gateway may request credentials for" : "users allowed to connect the provider";
  const parts = [
    `${what}: ${p.coveredBefore} → ${p.coveredAfter} of ${p.usersConsidered}`,
    `${p.gainedCount} gain access${names(p.gained, p.gainedCount)}`,
    `${p.lostCount} lose access${names(p.lost, p.lostCount)}${p.lostWithActiveGrants ? `, ${p.lostWithActiveGrants} of them with an active connection` : ""}`,
  ];
  if (p.scopesBefore.join(" ") !== p.scopesAfter.join(" ")) parts.push(`scopes ${p.scopesBefore.join(" ") || "none"} → ${p.scopesAfter.join(" ") || "none"}`);
  return `${parts.join("; ")}.`;
}

const REASONS: Record<string, string> = {
  no_gateway_rule: "no gateway rule lets this gateway request the provider for this user",
  scope_not_allowed_for_gateway: "the gateway's rules do not cover",
  no_user_rule: "no user rule lets this user connect the provider",
  scope_not_allowed_for_user: "the user's rules do not cover",
  no_agent_rule: "the provider requires agents to be allowed explicitly, and no agent rule selects this agent",
  scope_not_allowed_for_agent: "the agent's rules do not cover",
};

function dimension(scopes: DimensionScopes | "inherits" | undefined): string {
  if (scopes === "inherits") return "no agent rule (inherits user ∩ gateway)";
  if (scopes === null || scopes === undefined) return "no rule";
  return scopes.join(" ") === "*" ? "any scope" : scopes.join(" ");
}

/** The effective decision in one sentence: the outcome, then what each dimension allows. */
export function describeEffectiveDecision(e: EffectiveDecision): string {
  const d = e.decision;
  const outcome = d.allowed ? "Allowed" : `Denied: ${REASONS[d.reason] ?? d.reason}${d.deniedScopes.length && d.reason.startsWith("scope_") ? ` ${d.deniedScopes.join(" ")}` : ""}`;
  const parts = [`user rules allow ${dimension(e.user)}`, `gateway rules allow ${dimension(e.gateway)}`];
  if (e.agent !== undefined) parts.push(`agent rules allow ${dimension(e.agent)}`);
  return `${outcome}. Effective = user ∩ gateway${e.agent !== undefined ? " ∩ agent" : ""}: ${parts.join("; ")}.`;
}
