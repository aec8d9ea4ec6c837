// Frontdesk's own endpoint URLs as gateways see them (discovery, assertion audiences).
import { publicUrl } from "@/lib/env";

export const TOKEN_ENDPOINT_PATH = "/oauth/token";
export const RESOLVE_PATH = "/api/v1/resolve";
export const ELICITATIONS_PATH = "/api/v1/elicitations";
/** Egress proxy (interface G): `<PROXY_PATH>/<provider slug>/<upstream path>`, any method. */
export const PROXY_PATH = "/api/v1/proxy";
/** Envoy / agentgateway HTTP ext_authz (interface C): `<EXT_AUTHZ_PATH>/<provider slug>/<original path>`. */
export const EXT_AUTHZ_PATH = "/api/v1/ext-authz";
export const JWKS_PATH = "/.well-known/jwks.json";
export const AUTHORIZATION_SERVER_METADATA_PATH = "/.well-known/oauth-authorization-server";

export function issuerUrl(): string {
  return publicUrl();
}

export function tokenEndpointUrl(): string {
  return `${publicUrl()}${TOKEN_ENDPOINT_PATH}`;
}
