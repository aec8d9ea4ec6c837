// Who an egress call is for, from request headers: the body of a proxied request belongs to the
// upstream, so the user and the requested scopes travel in Frontdesk-* headers (stripped before
// anything is forwarded). Same rules as REST resolve: a verified subject token, or, for a
// gateway an admin marked trusted, a named subject.
//   Frontdesk-Subject-Token: <the user's JWT from the organization's IdP>
//   Frontdesk-Subject: <subject>   (+ Frontdesk-Subject-Issuer; trusted-subject gateways only)
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
import { parseScopes } from "@/lib/gateway-api/target";
import { acceptTrustedSubject, type VerifiedSubject } from "@/lib/subject-tokens/verify";

export const SUBJECT_TOKEN_HEADER = "frontdesk-subject-token";
export const SUBJECT_HEADER = "frontdesk-subject";
export const SUBJECT_ISSUER_HEADER = "frontdesk-subject-issuer";
export const SCOPES_HEADER = "frontdesk-scopes";
export const UPSTREAM_BASE_HEADER = "frontdesk-upstream-base";

const CONTEXT_HEADERS = { agentId: "frontdesk-agent-id", mcpServer: "frontdesk-mcp-server", toolName: "frontdesk-tool-name" } as const;

export interface EgressCaller {
  subject: VerifiedSubject;
  scopes: string[];
  context: ResolveContext;
  /** The tool-call digest a 2026 requestState is bound to, if the MCP server sends one. */
  digest: string | undefined;
  /** A 2026-07-28 retry: the requestState Frontdesk sealed, and how long to wait for the user. */
  retry: { requestState: string; waitSeconds: number } | null;
}

function bounded(headers: Headers, name: string, max: number): string | null {
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
export async function identifyCaller(headers: Headers, gateway: AuthenticatedGateway, opts: { bearerFallback?: boolean } = {}): Promise<EgressCaller> {
  let token = bounded(headers, SUBJECT_TOKEN_HEADER, 16 * 1024);
  if (token === null && opts.bearerFallback) {
    const match = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)$/i.exec(headers.get("authorization") ?? "");
    token = match?.[1] ?? null;
  }
  const named = bounded(headers, SUBJECT_HEADER, 512);
  if ((token === null) === (named === null)) {
    throw new AppError("unauthenticated", `Identify the user with exactly one of the ${SUBJECT_TOKEN_HEADER} or ${SUBJECT_HEADER} headers`);
  }
  const subject =
    token !== null
      ? await verifySubjectTokenCached(token)
      : acceptTrustedSubject(gateway, { subject: named!, issuer: bounded(headers, SUBJECT_ISSUER_HEADER, 2048) ?? undefined });
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
  return { subject, scopes, context, digest, retry: requestState === null ? null : { requestState, waitSeconds } };
}
