// What a notice about a waiting request says, in plain words: who asks (gateway, agent, MCP
// server, tool), for which provider and permissions, until when, and the opaque portal link.
// Nothing else: no token, nothing pre-authenticated, no personal data beyond the recipient's own
// name. Gateway-supplied context is untrusted text: control characters are removed and lengths
// bounded before it is written into a mail or chat message.
import { getDb } from "@/lib/db/client";
import { readElicitationContext } from "@/lib/elicitations/context";
import { elicitationUrl } from "@/lib/elicitations/create";

export interface ElicitationNotice {
  elicitationId: string;
  url: string;
  expiresAt: Date;
  gatewayName: string;
  providerName: string;
  scopes: string[];
  agentId?: string;
  mcpServer?: string;
  toolName?: string;
  user: { issuer: string; subject: string; id: string | null; email: string | null; name: string | null; noticesEnabled: boolean };
}

/** Untrusted or admin-set text for a mail or chat message: control characters removed, bounded. */
export function clean(value: string | undefined | null, max = 120): string | undefined {
  if (!value) return undefined;
  // eslint-disable-next-line no-control-regex
  const text = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ").trim().slice(0, max);
  return text || undefined;
}

/** The notice for a still-pending, unexpired elicitation; null when there is nothing to tell any more. */
export async function loadElicitationNotice(elicitationId: string): Promise<ElicitationNotice | null> {
  const db = await getDb();
  const e = await db.elicitation.findUnique({
    where: { id: elicitationId },
    select: {
      id: true,
      status: true,
      expiresAt: true,
      scopes: true,
      context: true,
      userIssuer: true,
      userSubject: true,
      gateway: { select: { name: true } },
      provider: { select: { displayName: true } },
    },
  });
  if (!e || e.status !== "pending" || e.expiresAt.getTime() <= Date.now()) return null;
  const user = await db.user.findUnique({
    where: { issuer_subject: { issuer: e.userIssuer, subject: e.userSubject } },
    select: { id: true, email: true, name: true, noticesEnabled: true },
  });
  const context = readElicitationContext(e.context);
  return {
    elicitationId: e.id,
    url: elicitationUrl(e.id),
    expiresAt: e.expiresAt,
    gatewayName: clean(e.gateway.name) ?? "A gateway",
    providerName: clean(e.provider.displayName) ?? "an upstream service",
    scopes: e.scopes.map((s) => clean(s, 100)).filter((s): s is string => !!s).slice(0, 30),
    agentId: clean(context.agentId),
    mcpServer: clean(context.mcpServer),
    toolName: clean(context.toolName),
    user: {
      issuer: e.userIssuer,
      subject: e.userSubject,
      id: user?.id ?? null,
      email: user?.email ?? null,
      name: clean(user?.name) ?? null,
      noticesEnabled: user?.noticesEnabled ?? true,
    },
  };
}

/** "MCP gateway (agent nightly-report, MCP server notes, tool list_my_notes)". */
export function describeRequester(n: ElicitationNotice): string {
  const parts = [
    n.agentId ? `agent ${n.agentId}` : null,
    n.mcpServer ? `MCP server ${n.mcpServer}` : null,
    n.toolName ? `tool ${n.toolName}` : null,
  ].filter(Boolean);
  return parts.length > 0 ? `${n.gatewayName} (${parts.join(", ")})` : n.gatewayName;
}

export function noticeSubject(n: ElicitationNotice): string {
  return `${n.gatewayName} asks to use your ${n.providerName} account`;
}

export function noticeText(n: ElicitationNotice): string {
  const scopes = n.scopes.length > 0 ? ` with these permissions: ${n.scopes.join(", ")}` : "";
  return [
    `Hello${n.user.name ? ` ${n.user.name}` : ""},`,
    "",
    `${describeRequester(n)} asks to use your ${n.providerName} account${scopes}.`,
    "",
    "Review the request and approve or decline it in Frontdesk (you sign in with your organization account):",
    n.url,
    "",
    `The request expires at ${n.expiresAt.toISOString().replace("T", " ").slice(0, 16)} UTC. If you did not expect it, decline it or ignore this message.`,
    "",
    "You can turn these notices off in Frontdesk under Requests.",
  ].join("\n");
}
