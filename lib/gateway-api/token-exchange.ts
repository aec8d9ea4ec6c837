// POST /oauth/token - RFC 8693 token exchange (interface A) and the RFC 7523 jwt-bearer grant with
// an ID-JAG for Frontdesk (interface B, draft-ietf-oauth-identity-assertion-authz-grant-03 §4.4;
// the request shapes of the MCP SDK's CrossAppAccessProvider / exchangeJwtAuthGrant in
// typescript-sdk packages/client/src/client/{authExtensions,crossAppAccess}.ts and agentgateway's
// crossAppAccess second leg, crates/agentgateway/src/http/auth/oauth/transport.rs). Both answer
// alike: same policy, same audit, same fields. Sends what agentgateway
// (`oauthTokenExchange`) and ToolHive (`token_exchange`) expect: access_token, token_type Bearer,
// issued_token_type access_token, expires_in (remaining lifetime, capped), scope; consent needed
// is HTTP 400 interaction_required with the MCP URL-mode elicitation (2025-11-25) and, next to it,
// `input_required` (2026-07-28). Extension parameters (in the discovery metadata): `request_state`
// (a retry's requestState), `wait` (seconds to wait for the user), `request_digest`.
// Delegation mode (no user present): subject_token = a delegation id with subject_token_type
// DELEGATION_TOKEN_TYPE, plus the agent's own actor_token (lib/delegations/subject.ts).
import { establishActor } from "@/lib/agents/establish";
import { appendAudit } from "@/lib/audit/append";
import { GRANT_TYPE_JWT_BEARER } from "@/lib/cross-app/id-jag";
import { IdJagRejected, verifyInboundIdJag } from "@/lib/cross-app/verify-id-jag";
import type { Provider } from "@/lib/generated/prisma/client";
import type { AuthenticatedGateway } from "@/lib/gateways/authenticate";
import { DELEGATION_TOKEN_TYPE, subjectOfDelegation } from "@/lib/delegations/subject";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { MAX_REQUEST_STATE_LENGTH, REQUEST_DIGEST_PATTERN } from "@/lib/elicitations/request-state";
import { consentNeededForms } from "./consent-needed";
import { gatewayRoute } from "./gateway-route";
import { json, type ApiRequest, type Reply } from "./http";
import { awaitRetry, MAX_RETRY_WAIT_SECONDS, requestStateBinding } from "./request-state-retry";
import { resolveCredential, type ResolveOutcome } from "./resolve-credential";
import { verifySubjectTokenCached } from "./subject-cache";
import { findTargetProvider, parseScopes } from "./target";

export const GRANT_TYPE_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
export const TOKEN_TYPE_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token";
export const SUBJECT_TOKEN_TYPES = [
  TOKEN_TYPE_ACCESS_TOKEN,
  "urn:ietf:params:oauth:token-type:jwt",
  "urn:ietf:params:oauth:token-type:id_token",
] as const;

// Frontdesk's extension parameters for MCP 2026-07-28 retries (announced in the RFC 8414 metadata).
export const RETRY_PARAMS = ["request_state", "request_digest", "wait"];
const SINGLE = ["grant_type", "subject_token", "subject_token_type", "actor_token", "actor_token_type", "scope", "requested_token_type", ...RETRY_PARAMS];
// RFC 8693 2.1 allows several resource and audience parameters (agentgateway sends one per entry).
const REPEATABLE = ["resource", "audience"];

// RFC 7523 §2.1: grant_type, assertion, optional scope; the same target and retry parameters.
const SINGLE_JWT_BEARER = ["grant_type", "assertion", "scope", ...RETRY_PARAMS];

/** Every body parameter each grant accepts besides client authentication (the OpenAPI document is checked against these). */
export const TOKEN_REQUEST_PARAMETERS = {
  tokenExchange: [...SINGLE, ...REPEATABLE],
  jwtBearer: [...SINGLE_JWT_BEARER, ...REPEATABLE],
} as const;

function checkParameters(form: URLSearchParams, single: string[]) {
  for (const name of new Set(form.keys())) {
    if (!single.includes(name) && !REPEATABLE.includes(name)) throw new AppError("invalid_request", `Unknown parameter ${name}`);
    if (single.includes(name) && form.getAll(name).length > 1) throw new AppError("invalid_request", `Parameter ${name} is repeated`);
  }
  return (name: string) => {
    const v = form.get(name);
    return v === null || v === "" ? undefined : v;
  };
}

function grantTypeOf(form: URLSearchParams): "token_exchange" | "jwt_bearer" {
  const values = form.getAll("grant_type");
  if (values.length > 1) throw new AppError("invalid_request", "Parameter grant_type is repeated");
  const grantType = values[0];
  if (!grantType) throw new AppError("invalid_request", "grant_type is required");
  if (grantType === GRANT_TYPE_TOKEN_EXCHANGE) return "token_exchange";
  // Offered only where trusted ID-JAG issuers are configured (and then in the metadata).
  if (grantType === GRANT_TYPE_JWT_BEARER && env().ID_JAG_ISSUERS.length > 0) return "jwt_bearer";
  throw new AppError("invalid_request", "Unsupported grant_type", { oauthError: "unsupported_grant_type" });
}

