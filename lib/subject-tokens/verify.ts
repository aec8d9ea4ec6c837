// Verifies the JWT that proves which user a gateway is acting for (design.md invariant 6):
// signature by a trusted issuer's key, asymmetric algorithms only (so `none` and HMAC signed
// with a public key are rejected before any key is used), `iss`, `aud`, `exp`, `nbf`, small skew.
import { decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { ASYMMETRIC_ALGORITHMS, acceptedAudiences, isIssuerTransportAllowed, trustedIssuers } from "./issuers";
import { getIssuerKeySet } from "./jwks";

export const CLOCK_SKEW_SECONDS = 30;
const MAX_TOKEN_LENGTH = 16 * 1024;

export interface VerifiedSubject {
  issuer: string;
  subject: string;
  email: string | null;
  /** From the groups claim when the token carries one, else null (use the stored user's groups). */
  groups: string[] | null;
  /**
   * How the subject was established: a verified token, a trusted gateway naming it, or an agent
   * naming it in a delegation-mode call; the last is only accepted by resolveCredential once an
   * active delegation from that user to that verified agent covers the call (lib/delegations).
   * `id_jag`: an ID-JAG for Frontdesk from a trusted IdP (RFC 7523 grant, lib/cross-app/verify-id-jag.ts).
   */
  source: "subject_token" | "trusted_gateway" | "delegation" | "id_jag";
  /** Delegation mode naming one delegation (lib/delegations/subject.ts): only that one may answer. */
  delegationId?: string;
  /**
   * RFC 8693 4.4 `may_act` of the token: the claims an actor must have to act for this user
   * (lib/agents/may-act.ts). Absent when the token has none.
   */
  mayAct?: Record<string, unknown>;
  /** RFC 8693 4.1 `act` of the token (it is itself a delegated token, e.g. minted by ToolHive). */
  act?: unknown;
  /** The token's `aud` values: cross-app access presents only an ID token issued to Frontdesk (lib/cross-app). */
  audiences?: string[];
}

function reject(message: string): AppError {
  return new AppError("invalid_subject", message);
}

function readGroups(payload: JWTPayload): string[] | null {
  const claim = payload[env().OIDC_GROUPS_CLAIM];
  if (!Array.isArray(claim)) return null;
  return claim.filter((g): g is string => typeof g === "string");
}

export async function verifySubjectToken(token: string): Promise<VerifiedSubject> {
  if (token.length > MAX_TOKEN_LENGTH || token.split(".").length !== 3) throw reject("subject_token is not a signed JWT");
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(token);
  } catch {
    throw reject("subject_token is not a signed JWT");
  }
  const issuer = unverified.iss;
  // The issuer picks the key set, so it is checked against the trusted list before any fetch:
  // an attacker cannot make Frontdesk fetch keys from a URL of their choosing.
  if (typeof issuer !== "string" || !trustedIssuers().includes(issuer) || !isIssuerTransportAllowed(issuer)) {
    throw reject("subject_token issuer is not trusted");
  }
  const keySet = await getIssuerKeySet(issuer);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keySet, {
      issuer,
      audience: acceptedAudiences(),
      algorithms: [...ASYMMETRIC_ALGORITHMS],
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ["exp", "sub"],
    }));
  } catch (e) {
    if (e instanceof joseErrors.JWKSTimeout || e instanceof AppError) {
      throw new AppError("upstream_unavailable", "The identity provider's keys are unavailable; retry later");
    }
    throw reject(describeJoseError(e, "subject_token"));
  }
  if (typeof payload.sub !== "string" || payload.sub.length === 0) throw reject("subject_token has no subject");
  return {
    issuer,
    subject: payload.sub,
    email: typeof payload.email === "string" ? payload.email : null,
    groups: readGroups(payload),
    source: "subject_token",
    audiences: Array.isArray(payload.aud) ? payload.aud : typeof payload.aud === "string" ? [payload.aud] : [],
    ...(payload.may_act !== undefined ? { mayAct: payload.may_act as Record<string, unknown> } : {}),
    ...(payload.act !== undefined ? { act: payload.act } : {}),
  };
}

/** A short, safe reason for a failed JWT verification (never the token or key material). */
export function describeJoseError(e: unknown, what: string): string {
  if (e instanceof joseErrors.JWTExpired) return `${what} has expired`;
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    if (e.claim === "nbf") return `${what} is not yet valid`;
    if (e.claim === "aud") return `${what} audience is not accepted`;
    if (e.claim === "iss") return `${what} issuer is not accepted`;
    return `${what} claim "${e.claim}" is invalid`;
  }
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return `${what} signature algorithm is not allowed`;
  if (e instanceof joseErrors.JWKSNoMatchingKey) return `${what} is signed with an unknown key`;
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return `${what} signature is invalid`;
  if (e instanceof AppError) return e.message;
  return `${what} is invalid`;
}

/**
 * A gateway registered with `trustedSubject` may name the user directly instead of presenting a
 * token (an explicit admin setting; every use is audited with source "trusted_gateway").
 */
export function acceptTrustedSubject(
  gateway: { trustedSubject: boolean },
  named: { subject: string; issuer?: string },
): VerifiedSubject {
  if (!gateway.trustedSubject) throw new AppError("invalid_subject", "This gateway may not name a subject; send subject_token");
  const issuer = named.issuer ?? env().OIDC_ISSUER;
  if (!issuer || !trustedIssuers().includes(issuer)) throw reject("subject issuer is not trusted");
  return { issuer, subject: named.subject, email: null, groups: null, source: "trusted_gateway" };
}
