// The key sets of trusted issuers: discovered once per process (OIDC discovery -> jwks_uri) and
// then served by jose's remote JWKS cache, which refetches on an unknown `kid` (with a cooldown)
// so issuer key rotation works without a restart and without a fetch per request.
import { createRemoteJWKSet, type JWTVerifyGetKey } from "jose";
import { AppError } from "@/lib/errors";
import { log } from "@/lib/log";
import { isIssuerTransportAllowed } from "./issuers";

const DISCOVERY_TIMEOUT_MS = 5_000;
const keySets = new Map<string, Promise<JWTVerifyGetKey>>();

async function discoverJwksUri(issuer: string): Promise<URL> {
  const base = issuer.replace(/\/+$/, "");
  const res = await fetch(`${base}/.well-known/openid-configuration`, {
    signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
    headers: { accept: "application/json" },
    redirect: "error",
  });
  if (!res.ok) throw new Error(`discovery returned HTTP ${res.status}`);
  const meta = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
  // The metadata must name the same issuer (OIDC Discovery 4.3), or a compromised document
  // could redirect key lookups elsewhere.
  if (meta.issuer !== issuer) throw new Error("discovery issuer mismatch");
  if (typeof meta.jwks_uri !== "string") throw new Error("discovery has no jwks_uri");
  const uri = new URL(meta.jwks_uri);
  if (uri.protocol !== "https:" && !isIssuerTransportAllowed(issuer)) throw new Error("jwks_uri is not https");
  return uri;
}

export function getIssuerKeySet(issuer: string): Promise<JWTVerifyGetKey> {
  let entry = keySets.get(issuer);
  if (!entry) {
    entry = discoverJwksUri(issuer).then((uri) =>
      createRemoteJWKSet(uri, { timeoutDuration: DISCOVERY_TIMEOUT_MS, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 }),
    );
    keySets.set(issuer, entry);
    // A failed discovery is not cached: the next token tries again.
    entry.catch((e: unknown) => {
      keySets.delete(issuer);
      log.warn("subject token issuer discovery failed", { issuer, reason: e instanceof Error ? e.message : "unknown" });
    });
  }
  return entry.catch(() => {
    throw new AppError("upstream_unavailable", "The identity provider's keys are unavailable; retry later");
  });
}

const uriKeySets = new Map<string, JWTVerifyGetKey>();

/** A key set at a known JWKS URI (no discovery), e.g. a SPIFFE bundle endpoint; same cache rules. */
export function getJwksUriKeySet(uri: string): JWTVerifyGetKey {
  let set = uriKeySets.get(uri);
  if (!set) {
    set = createRemoteJWKSet(new URL(uri), { timeoutDuration: DISCOVERY_TIMEOUT_MS, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
    uriKeySets.set(uri, set);
  }
  return set;
}

/** Test and rotation helper: forget every cached key set. */
export function clearIssuerKeySets(): void {
  keySets.clear();
  uriKeySets.clear();
}
