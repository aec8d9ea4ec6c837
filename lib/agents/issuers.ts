// Which workload issuers Frontdesk trusts to name agents: ACTOR_TOKEN_ISSUERS for every gateway,
// plus the gateway's own list (Gateway.actorIssuers, set by an admin). The entry is chosen from
// the token's `iss` or, for a JWT-SVID without one, from its SPIFFE trust domain, before any key
// is fetched: an attacker cannot make Frontdesk fetch keys from a URL of their choosing.
import { createLocalJWKSet, createRemoteJWKSet, customFetch, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import { getDb } from "@/lib/db/client";
import { env, publicUrl } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { CONFIG_CACHE_TTL_MS, TtlCache } from "@/lib/gateways/ttl-cache";
import { tokenEndpointUrl } from "@/lib/gateways/urls";
import { isIssuerTransportAllowed } from "@/lib/subject-tokens/issuers";
import { getIssuerKeySet, getJwksUriKeySet } from "@/lib/subject-tokens/jwks";
import { actorIssuerListSchema, type ActorIssuerConfig } from "./issuer-config";
import { spiffeTrustDomain } from "./spiffe";

const gatewayIssuers = new TtlCache<ActorIssuerConfig[]>(CONFIG_CACHE_TTL_MS);

/** Validates an admin-supplied list for Gateway.actorIssuers (throws invalid_request). */
export function validateActorIssuers(value: unknown): ActorIssuerConfig[] {
  const parsed = actorIssuerListSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError("invalid_request", `actorIssuers ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`);
  }
  for (const entry of parsed.data) {
    if (entry.jwksUri && !isJwksTransportAllowed(entry)) throw new AppError("invalid_request", "actorIssuers jwksUri must use https");
  }
  return parsed.data;
}

function isJwksTransportAllowed(entry: ActorIssuerConfig): boolean {
  if (!entry.jwksUri) return true;
  const uri = new URL(entry.jwksUri);
  return uri.protocol === "https:" || isIssuerTransportAllowed(uri.origin) || (entry.issuer !== undefined && isIssuerTransportAllowed(entry.issuer));
}

async function loadGatewayIssuers(gatewayId: string): Promise<ActorIssuerConfig[]> {
  const db = await getDb();
  const row = await db.gateway.findUnique({ where: { id: gatewayId }, select: { actorIssuers: true } });
  // Stored lists were validated when set; a row that no longer parses trusts nothing (fail closed).
  const parsed = actorIssuerListSchema.safeParse(row?.actorIssuers ?? []);
  return parsed.success ? parsed.data : [];
}

/** The issuers trusted for actor tokens presented by this gateway: global first, then its own. */
export async function trustedActorIssuers(gatewayId: string): Promise<ActorIssuerConfig[]> {
  return [...env().ACTOR_TOKEN_ISSUERS, ...(await gatewayIssuers.get(gatewayId, () => loadGatewayIssuers(gatewayId)))];
}

/** After an admin changed a gateway's list in this process. */
export function forgetGatewayActorIssuers(): void {
  gatewayIssuers.clear();
}

/**
 * The entry that vouches for a token with this (unverified) `iss` and `sub`: by issuer when the
 * token names one, else by the SPIFFE trust domain of its subject. Null when none does.
 */
export function findActorIssuer(entries: readonly ActorIssuerConfig[], iss: string | undefined, sub: string | undefined): ActorIssuerConfig | null {
  const domain = sub ? spiffeTrustDomain(sub) : null;
  if (iss !== undefined) {
    const byIssuer = entries.find((e) => e.issuer === iss);
    if (byIssuer) return byIssuer.trustDomain === undefined || byIssuer.trustDomain === domain ? byIssuer : null;
  }
  if (domain) return entries.find((e) => e.issuer === undefined && e.trustDomain === domain) ?? null;
  return null;
}

/** The agent's issuer as stored: the entry's issuer, or spiffe://<trust domain>. */
export function agentIssuerOf(entry: ActorIssuerConfig): string {
  return entry.issuer ?? `spiffe://${entry.trustDomain}`;
}

export function actorAudiences(entry: ActorIssuerConfig): string[] {
  if (entry.audiences) return entry.audiences;
  const configured = env().ACTOR_TOKEN_AUDIENCES;
  return configured.length > 0 ? configured : [publicUrl(), tokenEndpointUrl()];
}

/**
 * A SPIFFE bundle (SPIFFE Trust Domain and Bundle spec 4) marks JWT-SVID keys `"use": "jwt-svid"`
 * and may hold X.509-SVID keys too; jose takes only keys without `use` or with "sig". Keep the
 * JWT-SVID keys, as signing keys, and nothing else.
 */
export function jwtSvidKeys(set: { keys?: unknown }): JSONWebKeySet {
  const keys = Array.isArray(set.keys) ? (set.keys as Record<string, unknown>[]) : [];
  return {
    keys: keys
      .filter((k) => typeof k === "object" && k !== null && (k.use === undefined || k.use === "jwt-svid" || k.use === "sig"))
      .map(({ use: _use, ...k }) => k) as unknown as JSONWebKeySet["keys"],
  };
}

const localSets = new WeakMap<ActorIssuerConfig, JWTVerifyGetKey>();
const bundleSets = new Map<string, JWTVerifyGetKey>();

function spiffeBundleKeySet(uri: string): JWTVerifyGetKey {
  let set = bundleSets.get(uri);
  if (!set) {
    set = createRemoteJWKSet(new URL(uri), {
      timeoutDuration: 5_000,
      cooldownDuration: 30_000,
      cacheMaxAge: 10 * 60_000,
      [customFetch]: async (url, options) => {
        const res = await fetch(url, { ...options, redirect: "error" });
        if (!res.ok) return res;
        return Response.json(jwtSvidKeys((await res.json()) as { keys?: unknown }));
      },
    });
    bundleSets.set(uri, set);
  }
  return set;
}

export async function actorKeySet(entry: ActorIssuerConfig): Promise<JWTVerifyGetKey> {
  const isBundle = entry.issuer === undefined;
  if (entry.jwks) {
    let set = localSets.get(entry);
    if (!set) {
      set = createLocalJWKSet(isBundle ? jwtSvidKeys(entry.jwks) : (entry.jwks as unknown as JSONWebKeySet));
      localSets.set(entry, set);
    }
    return set;
  }
  if (entry.jwksUri) {
    if (!isJwksTransportAllowed(entry)) throw new AppError("invalid_actor", "actor_token issuer's keys are not served over https");
    return isBundle ? spiffeBundleKeySet(entry.jwksUri) : getJwksUriKeySet(entry.jwksUri);
  }
  if (!isIssuerTransportAllowed(entry.issuer!)) throw new AppError("invalid_actor", "actor_token issuer is not served over https");
  return getIssuerKeySet(entry.issuer!);
}
