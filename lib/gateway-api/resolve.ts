// POST /api/v1/resolve - REST resolve (interface D): the header to inject and until when it may
// be cached, or (consent needed) a 403 whose body is ready to forward in both MCP revisions: the
// -32042 error (2025-11-25) and `inputRequired` (2026-07-28). A retry passing the requestState
// back (`request_state`, optional `wait`) waits, bounded, for the user (request-state-retry.ts).
import { z } from "zod";
import { establishActor } from "@/lib/agents/establish";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { MAX_REQUEST_STATE_LENGTH, REQUEST_DIGEST_PATTERN } from "@/lib/elicitations/request-state";
import type { Provider } from "@/lib/generated/prisma/client";
import type { OpenCredential } from "@/lib/grants/sealed";
import { namedByAgent, subjectOfDelegation } from "@/lib/delegations/subject";
import { acceptTrustedSubject } from "@/lib/subject-tokens/verify";
import { consentNeededForms } from "./consent-needed";
import { gatewayRoute } from "./gateway-route";
import { json, type Reply } from "./http";
import { awaitRetry, MAX_RETRY_WAIT_SECONDS, requestStateBinding, type RetryOutcome } from "./request-state-retry";
import { resolveCredential, type ResolveOutcome } from "./resolve-credential";
import type { RequestStateBinding } from "@/lib/elicitations/request-state";
import { verifySubjectTokenCached } from "./subject-cache";
import { findTargetProvider, parseScopes } from "./target";

/** MCP's URLElicitationRequiredError code (spec 2025-11-25). */
export const URL_ELICITATION_REQUIRED = -32042;

const short = (max: number) => z.string().min(1).max(max);

export const resolveBodySchema = z
  .object({
    subject_token: short(16 * 1024).optional(),
    /** RFC 8693-style actor token of the agent acting for the user, and its type URN. */
    actor_token: short(16 * 1024).optional(),
    actor_token_type: short(256).optional(),
    /** Trusted-subject gateways only: the user's subject (and issuer, default OIDC_ISSUER). */
    subject: z.union([short(512), z.object({ subject: short(512), issuer: short(2048).optional() }).strict()]).optional(),
    /**
     * Delegation mode (design.md interface D): an agent acting with nobody present names the user
     * instead of presenting their subject token (by issuer + subject, or by the delegation's id
     * as on the token endpoint); it takes the agent's own verified actor token, and an active
     * delegation from that user to that agent (lib/delegations).
     */
    on_behalf_of: z
      .union([z.object({ issuer: short(2048), subject: short(512) }).strict(), z.object({ delegation: short(100) }).strict()])
      .optional(),
    provider: short(128).optional(),
    resource: short(2048).optional(),
    scopes: z.array(short(256)).max(50).optional(),
    context: z
      .object({
        agentId: short(200).optional(),
        mcpServer: short(200).optional(),
        toolName: short(200).optional(),
        labels: z.record(short(64), z.string().max(200)).optional(),
      })
      .strict()
      .optional(),
    /** MCP 2026-07-28 retry: the requestState of the consent-needed answer, byte for byte. */
    request_state: short(MAX_REQUEST_STATE_LENGTH).optional(),
    /** The MCP server's digest of the tool call, bound into the requestState. */
    request_digest: z.string().regex(REQUEST_DIGEST_PATTERN, "1-128 URL-safe characters").optional(),
    /** Seconds a retry waits for the user (with request_state only). */
    wait: z.number().int().min(0).max(MAX_RETRY_WAIT_SECONDS).optional(),
  })
  .strict();

function parseBody(body: unknown) {
  const parsed = resolveBodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join(".") || "body";
    throw new AppError("invalid_body", `${where}: ${issue?.message ?? "invalid"}`);
  }
  const b = parsed.data;
  if ([b.subject_token, b.subject, b.on_behalf_of].filter((v) => v !== undefined).length !== 1) {
    throw new AppError("invalid_body", "Send exactly one of subject_token, subject or on_behalf_of");
  }
  if ((b.actor_token === undefined) !== (b.actor_token_type === undefined)) {
    throw new AppError("invalid_body", "actor_token and actor_token_type go together");
  }
  if (b.context?.labels && Object.keys(b.context.labels).length > 20) throw new AppError("invalid_body", "context.labels: at most 20");
  if (b.wait !== undefined && b.request_state === undefined) throw new AppError("invalid_body", "wait: only with request_state");
  return b;
}

