// Identifiers of the Identity Assertion JWT Authorization Grant
// (draft-ietf-oauth-identity-assertion-authz-grant-03) and the RFC 7523 grant that carries it.

/** §4.3: `requested_token_type` / `issued_token_type` of an ID-JAG. */
export const TOKEN_TYPE_ID_JAG = "urn:ietf:params:oauth:token-type:id-jag";
/** §4.3: the subject token Frontdesk presents to the IdP. */
export const TOKEN_TYPE_ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token";
/** §3: the ID-JAG's JWT `typ` header (RFC 8725 §3.11 explicit typing). */
export const ID_JAG_TYP = "oauth-id-jag+jwt";
/** §4.4 / RFC 7523 §2.1: the grant that redeems it. */
export const GRANT_TYPE_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/** §7: a resource authorization server's `authorization_grant_profiles_supported` entry. */
export const GRANT_PROFILE_ID_JAG = "urn:ietf:params:oauth:grant-profile:id-jag";
export const GRANT_TYPE_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";

/** `scope` of a JWT claim or token response, as a list (RFC 6749 §3.3). */
export function scopeList(value: unknown): string[] {
  return typeof value === "string" ? [...new Set(value.split(" ").filter(Boolean))] : [];
}
