// Frontdesk as the client at the enterprise IdP (draft-ietf-oauth-identity-assertion-authz-grant-03
// §4.3): an RFC 8693 token exchange for an ID-JAG. Frontdesk authenticates as its own OIDC client
// (OIDC_CLIENT_ID / OIDC_CLIENT_SECRET, client_secret_basic as RFC 6749 §2.3.1 encodes it) and
// presents the user's ID token issued to that client (§4.3.1: its `aud` must be our client id).
// The request is shaped like the MCP SDK's requestJwtAuthorizationGrant
// (typescript-sdk packages/client/src/client/crossAppAccess.ts) and agentgateway's crossAppAccess
// first leg (crates/agentgateway/src/http/auth/oauth/transport.rs, build_token_request_form).
// The IdP's answer is read as a decision: a token error is a refusal (its policy said no), a 5xx,
// timeout or unreadable answer is an outage (retryable), never a refusal.
import { jwtVerify } from "jose";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { log } from "@/lib/log";
import { ASYMMETRIC_ALGORITHMS, isIssuerTransportAllowed } from "@/lib/subject-tokens/issuers";
import { getIssuerKeySet } from "@/lib/subject-tokens/jwks";
import { CLOCK_SKEW_SECONDS } from "@/lib/subject-tokens/verify";
import { GRANT_TYPE_TOKEN_EXCHANGE, ID_JAG_TYP, scopeList, TOKEN_TYPE_ID_JAG, TOKEN_TYPE_ID_TOKEN } from "./id-jag";

const TIMEOUT_MS = 10_000;
const METADATA_TTL_MS = 60 * 60 * 1000;

export type IdJagRequestOutcome =
  | { kind: "issued"; idJag: string; scopes: string[] }
  | { kind: "refused"; error: string; description: string | null };

let metadata: { issuer: string; tokenEndpoint: Promise<string>; at: number } | null = null;

/** The IdP's token endpoint from its OIDC discovery document (issuer checked, OIDC Discovery §4.3). */
function idpTokenEndpoint(issuer: string): Promise<string> {
  if (metadata && metadata.issuer === issuer && Date.now() - metadata.at < METADATA_TTL_MS) return metadata.tokenEndpoint;
  const tokenEndpoint = (async () => {
    const res = await fetch(`${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(TIMEOUT_MS),
      headers: { accept: "application/json" },
      redirect: "error",
    });
    if (!res.ok) throw new Error(`discovery returned HTTP ${res.status}`);
    const meta = (await res.json()) as { issuer?: unknown; token_endpoint?: unknown };
    if (meta.issuer !== issuer || typeof meta.token_endpoint !== "string") throw new Error("discovery document does not match the issuer");
    return meta.token_endpoint;
  })();
  const entry = { issuer, tokenEndpoint, at: Date.now() };
  metadata = entry;
  tokenEndpoint.catch(() => {
    if (metadata === entry) metadata = null;
  });
  return tokenEndpoint;
}

function unavailable(reason: string): AppError {
  log.warn("enterprise IdP unavailable for cross-app access", { reason });
  return new AppError("upstream_unavailable", "Your organization's identity provider is not reachable; retry later");
}

/** RFC 6749 §2.3.1: id and secret form-urlencoded, then base64 of "id:secret". */
function basicCredentials(id: string, secret: string): string {
  const encode = (s: string) => new URLSearchParams({ v: s }).toString().slice(2);
  return Buffer.from(`${encode(id)}:${encode(secret)}`).toString("base64");
}

export async function requestIdJag(input: {
  /** The user's ID token for Frontdesk (the live subject token of the call). */
  idToken: string;
  subject: { issuer: string; subject: string };
  /** The provider's authorization server issuer: the ID-JAG's `aud`. */
  audience: string;
  resource?: string;
  scopes: string[];
}): Promise<IdJagRequestOutcome> {
  const e = env();
  const issuer = e.OIDC_ISSUER;
  if (!issuer || !e.OIDC_CLIENT_ID || !e.OIDC_CLIENT_SECRET) throw new AppError("config_error", "Cross-app access needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET");
  if (!isIssuerTransportAllowed(issuer)) throw new AppError("config_error", "The identity provider must be reached over https");
  let tokenEndpoint: string;
  try {
    tokenEndpoint = await idpTokenEndpoint(issuer);
  } catch (err) {
    throw unavailable(err instanceof Error ? err.message : "discovery failed");
  }
  const form = new URLSearchParams({
    grant_type: GRANT_TYPE_TOKEN_EXCHANGE,
    requested_token_type: TOKEN_TYPE_ID_JAG,
    audience: input.audience,
    subject_token: input.idToken,
    subject_token_type: TOKEN_TYPE_ID_TOKEN,
  });
  if (input.resource) form.set("resource", input.resource);
  if (input.scopes.length > 0) form.set("scope", input.scopes.join(" "));

  let res: Response;
  let body: Record<string, unknown>;
  try {
    res = await fetch(tokenEndpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
        authorization: `Basic ${basicCredentials(e.OIDC_CLIENT_ID, e.OIDC_CLIENT_SECRET)}`,
      },
      body: form,
      redirect: "error",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    body = (await res.json()) as Record<string, unknown>;
  } catch (err) {
    throw unavailable(err instanceof Error ? err.name : "request failed");
  }
  if (res.status >= 500 || typeof body !== "object" || body === null) throw unavailable(`HTTP ${res.status}`);
  if (!res.ok) {
    // RFC 6749 §5.2 (draft §4.3.3): the IdP's decision, kept short for the audit row.
    const error = typeof body.error === "string" ? body.error.slice(0, 64) : `http_${res.status}`;
    const description = typeof body.error_description === "string" ? body.error_description.slice(0, 200) : null;
    return { kind: "refused", error, description };
  }
  // §4.3.2: issued_token_type id-jag, token_type N_A, the ID-JAG in access_token.
  if (body.issued_token_type !== TOKEN_TYPE_ID_JAG || typeof body.access_token !== "string") throw unavailable("answer is not an ID-JAG");
  const idJag = body.access_token;
  // The IdP is trusted, but its answer is checked before it is relied on: signed by the IdP,
  // typed, for this user and this provider (a mix-up would hand one user's grant to another).
  try {
    await jwtVerify(idJag, await getIssuerKeySet(issuer), {
      issuer,
      subject: input.subject.subject,
      audience: input.audience,
      typ: ID_JAG_TYP,
      algorithms: [...ASYMMETRIC_ALGORITHMS],
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ["exp", "jti"],
    });
  } catch (err) {
    if (err instanceof AppError) throw err;
    log.warn("the IdP's ID-JAG does not match the request", { reason: err instanceof Error ? err.name : "invalid" });
    return { kind: "refused", error: "invalid_id_jag", description: "The identity provider's ID-JAG does not match the request" };
  }
  // §4.3.2: `scope` is REQUIRED when it differs from the request; absent means as requested.
  return { kind: "issued", idJag, scopes: body.scope === undefined ? input.scopes : scopeList(body.scope) };
}

/** Tests: forget the discovered token endpoint. */
export function clearIdpMetadata(): void {
  metadata = null;
}
