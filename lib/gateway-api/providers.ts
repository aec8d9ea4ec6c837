// Provider lookups for the hot path, cached briefly (a provider disabled on another instance is
// refused within CONFIG_CACHE_TTL_MS). Misses are not cached, so a new provider works at once.
import type { Provider } from "@/lib/generated/prisma/client";
import { CONFIG_CACHE_TTL_MS, TtlCache } from "@/lib/gateways/ttl-cache";
import { findProviderBySlug, findProviderForResource } from "@/lib/providers/find";

const bySlug = new TtlCache<Provider | null>(CONFIG_CACHE_TTL_MS, 1_000);
const byResource = new TtlCache<Provider | null>(CONFIG_CACHE_TTL_MS, 1_000);

async function cached(cache: TtlCache<Provider | null>, key: string, load: () => Promise<Provider | null>): Promise<Provider | null> {
  const found = await cache.get(key, load);
  if (!found) cache.delete(key);
  return found;
}

export function findProviderBySlugCached(slug: string): Promise<Provider | null> {
  return cached(bySlug, slug, () => findProviderBySlug(slug));
}

export function findProviderForResourceCached(resource: string): Promise<Provider | null> {
  return cached(byResource, resource, () => findProviderForResource(resource));
}

/** After a provider is changed or disabled in this process (admin dashboard): every bundle's copy reloads. */
export function forgetProviders(): void {
  bySlug.clear();
  byResource.clear();
}
