// Authenticates a gateway on every call (design.md invariant 5):
//  - private_key_jwt (RFC 7523): a client assertion signed with a registered key (JWKS or JWKS
//    URI), aud = Frontdesk's token endpoint or issuer, short-lived, jti single use across all
//    instances;
//  - client_secret_basic / client_secret_post: the secret Frontdesk generated, compared against
//    its stored hash in constant time.
// Failures are AppError("invalid_client") with a safe reason in details (for the audit row).
import { decodeJwt } from "jose";
import { verifySecret } from "@/lib/crypto/hash";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import type { GatewayAuthMethod } from "@/lib/generated/prisma/client";
import { describeJoseError } from "@/lib/subject-tokens/verify";
import { verifyAssertionJwt } from "./assertion-jwt";
import { getGatewayKeySet } from "./key-sets";
import { consumeAssertionId } from "./replay";
import { CONFIG_CACHE_TTL_MS, TtlCache } from "./ttl-cache";
import { issuerUrl, tokenEndpointUrl } from "./urls";

export const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/** Longest accepted assertion lifetime (agentgateway signs 300 s assertions) plus skew. */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
const CLOCK_SKEW_SECONDS = 30;
const MAX_ASSERTION_LENGTH = 8 * 1024;

export interface AuthenticatedGateway {
  id: string;
  name: string;
  authMethod: GatewayAuthMethod;
  trustedSubject: boolean;
  webhookUrl: string | null;
  /** How this request authenticated. */
  usedMethod: GatewayAuthMethod;
  /**
   * The stored secret hash the presented secret was checked against (null for private_key_jwt).
   * The gateway row may come from a short cache; the credential path re-checks it (see
   * lib/gateway-api/resolve-credential.ts) so a rotation or disable elsewhere counts at once.
   */
  checkedSecretHash: string | null;
}

export interface ClientCredentials {
  /** The Authorization header, if any. */
  authorization: string | null;
  /** Client authentication parameters from a form body (token endpoint). */
  form?: { client_id?: string; client_secret?: string; client_assertion?: string; client_assertion_type?: string };
  /** JSON endpoints accept `Authorization: Bearer <client assertion>` for private_key_jwt gateways. */
  allowBearerAssertion?: boolean;
}

export interface GatewayAuthFailureDetails {
  reason: string;
  gatewayId: string | null;
  /** Whether to answer with a Basic challenge (RFC 6749 5.2). */
  challengeBasic: boolean;
}

function fail(message: string, reason: string, gatewayId: string | null, challengeBasic = false): AppError {
  const details: GatewayAuthFailureDetails = { reason, gatewayId, challengeBasic };
  return new AppError("invalid_client", message, details as unknown as Record<string, unknown>);
}

// A valid hash of a random value, so unknown client ids cost the same as wrong secrets.
const DUMMY_HASH = "sha256:" + "0".repeat(64);

async function queryGateway(id: string) {
  const db = await getDb();
  return db.gateway.findUnique({
    where: { id },
    select: {
      id: true,
      name: true,
      authMethod: true,
      jwks: true,
      jwksUri: true,
      secretHash: true,
      trustedSubject: true,
      webhookUrl: true,
      status: true,
      updatedAt: true,
    },
  });
}

// Gateway rows (with the secret's hash, never a secret) are cached briefly: the credential is
// still checked on every call, and the credential path (resolve, token exchange) re-reads the
// row's status and secret hash in its one query, so a disable or secret rotation on another
// instance counts at once there. Elsewhere (status long-poll) and for a JWKS change it takes
// effect within CONFIG_CACHE_TTL_MS (at once on this instance).
const gatewayCache = new TtlCache<Awaited<ReturnType<typeof queryGateway>>>(CONFIG_CACHE_TTL_MS);

// Gateway ids are printable ASCII (gw_ + base64url); anything else (a NUL from a Basic header or
// an assertion's sub would fail the query as a 500) cannot name a gateway.
const GATEWAY_ID = /^[\x21-\x7e]{1,128}$/;

async function loadGateway(id: string) {
  if (!GATEWAY_ID.test(id)) return null;
  return gatewayCache.get(id, () => queryGateway(id));
}

/** Drops a gateway from this instance's cache after a change. */
export function forgetGateway(id: string): void {
  gatewayCache.invalidate(id);
}

type LoadedGateway = NonNullable<Awaited<ReturnType<typeof loadGateway>>>;

function toAuthenticated(g: LoadedGateway, usedMethod: GatewayAuthMethod): AuthenticatedGateway {
  return {
    id: g.id,
    name: g.name,
    authMethod: g.authMethod,
    trustedSubject: g.trustedSubject,
    webhookUrl: g.webhookUrl,
    usedMethod,
    checkedSecretHash: usedMethod === "private_key_jwt" ? null : g.secretHash,
  };
}

