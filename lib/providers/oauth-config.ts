// openid-client Configuration for a provider: discovery for `oidc` (cached), explicit endpoints
// for `oauth2`. Plain-http issuers are refused unless the provider row explicitly allows them
// (development and tests only), and that choice is logged, never silent.
import * as client from "openid-client";
import { AppError } from "@/lib/errors";
import type { Provider } from "@/lib/generated/prisma/client";
import { log } from "@/lib/log";
import { presetQuirks } from "./presets";
import { openClientSecret } from "./secret";

const DISCOVERY_TTL_MS = 60 * 60 * 1000;
const HTTP_TIMEOUT_SECONDS = 10;

interface CacheEntry {
  config: Promise<client.Configuration>;
  at: number;
}

// Keyed by id and updatedAt, so a changed provider row gets a fresh configuration.
const cache = new Map<string, CacheEntry>();

export async function getOAuthConfig(provider: Provider): Promise<client.Configuration> {
  if (provider.kind === "api_key") throw new AppError("invalid_request", `provider "${provider.slug}" uses API keys, not OAuth`);
  const key = `${provider.id}:${provider.updatedAt.getTime()}`;
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < DISCOVERY_TTL_MS) return hit.config;
  for (const k of cache.keys()) if (k.startsWith(`${provider.id}:`)) cache.delete(k);
  const entry: CacheEntry = { config: buildConfig(provider), at: Date.now() };
  cache.set(key, entry);
  // A failed discovery is not cached: the next request tries again.
  entry.config.catch(() => {
    if (cache.get(key) === entry) cache.delete(key);
  });
  return entry.config;
}

/** Drops cached configurations (tests, provider edits in the same process). */
export function clearOAuthConfigCache(): void {
  cache.clear();
}

function clientAuth(provider: Provider, secret: string | null): client.ClientAuth {
  switch (provider.tokenEndpointAuth) {
    case "none":
      return client.None();
    case "client_secret_post":
      if (!secret) throw new AppError("config_error", `provider "${provider.slug}" has no client secret`);
      return client.ClientSecretPost(secret);
    case "client_secret_basic":
    default:
      if (!secret) throw new AppError("config_error", `provider "${provider.slug}" has no client secret`);
      return client.ClientSecretBasic(secret);
  }
}

function usesHttp(provider: Provider): boolean {
  return [provider.issuer, provider.authorizationEndpoint, provider.tokenEndpoint, provider.revocationEndpoint].some((u) =>
    u?.startsWith("http:"),
  );
}

async function buildConfig(provider: Provider): Promise<client.Configuration> {
  if (!provider.clientId) throw new AppError("config_error", `provider "${provider.slug}" has no client id`);
  const insecure = usesHttp(provider);
  if (insecure && !provider.allowInsecureHttp) {
    throw new AppError("config_error", `provider "${provider.slug}" uses plain http but does not allow it`);
  }
  if (insecure) log.warn("oauth over plain http allowed for provider (development only)", { providerId: provider.id, slug: provider.slug });
  const auth = clientAuth(provider, await openClientSecret(provider.id));
  const execute = insecure ? [client.allowInsecureRequests] : [];

  let config: client.Configuration;
  if (provider.kind === "oidc") {
    if (!provider.issuer) throw new AppError("config_error", `provider "${provider.slug}" has no issuer`);
    try {
      config = await client.discovery(new URL(provider.issuer), provider.clientId, undefined, auth, {
        execute,
        timeout: HTTP_TIMEOUT_SECONDS,
      });
    } catch (e) {
      log.warn("provider discovery failed", { providerId: provider.id, error: e instanceof Error ? e.message : String(e) });
      throw new AppError("upstream_unavailable", `${provider.displayName} could not be reached`);
    }
    // An explicit revocation endpoint (or token endpoint) overrides what discovery says.
    if (provider.revocationEndpoint || provider.authorizationEndpoint || provider.tokenEndpoint) {
      const { supportsPKCE: _supportsPkce, ...metadata } = config.serverMetadata();
      config = new client.Configuration(
        {
          ...metadata,
          ...(provider.authorizationEndpoint ? { authorization_endpoint: provider.authorizationEndpoint } : {}),
          ...(provider.tokenEndpoint ? { token_endpoint: provider.tokenEndpoint } : {}),
          ...(provider.revocationEndpoint ? { revocation_endpoint: provider.revocationEndpoint } : {}),
        },
        provider.clientId,
        undefined,
        auth,
      );
      for (const fn of execute) fn(config);
    }
  } else {
    if (!provider.authorizationEndpoint || !provider.tokenEndpoint) {
      throw new AppError("config_error", `provider "${provider.slug}" needs authorization and token endpoints`);
    }
    // Without discovery there may be no issuer identifier; the authorization server's origin
    // stands in, so an RFC 9207 `iss` in a callback from elsewhere still fails.
    const issuer = provider.issuer ?? new URL(provider.authorizationEndpoint).origin;
    config = new client.Configuration(
      {
        issuer,
        authorization_endpoint: provider.authorizationEndpoint,
        token_endpoint: provider.tokenEndpoint,
        ...(provider.revocationEndpoint ? { revocation_endpoint: provider.revocationEndpoint } : {}),
      },
      provider.clientId,
      undefined,
      auth,
    );
    for (const fn of execute) fn(config);
  }
  config.timeout = HTTP_TIMEOUT_SECONDS;
  const normalize = presetQuirks(provider.preset).normalizeTokenResponse;
  if (normalize && provider.tokenEndpoint) {
    const tokenEndpoint = provider.tokenEndpoint;
    config[client.customFetch] = async (url, options) => {
      const response = await fetch(url, options as RequestInit);
      if (!url.startsWith(tokenEndpoint) || !response.headers.get("content-type")?.includes("json")) return response;
      const body = (await response.json()) as Record<string, unknown>;
      const fixed = normalize(body);
      const status = "error" in fixed ? 400 : response.status;
      return new Response(JSON.stringify(fixed), { status, headers: { "content-type": "application/json" } });
    };
  }
  return config;
}
