// Provider lookups. Results never carry the client secret (omitted by the db client).
import { getDb } from "@/lib/db/client";
import type { Provider } from "@/lib/generated/prisma/client";

export async function findProviderBySlug(slug: string): Promise<Provider | null> {
  const db = await getDb();
  return db.provider.findUnique({ where: { slug } }) as Promise<Provider | null>;
}

export async function findProviderById(id: string): Promise<Provider | null> {
  // From a URL: a NUL names nothing (and would fail the query as a 500).
  if (id.includes("\0")) return null;
  const db = await getDb();
  return db.provider.findUnique({ where: { id } }) as Promise<Provider | null>;
}

/** The active provider whose registered resource URL is the longest prefix of `resourceUrl`. */
export async function findProviderForResource(resourceUrl: string): Promise<Provider | null> {
  const db = await getDb();
  const providers = (await db.provider.findMany({ where: { status: "active" } })) as Provider[];
  let best: { provider: Provider; length: number } | null = null;
  for (const provider of providers) {
    for (const prefix of provider.resourceUrls) {
      if (matchesResourcePrefix(resourceUrl, prefix) && (!best || prefix.length > best.length)) {
        best = { provider, length: prefix.length };
      }
    }
  }
  return best?.provider ?? null;
}

/**
 * A resource matches a registered prefix only at a path boundary and on the same origin, so
 * `https://api.example.com.evil/` or `https://api.example.com/v1x` do not match
 * `https://api.example.com` or `https://api.example.com/v1`.
 */
export function matchesResourcePrefix(resourceUrl: string, prefix: string): boolean {
  let resource: URL;
  let base: URL;
  try {
    resource = new URL(resourceUrl);
    base = new URL(prefix);
  } catch {
    return false;
  }
  if (resource.origin !== base.origin) return false;
  const basePath = base.pathname.endsWith("/") ? base.pathname : `${base.pathname}/`;
  const path = resource.pathname.endsWith("/") ? resource.pathname : `${resource.pathname}/`;
  return path.startsWith(basePath);
}

export async function listProviders(): Promise<Provider[]> {
  const db = await getDb();
  return db.provider.findMany({ orderBy: { slug: "asc" } }) as Promise<Provider[]>;
}
