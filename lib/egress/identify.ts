// Who an egress call is for, from request headers: the body of a proxied request belongs to the
// upstream, so the user and the requested scopes travel in Frontdesk-* headers (stripped before
// anything is forwarded). Same rules as REST resolve: a verified subject token, or, for a
// gateway an admin marked trusted, a named subject, or (delegation mode, nobody present) the user
// an agent names, with that agent's own actor token and a standing delegation (lib/delegations).
//   Frontdesk-Subject-Token: <the user's JWT from the organization's IdP>
//   Frontdesk-Subject: <subject>   (+ Frontdesk-Subject-Issuer; trusted-subject gateways only)
//   Frontdesk-On-Behalf-Of: <subject> + Frontdesk-On-Behalf-Of-Issuer: <issuer>   (delegation mode)
//   Frontdesk-Actor-Token + Frontdesk-Actor-Token-Type: the agent's RFC 8693 actor token (REST
//     resolve's actor_token / actor_token_type), verified by lib/agents before anything is resolved
//   Frontdesk-Scopes: <space-separated scopes>   (none: the provider's default scopes)
//   Frontdesk-Agent-Id / Frontdesk-Mcp-Server / Frontdesk-Tool-Name: context for the audit log
//   Frontdesk-Request-State / Frontdesk-Wait / Frontdesk-Request-Digest: an MCP 2026-07-28 retry
//     (the same parameters REST resolve takes in its body; lib/gateway-api/request-state-retry.ts)
import { MAX_REQUEST_STATE_LENGTH, REQUEST_DIGEST_PATTERN } from "@/lib/elicitations/request-state";
import { AppError } from "@/lib/errors";
import { MAX_RETRY_WAIT_SECONDS } from "@/lib/gateway-api/request-state-retry";
import type { AuthenticatedGateway } from "@/lib/gateways/authenticate";
import type { ResolveContext } from "@/lib/gateway-api/resolve-credential";
import { verifySubjectTokenCached } from "@/lib/gateway-api/subject-cache";
import type { HeaderReader } from "@/lib/http-edge/raw-headers";
import { parseScopes } from "@/lib/gateway-api/target";
import { acceptTrustedSubject, type VerifiedSubject } from "@/lib/subject-tokens/verify";
import type { PresentedActor } from "@/lib/agents/establish";
import { namedByAgent } from "@/lib/delegations/subject";

export const SUBJECT_TOKEN_HEADER = "frontdesk-subject-token";
export const SUBJECT_HEADER = "frontdesk-subject";
export const SUBJECT_ISSUER_HEADER = "frontdesk-subject-issuer";
export const SCOPES_HEADER = "frontdesk-scopes";
export const UPSTREAM_BASE_HEADER = "frontdesk-upstream-base";
export const ON_BEHALF_OF_HEADER = "frontdesk-on-behalf-of";
export const ON_BEHALF_OF_ISSUER_HEADER = "frontdesk-on-behalf-of-issuer";
export const ACTOR_TOKEN_HEADER = "frontdesk-actor-token";
export const ACTOR_TOKEN_TYPE_HEADER = "frontdesk-actor-token-type";

const CONTEXT_HEADERS = { agentId: "frontdesk-agent-id", mcpServer: "frontdesk-mcp-server", toolName: "frontdesk-tool-name" } as const;

export interface EgressCaller {
  subject: VerifiedSubject;
  /** The subject token as presented (verified into `subject`): what cross-app access may present to the IdP. */
  subjectToken: string | undefined;
  scopes: string[];
  /** The agent's actor token as presented; the route verifies it (establishActor) once it knows the provider. */
  actor: PresentedActor | null;
  context: ResolveContext;
  /** The tool-call digest a 2026 requestState is bound to, if the MCP server sends one. */
  digest: string | undefined;
  /** A 2026-07-28 retry: the requestState Frontdesk sealed, and how long to wait for the user. */
  retry: { requestState: string; waitSeconds: number } | null;
}