function parseRetryParams(get: (name: string) => string | undefined) {
  const requestState = get("request_state");
  if (requestState !== undefined && requestState.length > MAX_REQUEST_STATE_LENGTH) throw new AppError("invalid_request", "request_state is too long");
  const requestDigest = get("request_digest");
  if (requestDigest !== undefined && !REQUEST_DIGEST_PATTERN.test(requestDigest)) throw new AppError("invalid_request", "request_digest: 1-128 URL-safe characters");
  const wait = get("wait");
  if (wait !== undefined && (!/^\d{1,2}$/.test(wait) || Number(wait) > MAX_RETRY_WAIT_SECONDS)) {
    throw new AppError("invalid_request", `wait: whole seconds, 0 to ${MAX_RETRY_WAIT_SECONDS}`);
  }
  if (wait !== undefined && requestState === undefined) throw new AppError("invalid_request", "wait: only with request_state");
  return { requestState, requestDigest, waitSeconds: wait === undefined ? 0 : Number(wait) };
}

function parseJwtBearerForm(form: URLSearchParams) {
  const get = checkParameters(form, SINGLE_JWT_BEARER);
  const assertion = get("assertion");
  if (!assertion) throw new AppError("invalid_request", "assertion is required");
  const scope = get("scope");
  return {
    ...parseRetryParams(get),
    assertion,
    resources: form.getAll("resource").filter(Boolean),
    audiences: form.getAll("audience").filter(Boolean),
    scopes: scope === undefined ? null : parseScopes(scope.split(" ").filter(Boolean)),
  };
}

function parseExchangeForm(form: URLSearchParams) {
  const get = checkParameters(form, SINGLE);
  const subjectToken = get("subject_token");
  if (!subjectToken) throw new AppError("invalid_request", "subject_token is required");
  const subjectTokenType = get("subject_token_type");
  if (!subjectTokenType) throw new AppError("invalid_request", "subject_token_type is required");
  // Delegation mode: an agent with nobody present names the user by their standing delegation
  // (the subject_token is its id); its own actor token is then what proves who asks.
  const isDelegation = subjectTokenType === DELEGATION_TOKEN_TYPE;
  if (!isDelegation && !(SUBJECT_TOKEN_TYPES as readonly string[]).includes(subjectTokenType)) {
    throw new AppError("invalid_request", `subject_token_type must be an access_token, jwt or id_token URN, or ${DELEGATION_TOKEN_TYPE}`);
  }
  const requested = get("requested_token_type");
  if (requested !== undefined && requested !== TOKEN_TYPE_ACCESS_TOKEN) {
    throw new AppError("invalid_request", "Only access tokens can be issued");
  }
  const actorToken = get("actor_token");
  const actorTokenType = get("actor_token_type");
  if ((actorToken === undefined) !== (actorTokenType === undefined)) {
    throw new AppError("invalid_request", "actor_token and actor_token_type go together");
  }
  const scope = get("scope");
  const retryParams = parseRetryParams(get);
  // Nobody is there to answer an elicitation, so there is nothing to retry.
  if (isDelegation && retryParams.requestState !== undefined) throw new AppError("invalid_request", "request_state: not in delegation mode");
  return {
    delegationId: isDelegation ? subjectToken : undefined,
    ...retryParams,
    subjectToken,
    resources: form.getAll("resource").filter(Boolean),
    audiences: form.getAll("audience").filter(Boolean),
    scopes: parseScopes(scope ? scope.split(" ").filter(Boolean) : []),
    actor: actorToken !== undefined ? { token: actorToken, tokenType: actorTokenType! } : undefined,
  };
}

/** Remaining lifetime, capped so gateway caches honor revocation quickly; at least 1 s. */
export function cappedExpiresIn(expiresAt: Date | null, now = Date.now()): number {
  const cap = env().TOKEN_MAX_EXPIRES_IN;
  if (!expiresAt) return cap;
  return Math.max(1, Math.min(cap, Math.floor((expiresAt.getTime() - now) / 1000)));
}

function checkBearerTarget(provider: Provider) {
  // An API key can stand in for a bearer token only where the provider expects it as one.
  if (provider.kind === "api_key" && (provider.apiKeyHeader ?? "authorization").toLowerCase() !== "authorization") {
    throw new AppError("invalid_request", "This provider's credential is not a bearer token; use the resolve API", { oauthError: "invalid_target" });
  }
}

async function answer(
  outcome: ResolveOutcome,
  provider: Provider,
  consent: Parameters<typeof consentNeededForms>[2],
  retry: Parameters<typeof consentNeededForms>[3],
): Promise<Reply> {
  if (outcome.kind === "elicitation") {
    const forms = await consentNeededForms(outcome, provider, consent, retry);
    return json(
      {
        error: "interaction_required",
        error_description: forms.elicitation.message,
        elicitation: forms.elicitation,
        input_required: forms.inputRequired,
      },
      400,
    );
  }
  const c = outcome.credential;
  const accessToken = c.kind === "oauth" ? c.accessToken : `${(provider.apiKeyPrefix ?? "").replace(/^bearer\s+/i, "")}${c.apiKey}`;
  return json({
    access_token: accessToken,
    token_type: "Bearer",
    issued_token_type: TOKEN_TYPE_ACCESS_TOKEN,
    expires_in: cappedExpiresIn(c.kind === "oauth" ? c.expiresAt : null),
    scope: outcome.scopes.join(" "),
  });
}

