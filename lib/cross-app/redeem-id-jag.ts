// Frontdesk as the client at the provider's authorization server
// (draft-ietf-oauth-identity-assertion-authz-grant-03 §4.4): the RFC 7523 JWT bearer grant with
// the ID-JAG as `assertion`, authenticated with Frontdesk's own client credentials for that
// provider (openid-client, the provider's configured client authentication). The answer is a
// Bearer token and, per §4.4.3, normally no refresh token: a new ID-JAG replaces refreshing.
import * as client from "openid-client";
import { AppError } from "@/lib/errors";
import type { Provider } from "@/lib/generated/prisma/client";
import { log } from "@/lib/log";
import { timeUpstream } from "@/lib/observability/metrics";
import { getOAuthConfig } from "@/lib/providers/oauth-config";
import { DEFAULT_TOKEN_LIFETIME_SECONDS } from "@/lib/grants/refresh";
import { GRANT_PROFILE_ID_JAG, GRANT_TYPE_JWT_BEARER, scopeList } from "./id-jag";

export type RedeemOutcome =
  | { kind: "token"; accessToken: string; refreshToken: string | null; tokenType: string; expiresAt: Date; scopes: string[] | null }
  | { kind: "refused"; error: string; description: string | null };

/** The provider's authorization server identifier (the ID-JAG's `aud`) and whether its metadata lists the ID-JAG profile (§7). */
export async function providerAuthorizationServer(provider: Provider): Promise<{ issuer: string; advertisesIdJag: boolean }> {
  const metadata = (await getOAuthConfig(provider)).serverMetadata();
  const profiles = (metadata as { authorization_grant_profiles_supported?: unknown }).authorization_grant_profiles_supported;
  return { issuer: metadata.issuer, advertisesIdJag: Array.isArray(profiles) && profiles.includes(GRANT_PROFILE_ID_JAG) };
}

export async function redeemIdJag(provider: Provider, idJag: string): Promise<RedeemOutcome> {
  const config = await getOAuthConfig(provider);
  let response: client.TokenEndpointResponse;
  try {
    response = await timeUpstream(provider.slug, "id_jag_redeem", () => client.genericGrantRequest(config, GRANT_TYPE_JWT_BEARER, { assertion: idJag }));
  } catch (e) {
    if (e instanceof client.ResponseBodyError && e.status < 500) {
      return { kind: "refused", error: e.error.slice(0, 64), description: e.error_description?.slice(0, 200) ?? null };
    }
    log.warn("ID-JAG redemption failed", { providerId: provider.id, reason: e instanceof client.ResponseBodyError ? `http_${e.status}` : e instanceof Error ? e.name : "unknown" });
    throw new AppError("upstream_unavailable", `${provider.displayName} is not reachable; retry later`);
  }
  const lifetime = typeof response.expires_in === "number" && response.expires_in > 0 ? response.expires_in : DEFAULT_TOKEN_LIFETIME_SECONDS;
  return {
    kind: "token",
    accessToken: response.access_token,
    refreshToken: response.refresh_token ?? null,
    tokenType: response.token_type ?? "Bearer",
    expiresAt: new Date(Date.now() + lifetime * 1000),
    scopes: response.scope === undefined ? null : scopeList(response.scope),
  };
}
