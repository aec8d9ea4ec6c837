// "Requests waiting for you": the signed-in user's own pending, unexpired elicitations. The
// query is keyed by the viewer's (issuer, subject), the same binding the consent page enforces,
// so nobody ever lists another person's requests.
import { getDb } from "@/lib/db/client";
import { readElicitationContext } from "@/lib/elicitations/context";

export interface WaitingRequest {
  id: string;
  gatewayName: string;
  providerName: string;
  scopes: string[];
  agentId: string | null;
  mcpServer: string | null;
  toolName: string | null;
  createdAt: Date;
  expiresAt: Date;
}

const INBOX_LIMIT = 100;

function pendingFor(owner: { issuer: string; subject: string }) {
  return { userIssuer: owner.issuer, userSubject: owner.subject, status: "pending" as const, expiresAt: { gt: new Date() } };
}

export async function listWaitingRequests(owner: { issuer: string; subject: string }): Promise<WaitingRequest[]> {
  const db = await getDb();
  const rows = await db.elicitation.findMany({
    where: pendingFor(owner),
    orderBy: { createdAt: "desc" },
    take: INBOX_LIMIT,
    select: {
      id: true,
      scopes: true,
      context: true,
      createdAt: true,
      expiresAt: true,
      gateway: { select: { name: true } },
      provider: { select: { displayName: true } },
    },
  });
  return rows.map((r) => {
    const context = readElicitationContext(r.context);
    return {
      id: r.id,
      gatewayName: r.gateway.name,
      providerName: r.provider.displayName,
      scopes: r.scopes,
      agentId: context.agentId ?? null,
      mcpServer: context.mcpServer ?? null,
      toolName: context.toolName ?? null,
      createdAt: r.createdAt,
      expiresAt: r.expiresAt,
    };
  });
}

export async function countWaitingRequests(owner: { issuer: string; subject: string }): Promise<number> {
  const db = await getDb();
  return db.elicitation.count({ where: pendingFor(owner) });
}
