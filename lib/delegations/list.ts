// Delegations for the portal (the user's own) and the dashboard (everyone's). No secrets here:
// ids, names, scopes and dates.
import { getDb } from "@/lib/db/client";

export interface DelegationSummary {
  id: string;
  grantId: string;
  userId: string;
  userLabel: string;
  providerName: string;
  agentId: string;
  agentName: string;
  gatewayId: string | null;
  gatewayName: string | null;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  firstUsedAt: Date | null;
  lastUsedAt: Date | null;
  state: "active" | "expired" | "revoked";
}

const SELECT = {
  id: true,
  grantId: true,
  userId: true,
  gatewayId: true,
  agentId: true,
  scopes: true,
  createdAt: true,
  expiresAt: true,
  revokedAt: true,
  firstUsedAt: true,
  lastUsedAt: true,
  user: { select: { email: true, name: true, subject: true } },
  agent: { select: { displayName: true } },
  gateway: { select: { name: true } },
  provider: { select: { displayName: true } },
} as const;

type Row = {
  id: string;
  grantId: string;
  userId: string;
  gatewayId: string | null;
  agentId: string;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  firstUsedAt: Date | null;
  lastUsedAt: Date | null;
  user: { email: string | null; name: string | null; subject: string };
  agent: { displayName: string };
  gateway: { name: string } | null;
  provider: { displayName: string };
};

function toSummary(r: Row, now: number): DelegationSummary {
  return {
    id: r.id,
    grantId: r.grantId,
    userId: r.userId,
    userLabel: r.user.email ?? r.user.name ?? r.user.subject,
    providerName: r.provider.displayName,
    agentId: r.agentId,
    agentName: r.agent.displayName,
    gatewayId: r.gatewayId,
    gatewayName: r.gateway?.name ?? null,
    scopes: r.scopes,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    revokedAt: r.revokedAt,
    firstUsedAt: r.firstUsedAt,
    lastUsedAt: r.lastUsedAt,
    state: r.revokedAt ? "revoked" : r.expiresAt.getTime() <= now ? "expired" : "active",
  };
}

export async function listUserDelegations(userId: string): Promise<DelegationSummary[]> {
  const db = await getDb();
  const rows = await db.delegation.findMany({ where: { userId }, orderBy: { createdAt: "desc" }, take: 200, select: SELECT });
  const now = Date.now();
  return rows.map((r) => toSummary(r, now));
}

/** The dashboard's list: newest first, optionally only the active ones. */
export async function listDelegations(filter: { activeOnly?: boolean; agentId?: string; take?: number } = {}): Promise<DelegationSummary[]> {
  const db = await getDb();
  const now = new Date();
  const rows = await db.delegation.findMany({
    where: { ...(filter.activeOnly ? { revokedAt: null, expiresAt: { gt: now } } : {}), ...(filter.agentId ? { agentId: filter.agentId } : {}) },
    orderBy: { createdAt: "desc" },
    take: Math.min(filter.take ?? 200, 500),
    select: SELECT,
  });
  return rows.map((r) => toSummary(r, now.getTime()));
}
