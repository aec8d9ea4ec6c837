// Verifies an RFC 8693 actor token (design.md invariant 12): a JWT signed by a trusted workload
// issuer (lib/agents/issuers.ts), asymmetric algorithms only (so `none` and HMAC signed with a
// public key fail before any key is used), `aud`, `exp` (required), `nbf`, small skew. Works for
// SPIFFE JWT-SVIDs (`sub` = spiffe://..., `iss` optional) and OAuth client-credentials JWT access
// tokens alike. When the subject token carries `may_act`, the actor must match it.
import { decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import { AppError } from "@/lib/errors";
import { ASYMMETRIC_ALGORITHMS } from "@/lib/subject-tokens/issuers";
import { CLOCK_SKEW_SECONDS, describeJoseError, type VerifiedSubject } from "@/lib/subject-tokens/verify";
import { parseActChain } from "./act-chain";
import type { ActorLink } from "./actor";
import { actorAudiences, actorKeySet, agentIssuerOf, findActorIssuer, trustedActorIssuers } from "./issuers";
import { recordActorTokenUse } from "./actor-replay";
import { mayActAuthorizes } from "./may-act";
import { isSpiffeId } from "./spiffe";

/** Token types an actor token may be declared as (like ToolHive: no id_token; an actor is not an identity assertion). */
export const ACTOR_TOKEN_TYPES = ["urn:ietf:params:oauth:token-type:access_token", "urn:ietf:params:oauth:token-type:jwt"] as const;
const MAX_TOKEN_LENGTH = 16 * 1024;

export interface VerifiedActorToken {
  /** The agent's issuer: the token's `iss`, or spiffe://<trust domain> for a JWT-SVID without one. */
  issuer: string;
  subject: string;
  /** A display name the token offers (`name`, else `client_id`), for a first sighting. */
  nameHint: string | null;
  actChain: ActorLink[];
}

/** Why an actor token was refused: `reason` is a stable audit code, the message is for the caller. */
export class ActorRejected extends AppError {
  constructor(
    readonly reason: string,
    message: string,
    oauthError: "invalid_request" | "invalid_grant" = "invalid_request",
    readonly unverified?: { iss?: string; sub?: string },
  ) {
    // RFC 8693 2.2.2: an invalid or unacceptable actor_token is invalid_request. A valid actor the
    // subject's may_act does not authorize is invalid_grant, as ToolHive, Keycloak and Hydra answer
    // (RFC 6749 5.2: the grant "was issued to another client").
    super(oauthError === "invalid_request" ? "invalid_actor" : "forbidden", message, { oauthError, reason });
  }
}

function claimText(v: unknown): string | undefined {
  return typeof v === "string" ? v.slice(0, 512) : undefined;
}

export async function verifyActorToken(input: {
  token: string;
  tokenType: string;
  gatewayId: string;
  subject: VerifiedSubject;
}): Promise<VerifiedActorToken> {
  const { token } = input;
  if (!(ACTOR_TOKEN_TYPES as readonly string[]).includes(input.tokenType)) {
    throw new ActorRejected("unsupported_token_type", "actor_token_type must be an access_token or jwt URN");
  }
  if (token.length > MAX_TOKEN_LENGTH || token.split(".").length !== 3) throw new ActorRejected("malformed", "actor_token is not a signed JWT");
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(token);
  } catch {
    throw new ActorRejected("malformed", "actor_token is not a signed JWT");
  }
  const seen = { iss: claimText(unverified.iss), sub: claimText(unverified.sub) };
  const entry = findActorIssuer(await trustedActorIssuers(input.gatewayId), seen.iss, seen.sub);
  if (!entry) throw new ActorRejected("untrusted_issuer", "actor_token issuer is not trusted", "invalid_request", seen);

  const keySet = await actorKeySet(entry);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keySet, {
      ...(entry.issuer !== undefined ? { issuer: entry.issuer } : {}),
      audience: actorAudiences(entry),
      algorithms: [...ASYMMETRIC_ALGORITHMS],
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ["exp", "sub"],
    }));
  } catch (e) {
    if (e instanceof joseErrors.JWKSTimeout || (e instanceof AppError && e.code === "upstream_unavailable")) {
      throw new AppError("upstream_unavailable", "The actor token issuer's keys are unavailable; retry later");
    }
    throw new ActorRejected(joseReason(e), describeJoseError(e, "actor_token"), "invalid_request", seen);
  }
  const subject = payload.sub!;
  if (subject.startsWith("spiffe:") && !isSpiffeId(subject)) throw new ActorRejected("malformed_spiffe_id", "actor_token subject is not a valid SPIFFE ID", "invalid_request", seen);
  if (subject.length > 1024) throw new ActorRejected("malformed", "actor_token subject is too long", "invalid_request", seen);
  const actChain = parseActChain(payload.act);
  if (!actChain) throw new ActorRejected("malformed_act", "actor_token act claim is malformed", "invalid_request", seen);
  const issuer = agentIssuerOf(entry);

  if (input.subject.mayAct !== undefined) {
    // Compared with the verified claims; a JWT-SVID without `iss` is compared as its trust domain.
    if (!mayActAuthorizes(input.subject.mayAct, { ...payload, iss: payload.iss ?? issuer })) {
      throw new ActorRejected("may_act_mismatch", "The subject token does not allow this actor to act for it (may_act)", "invalid_grant", seen);
    }
  }
  // Last, so that only a token that passed every other check is remembered.
  const use = await recordActorTokenUse({
    issuer,
    jti: typeof payload.jti === "string" ? payload.jti : undefined,
    token,
    exp: payload.exp!,
    gatewayId: input.gatewayId,
    singleUse: entry.singleUse === true,
  });
  if (use === "replayed") {
    throw new ActorRejected(
      "replayed",
      entry.singleUse ? "actor_token was already used; present a fresh one" : "actor_token was already presented through another gateway",
      "invalid_request",
      seen,
    );
  }
  const nameHint = claimText(payload.name) ?? claimText(payload.client_id) ?? null;
  return { issuer, subject, nameHint: nameHint ? nameHint.slice(0, 100) : null, actChain };
}

function joseReason(e: unknown): string {
  if (e instanceof joseErrors.JWTExpired) return "expired";
  if (e instanceof joseErrors.JWTClaimValidationFailed) return e.claim === "aud" ? "wrong_audience" : e.claim === "nbf" ? "not_yet_valid" : `bad_${e.claim}`.slice(0, 40);
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return "algorithm_not_allowed";
  if (e instanceof joseErrors.JWKSNoMatchingKey) return "unknown_key";
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return "bad_signature";
  return "invalid";
}
