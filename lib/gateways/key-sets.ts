// Key sets that verify a gateway's client assertions. Registered JWKS are parsed once per
// registration version; JWKS URIs go through jose's remote cache (refetch on unknown kid, with
// cooldown), so the hot path does no fetch and no parse.
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";

interface CachedSet {
  version: string;
  getKey: JWTVerifyGetKey;
}

const byGateway = new Map<string, CachedSet>();
const MAX_ENTRIES = 10_000;

export function getGatewayKeySet(gateway: { id: string; jwks: unknown; jwksUri: string | null; updatedAt: Date }): JWTVerifyGetKey | null {
  const version = `${gateway.updatedAt.getTime()}|${gateway.jwksUri ?? ""}`;
  const cached = byGateway.get(gateway.id);
  if (cached && cached.version === version) return cached.getKey;
  let getKey: JWTVerifyGetKey;
  if (gateway.jwksUri) {
    getKey = createRemoteJWKSet(new URL(gateway.jwksUri), { timeoutDuration: 5_000, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
  } else if (gateway.jwks && typeof gateway.jwks === "object") {
    getKey = createLocalJWKSet(gateway.jwks as JSONWebKeySet);
  } else {
    return null;
  }
  if (byGateway.size >= MAX_ENTRIES) byGateway.clear();
  byGateway.set(gateway.id, { version, getKey });
  return getKey;
}

export function forgetGatewayKeySet(gatewayId: string): void {
  byGateway.delete(gatewayId);
}
