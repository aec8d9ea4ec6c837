// GET /.well-known/oauth-authorization-server (RFC 8414) and GET /.well-known/jwks.json
// (interface F). Public, cacheable, no gateway authentication.
import { AUTHORIZATION_SERVER_METADATA_PATH, ELICITATIONS_PATH, issuerUrl, JWKS_PATH, RESOLVE_PATH, tokenEndpointUrl } from "@/lib/gateways/urls";
import { DELEGATION_TOKEN_TYPE } from "@/lib/delegations/subject";
import { env, publicUrl } from "@/lib/env";
import { GRANT_PROFILE_ID_JAG, GRANT_TYPE_JWT_BEARER } from "@/lib/cross-app/id-jag";
import { listPublicJwks } from "@/lib/signing/key";
import { ASYMMETRIC_ALGORITHMS } from "@/lib/subject-tokens/issuers";
import { MAX_RETRY_WAIT_SECONDS } from "./request-state-retry";
import { GRANT_TYPE_TOKEN_EXCHANGE, RETRY_PARAMS } from "./token-exchange";

export function authorizationServerMetadata() {
  // Interface B: the ID-JAG profile (draft-ietf-oauth-identity-assertion-authz-grant-03 §7) when
  // trusted IdPs are configured. Which IdPs stays private (§8.4: no issuer allow list here).
  const idJag = env().ID_JAG_ISSUERS.length > 0;
  return {
    issuer: issuerUrl(),
    token_endpoint: tokenEndpointUrl(),
    jwks_uri: `${publicUrl()}${JWKS_PATH}`,
    grant_types_supported: idJag ? [GRANT_TYPE_TOKEN_EXCHANGE, GRANT_TYPE_JWT_BEARER] : [GRANT_TYPE_TOKEN_EXCHANGE],
    ...(idJag ? { authorization_grant_profiles_supported: [GRANT_PROFILE_ID_JAG] } : {}),
    token_endpoint_auth_methods_supported: ["private_key_jwt", "client_secret_basic", "client_secret_post"],
    token_endpoint_auth_signing_alg_values_supported: [...ASYMMETRIC_ALGORITHMS],
    // No authorization endpoint: gateways only use the token endpoint.
    response_types_supported: [],
    frontdesk_resolve_endpoint: `${publicUrl()}${RESOLVE_PATH}`,
    frontdesk_elicitations_endpoint: `${publicUrl()}${ELICITATIONS_PATH}`,
    // MCP 2026-07-28: consent-needed answers carry `input_required` with a sealed requestState;
    // a retry passes it back (token endpoint and resolve) and may wait up to this long.
    frontdesk_mcp_revisions_supported: ["2025-11-25", "2026-07-28"],
    frontdesk_token_endpoint_extension_parameters: RETRY_PARAMS,
    frontdesk_retry_wait_max_seconds: MAX_RETRY_WAIT_SECONDS,
    // Delegation mode: subject_token = a standing delegation's id, with the agent's actor_token.
    frontdesk_delegation_subject_token_type: DELEGATION_TOKEN_TYPE,
  };
}

export async function handleAuthorizationServerMetadata(_req: Request): Promise<Response> {
  return new Response(JSON.stringify(authorizationServerMetadata()), {
    headers: { "Content-Type": "application/json", "Cache-Control": "public, max-age=300" },
  });
}

export async function handleJwks(_req: Request): Promise<Response> {
  try {
    const keys = await listPublicJwks();
    return new Response(JSON.stringify({ keys }), {
      headers: { "Content-Type": "application/jwk-set+json", "Cache-Control": "public, max-age=300" },
    });
  } catch {
    return new Response(JSON.stringify({ error: { code: "upstream_unavailable", message: "Keys unavailable" } }), {
      status: 503,
      headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
    });
  }
}

export { AUTHORIZATION_SERVER_METADATA_PATH };