function bounded(headers: HeaderReader, name: string, max: number): string | null {
  const value = headers.get(name);
  if (value === null) return null;
  const trimmed = value.trim();
  if (trimmed === "" || trimmed.length > max) throw new AppError("invalid_request", `Header ${name} is empty or longer than ${max} characters`);
  return trimmed;
}

/**
 * `bearerFallback`: ext_authz, where the original request's `Authorization: Bearer <jwt>` is the
 * user's token when no Frontdesk-Subject-Token header is configured.
 */
export async function identifyCaller(headers: HeaderReader, gateway: AuthenticatedGateway, opts: { bearerFallback?: boolean } = {}): Promise<EgressCaller> {
  let token = bounded(headers, SUBJECT_TOKEN_HEADER, 16 * 1024);
  const named = bounded(headers, SUBJECT_HEADER, 512);
  const onBehalfOf = bounded(headers, ON_BEHALF_OF_HEADER, 512);
  if (token === null && named === null && onBehalfOf === null && opts.bearerFallback) {
    const match = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)$/i.exec(headers.get("authorization") ?? "");
    token = match?.[1] ?? null;
  }
  if ([token, named, onBehalfOf].filter((v) => v !== null).length !== 1) {
    throw new AppError("unauthenticated", `Identify the user with exactly one of the ${SUBJECT_TOKEN_HEADER}, ${SUBJECT_HEADER} or ${ON_BEHALF_OF_HEADER} headers`);
  }
  const actorToken = bounded(headers, ACTOR_TOKEN_HEADER, 16 * 1024);
  const actorTokenType = bounded(headers, ACTOR_TOKEN_TYPE_HEADER, 256);
  if ((actorToken === null) !== (actorTokenType === null)) throw new AppError("invalid_request", `${ACTOR_TOKEN_HEADER} and ${ACTOR_TOKEN_TYPE_HEADER} go together`);
  let subject: VerifiedSubject;
  if (token !== null) subject = await verifySubjectTokenCached(token);
  else if (onBehalfOf !== null) {
    const issuer = bounded(headers, ON_BEHALF_OF_ISSUER_HEADER, 2048);
    if (issuer === null) throw new AppError("invalid_request", `${ON_BEHALF_OF_HEADER} needs ${ON_BEHALF_OF_ISSUER_HEADER}`);
    subject = namedByAgent({ issuer, subject: onBehalfOf });
  } else subject = acceptTrustedSubject(gateway, { subject: named!, issuer: bounded(headers, SUBJECT_ISSUER_HEADER, 2048) ?? undefined });
  const scopeText = bounded(headers, SCOPES_HEADER, 8 * 1024);
  const scopes = parseScopes(scopeText === null ? [] : scopeText.split(/\s+/));
  const context: ResolveContext = {};
  for (const [key, name] of Object.entries(CONTEXT_HEADERS) as [keyof typeof CONTEXT_HEADERS, string][]) {
    const value = bounded(headers, name, 200);
    if (value !== null) context[key] = value;
  }
  const requestState = bounded(headers, "frontdesk-request-state", MAX_REQUEST_STATE_LENGTH);
  const digest = bounded(headers, "frontdesk-request-digest", 128) ?? undefined;
  if (digest !== undefined && !REQUEST_DIGEST_PATTERN.test(digest)) throw new AppError("invalid_request", "Frontdesk-Request-Digest: 1-128 URL-safe characters");
  const waitText = bounded(headers, "frontdesk-wait", 3);
  const waitSeconds = waitText === null ? 0 : Number(waitText);
  if (!Number.isInteger(waitSeconds) || waitSeconds < 0 || waitSeconds > MAX_RETRY_WAIT_SECONDS) {
    throw new AppError("invalid_request", `Frontdesk-Wait: whole seconds, at most ${MAX_RETRY_WAIT_SECONDS}`);
  }
  if (waitText !== null && requestState === null) throw new AppError("invalid_request", "Frontdesk-Wait: only with Frontdesk-Request-State");
  return { subject, subjectToken: token ?? undefined, scopes, actor: actorToken === null ? null : { token: actorToken, tokenType: actorTokenType! }, context, digest, retry: requestState === null ? null : { requestState, waitSeconds } };
}
