// A user's connections, for the portal. Never secrets: only ids, names, scopes and dates.
import { getDb } from "@/lib/db/client";

export interface GrantSummary {
  id: string;
  providerId: string;
  providerSlug: string;
  providerName: string;
  scopes: string[];
  status: "active" | "needs_reauth" | "revoked";
  createdAt: Date;
  lastUsedAt: Date | null;
  lastRefreshedAt: Date | null;
  expiresAt: Date | null;
}

export async function listUserGrants(userId: string): Promise<GrantSummary[]> {
  const db = await getDb();
  const rows = await db.grant.findMany({
    where: { userId },
    orderBy: { createdAt: "asc" },
    select: {
      id: true,
      providerId: true,
      scopes: true,
      status: true,
      createdAt: true,
      lastUsedAt: true,
      lastRefreshedAt: true,
      expiresAt: true,
      provider: { select: { slug: true, displayName: true } },
    },
  });
  return rows.map(({ provider, ...g }) => ({ ...g, providerSlug: provider.slug, providerName: provider.displayName }));
}
