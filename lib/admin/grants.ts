// Connections (grants) for the dashboard: server-side filtered, searched and paginated. Never
// secrets: the select names only metadata columns.
import { getDb } from "@/lib/db/client";
import type { GrantStatus, Prisma } from "@/lib/generated/prisma/client";
import { toPage, type Page, type PageRequest } from "./pagination";

export interface GrantFilter {
  /** Free text: user email, name or subject; provider slug or name. */
  q?: string;
  status?: GrantStatus;
  providerId?: string;
  userId?: string;
  /** The gateway that last used the grant. */
  gatewayId?: string;
}

export interface AdminGrantRow {
  id: string;
  scopes: string[];
  status: GrantStatus;
  createdAt: Date;
  lastUsedAt: Date | null;
  lastRefreshedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  user: { id: string; email: string | null; name: string | null; subject: string };
  provider: { id: string; slug: string; displayName: string };
  lastUsedGateway: { id: string; name: string } | null;
}

export function grantWhere(filter: GrantFilter): Prisma.GrantWhereInput {
  const where: Prisma.GrantWhereInput = {};
  if (filter.status) where.status = filter.status;
  if (filter.providerId) where.providerId = filter.providerId;
  if (filter.userId) where.userId = filter.userId;
  if (filter.gatewayId) where.lastUsedGatewayId = filter.gatewayId;
  const q = filter.q?.trim();
  if (q) {
    const text = { contains: q, mode: "insensitive" as const };
    where.OR = [
      { user: { email: text } },
      { user: { name: text } },
      { user: { subject: text } },
      { provider: { slug: text } },
      { provider: { displayName: text } },
    ];
  }
  return where;
}

export async function listGrantsPage(filter: GrantFilter, page: PageRequest): Promise<Page<AdminGrantRow>> {
  const db = await getDb();
  const where = grantWhere(filter);
  const [total, rows] = await Promise.all([
    db.grant.count({ where }),
    db.grant.findMany({
      where,
      orderBy: [{ createdAt: "desc" }, { id: "asc" }],
      skip: (page.page - 1) * page.pageSize,
      take: page.pageSize,
      select: {
        id: true,
        scopes: true,
        status: true,
        createdAt: true,
        lastUsedAt: true,
        lastRefreshedAt: true,
        expiresAt: true,
        revokedAt: true,
        lastUsedGatewayId: true,
        user: { select: { id: true, email: true, name: true, subject: true } },
        provider: { select: { id: true, slug: true, displayName: true } },
      },
    }),
  ]);
  // Gateways have no relation from Grant (a deleted gateway must not delete grants): one lookup.
  const gatewayIds = [...new Set(rows.map((r) => r.lastUsedGatewayId).filter((g): g is string => g !== null))];
  const gateways = gatewayIds.length
    ? await db.gateway.findMany({ where: { id: { in: gatewayIds } }, select: { id: true, name: true } })
    : [];
  const byId = new Map(gateways.map((g) => [g.id, g]));
  return toPage(
    rows.map(({ lastUsedGatewayId, ...r }) => ({
      ...r,
      lastUsedGateway: lastUsedGatewayId ? (byId.get(lastUsedGatewayId) ?? { id: lastUsedGatewayId, name: lastUsedGatewayId }) : null,
    })),
    total,
    page,
  );
}
