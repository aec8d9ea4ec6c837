// What the first-use notice of a standing delegation says (design.md invariant 13: "the user can
// be told on first use"): which agent (its registered name, proven by its actor token), which
// connection and permissions, through which gateway, until when, and where to revoke it. No
// token, no link that signs anyone in. Names are admin-set text: bounded, control characters removed.
import { getDb } from "@/lib/db/client";
import { publicUrl } from "@/lib/env";
import { clean } from "./elicitation-notice";

export interface DelegationNotice {
  delegationId: string;
  agentName: string;
  providerName: string;
  gatewayName: string;
  scopes: string[];
  firstUsedAt: Date;
  expiresAt: Date;
  connectionsUrl: string;
  user: { name: string | null; noticesEnabled: boolean };
}

const utc = (d: Date) => `${d.toISOString().replace("T", " ").slice(0, 16)} UTC`;

export async function loadDelegationNotice(delegationId: string, gatewayId: string): Promise<DelegationNotice | null> {
  const db = await getDb();
  const [d, gateway] = await Promise.all([
    db.delegation.findUnique({
      where: { id: delegationId },
      select: {
        id: true,
        scopes: true,
        firstUsedAt: true,
        expiresAt: true,
        agent: { select: { displayName: true } },
        provider: { select: { displayName: true } },
        user: { select: { name: true, noticesEnabled: true } },
      },
    }),
    db.gateway.findUnique({ where: { id: gatewayId }, select: { name: true } }),
  ]);
  if (!d || !d.firstUsedAt) return null;
  return {
    delegationId: d.id,
    agentName: clean(d.agent.displayName) ?? "An agent",
    providerName: clean(d.provider.displayName) ?? "an upstream service",
    gatewayName: clean(gateway?.name) ?? "a gateway",
    scopes: d.scopes.map((s) => clean(s, 100)).filter((s): s is string => !!s).slice(0, 30),
    firstUsedAt: d.firstUsedAt,
    expiresAt: d.expiresAt,
    connectionsUrl: new URL("/connections", publicUrl()).toString(),
    user: { name: clean(d.user.name) ?? null, noticesEnabled: d.user.noticesEnabled },
  };
}

export function delegationNoticeSubject(n: DelegationNotice): string {
  return `${n.agentName} used your ${n.providerName} account for the first time while you were away`;
}

export function delegationNoticeText(n: DelegationNotice): string {
  const scopes = n.scopes.length > 0 ? ` with these permissions: ${n.scopes.join(", ")}` : "";
  return [
    `Hello${n.user.name ? ` ${n.user.name}` : ""},`,
    "",
    `Agent ${n.agentName} (verified by its actor token) used your ${n.providerName} account for the first time through the delegation you gave it, via ${n.gatewayName}, at ${utc(n.firstUsedAt)}${scopes}.`,
    "",
    `It may keep doing so with nobody signed in until ${utc(n.expiresAt)}. You will not be told about later uses.`,
    "",
    "If you did not expect this, revoke the delegation on My connections in Frontdesk (you sign in with your organization account):",
    n.connectionsUrl,
    "",
    "You can turn these notices off in Frontdesk under Requests.",
  ].join("\n");
}
