// The acts-on-behalf-of chain of one audit event, read once from its columns and context: the
// user, the gateway, the verified agent and the earlier actors its token named (RFC 8693 `act`),
// the actors a delegated subject token named (`subjectAct`), and the standing delegation when the
// call used one. Verified links are kept apart from what a gateway merely claimed.
import type { AuditNames } from "./audit-log";

export interface ChainLink {
  role: "user" | "delegation" | "agent" | "earlier actor" | "subject token actor" | "gateway" | "claimed agent";
  label: string;
  detail?: string;
  verified: boolean;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** Nested `act` objects (outer first) or an already flattened list, as ActorLink-like links. */
function actLinks(value: unknown): { sub: string; iss?: string }[] {
  const out: { sub: string; iss?: string }[] = [];
  if (Array.isArray(value)) {
    for (const l of value.slice(0, 10)) if (isObject(l) && text(l.sub)) out.push({ sub: text(l.sub)!, iss: text(l.iss) });
    return out;
  }
  let cur: unknown = value;
  while (isObject(cur) && out.length < 10) {
    if (text(cur.sub)) out.push({ sub: text(cur.sub)!, iss: text(cur.iss) });
    cur = cur.act;
  }
  return out;
}

export function delegationChain(
  event: { userId: string | null; gatewayId: string | null; agentId: string | null; context: unknown },
  names: Pick<AuditNames, "users" | "gateways" | "agents">,
): ChainLink[] {
  const ctx = isObject(event.context) ? event.context : {};
  const actor = isObject(ctx.actor) ? ctx.actor : null;
  const links: ChainLink[] = [];
  if (event.userId) links.push({ role: "user", label: names.users.get(event.userId) ?? event.userId, verified: true });
  if (text(ctx.delegationId)) links.push({ role: "delegation", label: text(ctx.delegationId)!, detail: "standing delegation, the user was not present", verified: true });
  for (const l of actLinks(ctx.subjectAct)) links.push({ role: "subject token actor", label: l.sub, detail: l.iss, verified: true });
  if (event.agentId || actor) {
    const label = (event.agentId && names.agents.get(event.agentId)) ?? text(actor?.name) ?? event.agentId ?? "agent";
    links.push({ role: "agent", label, detail: [text(actor?.subject), text(actor?.issuer)].filter(Boolean).join(" from ") || event.agentId || undefined, verified: true });
    for (const l of actLinks(actor?.act)) links.push({ role: "earlier actor", label: l.sub, detail: l.iss, verified: true });
  } else if (text(ctx.agentId)) {
    links.push({ role: "claimed agent", label: text(ctx.agentId)!, detail: "named by the gateway, not verified", verified: false });
  }
  if (event.gatewayId) links.push({ role: "gateway", label: names.gateways.get(event.gatewayId) ?? event.gatewayId, verified: true });
  return links;
}