// Interface B: the ID-JAG names the user (and, in `resource`, the provider); its `scope` is the
// IdP's ceiling. Then exactly the token-exchange path: policy, grant, consent per requester, audit.
async function handleJwtBearer(ctx: { req: ApiRequest; form: URLSearchParams; gateway: AuthenticatedGateway; requestId: string }): Promise<Reply> {
  const { req, gateway, requestId } = ctx;
  const params = parseJwtBearerForm(ctx.form);
  let idJag;
  try {
    idJag = await verifyInboundIdJag(params.assertion, gateway);
  } catch (e) {
    if (e instanceof IdJagRejected) {
      // Invariant 12: a refused ID-JAG is audited (what it claimed, unverified) and yields nothing.
      await appendAudit({
        actorType: "gateway",
        actorId: gateway.id,
        gatewayId: gateway.id,
        action: "token_exchange",
        decision: "deny",
        reason: `id_jag:${e.reason}`,
        requestId,
        context: { grantType: "jwt-bearer", claimed: e.unverified, authMethod: gateway.usedMethod },
      });
    }
    throw e;
  }
  const resources = [...new Set([...idJag.resources, ...params.resources])];
  if (resources.length === 0 && params.audiences.length === 0) {
    throw new AppError("invalid_request", "The ID-JAG names no resource; send resource or audience", { oauthError: "invalid_target" });
  }
  const provider = await findTargetProvider({ resources, audiences: params.audiences });
  checkBearerTarget(provider);
  // RFC 7523 §2.1 `scope`: at most what the IdP granted (draft §4.4.1: the AS MAY grant a subset).
  if (params.scopes && idJag.scopes && params.scopes.some((s) => !idJag.scopes!.includes(s))) {
    throw new AppError("invalid_request", "scope exceeds what the ID-JAG grants", { oauthError: "invalid_scope" });
  }
  const scopes = params.scopes ?? idJag.scopes ?? [];
  const subject = idJag.subject;
  const call = { gateway, subject, actor: undefined, provider, scopes, digest: params.requestDigest };
  const retry =
    params.requestState === undefined
      ? null
      : await awaitRetry({ ...call, action: "token_exchange", requestState: params.requestState, waitSeconds: params.waitSeconds, requestId, signal: req.signal });
  const outcome = await resolveCredential({
    action: "token_exchange",
    gateway,
    subject,
    provider,
    scopes,
    context: {},
    requestId,
    auditExtra: { grantType: "jwt-bearer", idJag: { issuer: idJag.issuer, jti: idJag.jti, scopes: idJag.scopes } },
  });
  return answer(outcome, provider, requestStateBinding(call), retry);
}

// The client assertion's single use is still being stored when this starts (overlapSingleUse):
// parsing, the provider and the subject token are read-only, and resolveCredential awaits
// `authenticated` with its first read. Delegation, actor tokens, retries and ID-JAGs have effects
// of their own (audited refusals, consumed tokens, waits), so they wait for it first.
export const handleTokenRequest = gatewayRoute({ name: "token", body: "form", style: "oauth", overlapSingleUse: true }, async ({ req, form, gateway, requestId, authenticated }) => {
  if (grantTypeOf(form) === "jwt_bearer") {
    await authenticated;
    return handleJwtBearer({ req, form, gateway, requestId });
  }
  const params = parseExchangeForm(form);
  const provider = await findTargetProvider({ resources: params.resources, audiences: params.audiences });
  checkBearerTarget(provider);
  const plain = params.delegationId === undefined && params.actor === undefined && params.requestState === undefined;
  if (!plain) await authenticated;
  const subject =
    params.delegationId !== undefined
      ? await subjectOfDelegation(params.delegationId, { gatewayId: gateway.id, providerId: provider.id, action: "token_exchange", requestId, authMethod: gateway.usedMethod })
      : await verifySubjectTokenCached(params.subjectToken);
  const actor = params.actor
    ? await establishActor({ presented: params.actor, gateway, subject, providerId: provider.id, action: "token_exchange", requestId })
    : undefined;
  const call = { gateway, subject, actor, provider, scopes: params.scopes, digest: params.requestDigest };
  const retry =
    params.requestState === undefined
      ? null
      : await awaitRetry({ ...call, action: "token_exchange", requestState: params.requestState, waitSeconds: params.waitSeconds, requestId, signal: req.signal });
  const outcome = await resolveCredential({
    action: "token_exchange",
    gateway,
    subject,
    actor,
    provider,
    scopes: params.scopes,
    context: {},
    requestId,
    subjectToken: params.delegationId === undefined ? params.subjectToken : undefined,
    authenticated,
  });
  return answer(outcome, provider, requestStateBinding(call), retry);
});