/** The header that carries a credential to the upstream (resolve hands it out; the proxy and ext_authz add it). */
export function injectionHeader(provider: Pick<Provider, "apiKeyHeader" | "apiKeyPrefix">, c: OpenCredential): { name: string; value: string } {
  return c.kind === "oauth"
    ? { name: "Authorization", value: `Bearer ${c.accessToken}` }
    : { name: provider.apiKeyHeader ?? "Authorization", value: `${provider.apiKeyPrefix ?? ""}${c.apiKey}` };
}

/**
 * Consent needed: the 403 whose body a gateway forwards unchanged as the MCP error. The egress
 * proxy and ext_authz answer with the same body, so every interface speaks one consent form.
 */
export async function consentRequiredResponse(
  outcome: Extract<ResolveOutcome, { kind: "elicitation" }>,
  provider: { slug: string },
  binding: RequestStateBinding,
  retry: RetryOutcome | null = null,
): Promise<Reply> {
  const forms = await consentNeededForms(outcome, provider, binding, retry);
  return json(
    {
      error: {
        code: URL_ELICITATION_REQUIRED,
        message: forms.elicitation.message,
        data: { elicitations: [forms.elicitation] },
      },
      inputRequired: forms.inputRequired,
    },
    403,
  );
}

export const handleResolve = gatewayRoute({ name: "resolve", body: "json", style: "api" }, async ({ req, body, gateway, requestId }) => {
  const b = parseBody(body);
  const scopes = parseScopes(b.scopes ?? []);
  let provider;
  try {
    provider = await findTargetProvider({ resources: b.resource ? [b.resource] : [], audiences: b.provider ? [b.provider] : [] });
  } catch (e) {
    // REST keeps its own codes: an unknown provider is not_found, a malformed one invalid_body.
    if (e instanceof AppError) throw new AppError(e.code === "not_found" ? "not_found" : "invalid_body", e.message);
    throw e;
  }
  const subject =
    b.subject_token !== undefined
      ? await verifySubjectTokenCached(b.subject_token)
      : b.on_behalf_of !== undefined
        ? "delegation" in b.on_behalf_of
          ? await subjectOfDelegation(b.on_behalf_of.delegation, {
              gatewayId: gateway.id,
              providerId: provider.id,
              action: "resolve",
              requestId,
              authMethod: gateway.usedMethod,
            })
          : namedByAgent(b.on_behalf_of)
        : acceptTrustedSubject(gateway, typeof b.subject === "string" ? { subject: b.subject } : b.subject!);
  const actor =
    b.actor_token !== undefined
      ? await establishActor({
          presented: { token: b.actor_token, tokenType: b.actor_token_type! },
          gateway,
          subject,
          providerId: provider.id,
          action: "resolve",
          requestId,
        })
      : undefined;
  const call = { gateway, subject, actor, provider, scopes, digest: b.request_digest };
  const retry =
    b.request_state === undefined
      ? null
      : await awaitRetry({ ...call, action: "resolve", requestState: b.request_state, waitSeconds: b.wait ?? 0, requestId, signal: req.signal });
  const outcome = await resolveCredential({
    action: "resolve",
    gateway,
    subject,
    actor,
    provider,
    scopes,
    context: b.context ?? {},
    requestId,
    subjectToken: b.subject_token,
  });
  if (outcome.kind === "elicitation") return consentRequiredResponse(outcome, provider, requestStateBinding(call), retry);
  const c = outcome.credential;
  const header = injectionHeader(provider, c);
  // Cache-until for the gateway: the token's expiry, but no later than TOKEN_MAX_EXPIRES_IN.
  const cap = Date.now() + env().TOKEN_MAX_EXPIRES_IN * 1000;
  const tokenExpiry = c.kind === "oauth" && c.expiresAt ? c.expiresAt.getTime() : Infinity;
  return json({
    header,
    expiresAt: new Date(Math.min(cap, tokenExpiry)).toISOString(),
    scopes: outcome.scopes,
    grantId: outcome.grantId,
  });
});
