// Which identity providers Frontdesk trusts to name users, and which audiences their tokens
// must carry. Read from configuration only; nothing here is per-request.
import { env, publicUrl } from "@/lib/env";

/** OIDC_ISSUER (the portal's IdP) plus SUBJECT_TOKEN_ISSUERS, exactly as they appear in `iss`. */
export function trustedIssuers(): string[] {
  const e = env();
  return [...new Set([...(e.OIDC_ISSUER ? [e.OIDC_ISSUER] : []), ...e.SUBJECT_TOKEN_ISSUERS])];
}

/** SUBJECT_TOKEN_AUDIENCES, or by default the portal's client id and Frontdesk's public URL. */
export function acceptedAudiences(): string[] {
  const e = env();
  if (e.SUBJECT_TOKEN_AUDIENCES.length > 0) return e.SUBJECT_TOKEN_AUDIENCES;
  return [...(e.OIDC_CLIENT_ID ? [e.OIDC_CLIENT_ID] : []), publicUrl()];
}

/** Plain-http issuers are refused unless named in FRONTDESK_INSECURE_HTTP_ISSUERS (development). */
export function isIssuerTransportAllowed(issuer: string): boolean {
  if (issuer.startsWith("https://")) return true;
  const trimmed = issuer.replace(/\/+$/, "");
  return env().FRONTDESK_INSECURE_HTTP_ISSUERS.some((i) => i.replace(/\/+$/, "") === trimmed);
}

/** Signature algorithms accepted for subject tokens and client assertions: asymmetric only. */
export const ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
] as const;
