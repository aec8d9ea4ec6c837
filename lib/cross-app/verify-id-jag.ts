// Frontdesk as the resource authorization server (interface B): verifies an ID-JAG a gateway
// presents with the RFC 7523 jwt-bearer grant, per draft-ietf-oauth-identity-assertion-authz-grant-03
// §4.4.1 (with RFC 7521 §5.2 and RFC 7523 §3), before it influences anything (design.md
// invariant 12):
// - the issuer is one of ID_JAG_ISSUERS, checked before any key is fetched (so nobody makes
//   Frontdesk fetch keys from a URL of their choosing), over https unless named as a dev issuer;
// - signed by that issuer's published keys, asymmetric algorithms only; `typ` oauth-id-jag+jwt;
// - `aud` is Frontdesk's issuer identifier: a string, or an array of exactly that one element;
// - `client_id` is the authenticated gateway (client continuity), else invalid_grant;
// - `exp`, `iat`, `jti`, `sub` present; not expired, not issued in the future, not older than an
//   hour; the `jti` is used once across all instances (ReplayNonce);
// - no `cnf` (DPoP binding, §8.6) and no `authorization_details`: neither is supported, so
//   neither is silently ignored;
// - `scope` (the IdP's ceiling) and `resource` (which provider) are returned for the caller.
// Every refusal is an IdJagRejected with a stable audit reason; the token endpoint answers
// invalid_grant (§4.4.1 names it for audience and client mismatches; RFC 7523 §3.1 for the rest).
import { decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { consumeAssertionId } from "@/lib/gateways/replay";
import { issuerUrl } from "@/lib/gateways/urls";
import { ASYMMETRIC_ALGORITHMS, isIssuerTransportAllowed } from "@/lib/subject-tokens/issuers";
import { getIssuerKeySet } from "@/lib/subject-tokens/jwks";
import { CLOCK_SKEW_SECONDS, describeJoseError, type VerifiedSubject } from "@/lib/subject-tokens/verify";
import { ID_JAG_TYP, scopeList } from "./id-jag";

const MAX_TOKEN_LENGTH = 16 * 1024;
const MAX_AGE_SECONDS = 3600;

export class IdJagRejected extends AppError {
  constructor(
    readonly reason: string,
    message: string,
    readonly unverified: { iss?: string; sub?: string } = {},
  ) {
    super("invalid_subject", message, { oauthError: "invalid_grant", reason });
  }
}

export interface VerifiedIdJag {
  subject: VerifiedSubject;
  issuer: string;
  jti: string;
  /** The IdP's `scope`; null when the ID-JAG carries none. */
  scopes: string[] | null;
  /** The `resource` claim (one URI or several). */
  resources: string[];
}

function claimText(v: unknown): string | undefined {
  return typeof v === "string" ? v.slice(0, 256) : undefined;
}

function joseReason(e: unknown): string {
  if (e instanceof joseErrors.JWTExpired) return "expired";
  if (e instanceof joseErrors.JWTClaimValidationFailed) return e.claim === "typ" ? "wrong_typ" : e.claim === "iat" ? "too_old" : `bad_${e.claim}`.slice(0, 40);
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return "algorithm_not_allowed";
  if (e instanceof joseErrors.JWKSNoMatchingKey) return "unknown_key";
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return "bad_signature";
  return "invalid";
}

export async function verifyInboundIdJag(assertion: string, gateway: { id: string }): Promise<VerifiedIdJag> {
  if (assertion.length > MAX_TOKEN_LENGTH || assertion.split(".").length !== 3) throw new IdJagRejected("malformed", "assertion is not a signed JWT");
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(assertion);
  } catch {
    throw new IdJagRejected("malformed", "assertion is not a signed JWT");
  }
  const seen = { iss: claimText(unverified.iss), sub: claimText(unverified.sub) };
  const issuer = unverified.iss;
  if (typeof issuer !== "string" || !env().ID_JAG_ISSUERS.includes(issuer) || !isIssuerTransportAllowed(issuer)) {
    throw new IdJagRejected("untrusted_issuer", "The ID-JAG's issuer is not trusted", seen);
  }
  const keySet = await getIssuerKeySet(issuer);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(assertion, keySet, {
      issuer,
      typ: ID_JAG_TYP,
      algorithms: [...ASYMMETRIC_ALGORITHMS],
      clockTolerance: CLOCK_SKEW_SECONDS,
      maxTokenAge: MAX_AGE_SECONDS,
      requiredClaims: ["exp", "iat", "jti", "sub"],
    }));
  } catch (e) {
    if (e instanceof joseErrors.JWKSTimeout || (e instanceof AppError && e.code === "upstream_unavailable")) {
      throw new AppError("upstream_unavailable", "The identity provider's keys are unavailable; retry later");
    }
    throw new IdJagRejected(joseReason(e), describeJoseError(e, "ID-JAG"), seen);
  }
  // §4.4.1: exactly our issuer identifier, alone (prevents audience injection).
  const aud = Array.isArray(payload.aud) ? (payload.aud.length === 1 ? payload.aud[0] : undefined) : payload.aud;
  if (aud !== issuerUrl()) throw new IdJagRejected("wrong_audience", "The ID-JAG was issued for another authorization server", seen);
  if (payload.client_id !== gateway.id) throw new IdJagRejected("wrong_client", "The ID-JAG was issued for another client", seen);
  if (typeof payload.sub !== "string" || payload.sub.length === 0 || payload.sub.length > 1024) throw new IdJagRejected("bad_sub", "The ID-JAG has no usable subject", seen);
  // §8.6: a `cnf` binds the ID-JAG to a key whose DPoP proof Frontdesk does not check yet, and
  // `authorization_details` (RFC 9396) it cannot honour: refused rather than treated as plain.
  if (payload.cnf !== undefined) throw new IdJagRejected("sender_constrained_unsupported", "Sender-constrained ID-JAGs (cnf) are not supported", seen);
  if (payload.authorization_details !== undefined) throw new IdJagRejected("authorization_details_unsupported", "ID-JAGs with authorization_details are not supported", seen);
  const jti = String(payload.jti);
  // Single use (RFC 7523 §3 item 7 permits it; a captured ID-JAG must not buy a second token).
  if (!(await consumeAssertionId(`id-jag|${issuer}`, jti, new Date(payload.exp! * 1000)))) {
    throw new IdJagRejected("replayed", "The ID-JAG was already used", seen);
  }
  const resource = payload.resource;
  const resources = typeof resource === "string" ? [resource] : Array.isArray(resource) ? resource.filter((r): r is string => typeof r === "string") : [];
  const groupsClaim = payload[env().OIDC_GROUPS_CLAIM];
  return {
    issuer,
    jti,
    scopes: payload.scope === undefined ? null : scopeList(payload.scope),
    resources,
    subject: {
      issuer,
      subject: payload.sub,
      email: typeof payload.email === "string" ? payload.email : null,
      groups: Array.isArray(groupsClaim) ? groupsClaim.filter((g): g is string => typeof g === "string") : null,
      source: "id_jag",
    },
  };
}