/**
 * The error for a gateway whose cached row turned out stale on the credential path: disabled, or
 * its secret rotated, on another instance since this one cached it.
 */
export function staleGatewayError(gateway: AuthenticatedGateway, reason: "gateway_disabled" | "secret_rotated"): AppError {
  return fail("Client authentication failed", reason, gateway.id, gateway.usedMethod === "client_secret_basic");
}

// Strict parsing of the Authorization header (one credential, one method, canonical encoding):
// a lenient parser accepted Basic credentials with junk characters or in base64url, and two
// Authorization headers (which Headers.get joins with ", ") or Basic plus Bearer.
// RFC 7617 / RFC 7235: `Basic <token68>`, one scheme, the credentials in standard base64 with
// padding; RFC 6749 2.3.1: id and secret form-urlencoded inside.
const BASIC = /^basic +([A-Za-z0-9+/]+={0,2})$/i;
const BEARER = /^bearer +([A-Za-z0-9._~+/-]+=*)$/i;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** application/x-www-form-urlencoded decoding of one value; null for a malformed escape. */
function formDecode(s: string): string | null {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return null;
  }
}

function parseBasic(header: string): { clientId: string; secret: string } | null {
  const encoded = BASIC.exec(header)?.[1];
  // Canonical base64 only: re-encoding the decoded bytes must give back exactly what was sent
  // (this refuses base64url, missing padding, stray bits and anything Buffer would skip).
  if (!encoded || encoded.length % 4 !== 0) return null;
  const bytes = Buffer.from(encoded, "base64");
  if (bytes.toString("base64") !== encoded) return null;
  let raw: string;
  try {
    raw = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  const colon = raw.indexOf(":");
  if (colon <= 0) return null;
  const clientId = formDecode(raw.slice(0, colon));
  const secret = formDecode(raw.slice(colon + 1));
  if (!clientId || !secret || CONTROL.test(clientId) || CONTROL.test(secret)) return null;
  return { clientId, secret };
}

async function authenticateSecret(clientId: string, secret: string, usedMethod: GatewayAuthMethod): Promise<AuthenticatedGateway> {
  const challenge = usedMethod === "client_secret_basic";
  const gateway = await loadGateway(clientId);
  const matches = verifySecret(secret, gateway?.secretHash ?? DUMMY_HASH);
  if (!gateway) throw fail("Client authentication failed", "unknown_client", null, challenge);
  if (gateway.authMethod === "private_key_jwt") {
    throw fail("Client authentication failed", "method_not_registered", gateway.id, challenge);
  }
  if (!matches) throw fail("Client authentication failed", "wrong_secret", gateway.id, challenge);
  if (gateway.status !== "active") throw fail("Client authentication failed", "gateway_disabled", gateway.id, challenge);
  return toAuthenticated(gateway, usedMethod);
}

/** A gateway whose credential checked out, and the check still running: a client assertion's single use (null for a secret). */
export interface PendingAuthentication {
  gateway: AuthenticatedGateway;
  /** Rejects with invalid_client (assertion_replayed) when the assertion's jti was used before. */
  singleUse: Promise<void> | null;
}

async function verifyClientAssertion(assertion: string, expectedClientId?: string): Promise<PendingAuthentication> {
  if (assertion.length > MAX_ASSERTION_LENGTH || assertion.split(".").length !== 3) {
    throw fail("client_assertion is not a signed JWT", "malformed_assertion", null);
  }
  let claims: ReturnType<typeof decodeJwt>;
  try {
    claims = decodeJwt(assertion);
  } catch {
    throw fail("client_assertion is not a signed JWT", "malformed_assertion", null);
  }
  const clientId = claims.sub;
  if (typeof clientId !== "string" || claims.iss !== clientId) {
    throw fail("client_assertion iss and sub must both be the client id", "assertion_iss_sub", null);
  }
  if (expectedClientId !== undefined && expectedClientId !== clientId) {
    throw fail("client_id does not match the client_assertion", "client_id_mismatch", null);
  }
  const gateway = await loadGateway(clientId);
  if (!gateway) throw fail("Client authentication failed", "unknown_client", null);
  if (gateway.authMethod !== "private_key_jwt") throw fail("Client authentication failed", "method_not_registered", gateway.id);
  if (gateway.status !== "active") throw fail("Client authentication failed", "gateway_disabled", gateway.id);
  const keySet = getGatewayKeySet(gateway);
  if (!keySet) throw fail("Client authentication failed", "no_keys_registered", gateway.id);

  let payload: Awaited<ReturnType<typeof verifyAssertionJwt>>;
  try {
    payload = await verifyAssertionJwt(assertion, claims, keySet, {
      issuer: gateway.id,
      subject: gateway.id,
      audience: [tokenEndpointUrl(), issuerUrl()],
      clockToleranceSeconds: CLOCK_SKEW_SECONDS,
      requiredClaims: ["exp", "jti"],
    });
  } catch (e) {
    const reason = describeJoseError(e, "client_assertion");
    throw fail(reason, reason.replace(/^client_assertion /, "assertion_").replace(/\W+/g, "_"), gateway.id);
  }
  const now = Math.floor(Date.now() / 1000);
  const exp = payload.exp as number;
  // Short-lived only: a long-lived assertion is a bearer secret in disguise.
  if (exp - now > MAX_ASSERTION_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS) {
    throw fail("client_assertion lifetime is too long", "assertion_lifetime", gateway.id);
  }
  const jti = payload.jti;
  if (typeof jti !== "string" || jti.length === 0 || jti.length > 256) {
    throw fail("client_assertion jti is invalid", "assertion_jti", gateway.id);
  }
  const singleUse = consumeAssertionId(gateway.id, jti, new Date((exp + CLOCK_SKEW_SECONDS) * 1000)).then((fresh) => {
    if (!fresh) throw fail("client_assertion has already been used", "assertion_replayed", gateway.id);
  });
  return { gateway: toAuthenticated(gateway, "private_key_jwt"), singleUse };
}

/**
 * Authenticates the gateway behind one request. Exactly one method may be used (RFC 6749 2.3),
 * with exactly one credential: an Authorization header that is not a single well-formed Basic
 * (or, on JSON endpoints, Bearer) credential is refused, not ignored.
 */
export async function authenticateGateway(creds: ClientCredentials): Promise<AuthenticatedGateway> {
  const { gateway, singleUse } = await authenticateGatewayPending(creds);
  await singleUse;
  return gateway;
}

/**
 * authenticateGateway, answering as soon as the credential checked out: a client assertion's
 * single use (a committed insert, lib/gateways/replay.ts) is still running in `singleUse`. The
 * caller may do read-only work meanwhile, and must await it before anything with an effect and
 * before answering (lib/gateway-api/gateway-route.ts).
 */
export async function authenticateGatewayPending(creds: ClientCredentials): Promise<PendingAuthentication> {
  const form = creds.form ?? {};
  const header = creds.authorization?.trim() ?? "";
  const usesAssertion = form.client_assertion !== undefined || form.client_assertion_type !== undefined;
  const usesPostSecret = form.client_secret !== undefined;
  let scheme: "basic" | "bearer" | null = null;
  if (header !== "") {
    if (/^basic(?: |$)/i.test(header)) scheme = "basic";
    else if (creds.allowBearerAssertion === true && /^bearer(?: |$)/i.test(header)) scheme = "bearer";
    else throw fail("Unsupported Authorization header", "unsupported_authorization", null, true);
  }
  const methods = [scheme !== null, usesAssertion, usesPostSecret].filter(Boolean).length;
  if (methods > 1) throw fail("Use exactly one client authentication method", "multiple_methods", null);

  if (scheme === "basic") {
    const parsed = parseBasic(header);
    if (!parsed) throw fail("Malformed Basic credentials", "malformed_basic", null, true);
    if (form.client_id !== undefined && form.client_id !== parsed.clientId) {
      throw fail("client_id does not match the Basic credentials", "client_id_mismatch", null, true);
    }
    return { gateway: await authenticateSecret(parsed.clientId, parsed.secret, "client_secret_basic"), singleUse: null };
  }
  if (scheme === "bearer") {
    const assertion = BEARER.exec(header)?.[1];
    if (!assertion) throw fail("Malformed Bearer credentials", "malformed_bearer", null);
    if (form.client_id !== undefined) throw fail("Use exactly one client authentication method", "multiple_methods", null);
    return verifyClientAssertion(assertion);
  }
  if (usesAssertion) {
    if (form.client_assertion_type !== CLIENT_ASSERTION_TYPE || !form.client_assertion) {
      throw fail(`client_assertion_type must be ${CLIENT_ASSERTION_TYPE} with a client_assertion`, "malformed_assertion", null);
    }
    return verifyClientAssertion(form.client_assertion, form.client_id);
  }
  if (usesPostSecret) {
    if (!form.client_id) throw fail("client_id is required with client_secret", "missing_client_id", null);
    if (!form.client_secret) throw fail("client_secret is empty", "malformed_secret", null);
    return { gateway: await authenticateSecret(form.client_id, form.client_secret, "client_secret_post"), singleUse: null };
  }
  throw fail("Client authentication is required", "no_credentials", null, true);
}
