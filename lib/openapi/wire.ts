// The gateway API's wire shapes as zod schemas, for the OpenAPI document (document.ts). Request
// bodies are the very schemas the handlers parse with; responses are strict here (no property a
// handler does not send), so the live check in tests/integration/openapi-live.test.ts fails
// when a handler's answer and this description drift apart.
import { z } from "zod";
import { resolveBodySchema } from "@/lib/gateway-api/resolve";

export { resolveBodySchema };

const isoTime = z.iso.datetime();

export const errorEnvelopeSchema = z
  .object({
    error: z
      .object({
        code: z.string().meta({ description: "Stable machine-readable code, e.g. invalid_body, invalid_client, policy_denied, rate_limited, service_unavailable." }),
        message: z.string().meta({ description: "For the gateway's operator; never carries secrets or internals." }),
        requestId: z.string(),
      })
      .strict(),
  })
  .strict()
  .meta({ id: "Error", description: "Every REST error: 4xx for the caller's mistakes, 429/503 with Retry-After when it should wait." });

export const injectionHeaderSchema = z.object({ name: z.string(), value: z.string() }).strict();

export const resolveSuccessSchema = z
  .object({
    header: injectionHeaderSchema.meta({ description: "The header to add to the upstream request (e.g. Authorization: Bearer ...)." }),
    expiresAt: isoTime.meta({ description: "Cache it at most until then (the token's expiry, capped by TOKEN_MAX_EXPIRES_IN)." }),
    scopes: z.array(z.string()),
    grantId: z.string(),
  })
  .strict()
  .meta({ id: "ResolveSuccess" });

export const urlElicitationSchema = z
  .object({
    mode: z.literal("url"),
    elicitationId: z.string(),
    url: z.url().meta({ description: "<portal>/connect/<elicitationId>: nothing else, no PII, not pre-authenticated." }),
    message: z.string(),
  })
  .strict()
  .meta({ id: "UrlElicitation", description: "MCP 2025-11-25 URL-mode elicitation (SEP-1036)." });

export const inputRequiredSchema = z
  .object({
    resultType: z.literal("input_required"),
    inputRequests: z
      .record(
        z.string(),
        z
          .object({
            method: z.literal("elicitation/create"),
            params: z.object({ mode: z.literal("url"), message: z.string(), url: z.url() }).strict(),
          })
          .strict(),
      )
      .optional()
      .meta({ description: "One URL elicitation under the key frontdesk_<provider>; absent on a 'still waiting' answer to a retry." }),
    requestState: z.string().meta({ description: "Sealed by Frontdesk; the client retries with it byte for byte." }),
  })
  .strict()
  .meta({ id: "InputRequired", description: "MCP 2026-07-28 input_required result, to return from the tool handler unchanged." });

export const consentNeededSchema = z
  .object({
    error: z
      .object({
        code: z.literal(-32042),
        message: z.string(),
        data: z.object({ elicitations: z.array(urlElicitationSchema) }).strict(),
      })
      .strict()
      .meta({ description: "The MCP 2025-11-25 URLElicitationRequiredError, ready to forward." }),
    inputRequired: inputRequiredSchema,
  })
  .strict()
  .meta({ id: "ConsentNeeded", description: "The user has to consent first: both MCP revisions' forms, side by side." });

export const elicitationStatusSchema = z
  .object({
    elicitationId: z.string(),
    status: z.enum(["pending", "completed", "declined", "expired", "failed"]),
    completedAt: isoTime.optional(),
    expiresAt: isoTime,
  })
  .strict()
  .meta({ id: "ElicitationStatus" });

// Client authentication in the body (client_secret_post, private_key_jwt), for either grant.
const clientAuthFields = {
  client_id: z.string().optional(),
  client_secret: z.string().optional(),
  client_assertion_type: z.string().optional(),
  client_assertion: z.string().optional(),
};
// Which provider, and the MCP 2026-07-28 retry extensions: the same for both grants.
const targetAndRetryFields = {
  resource: z.string().optional().meta({ description: "An upstream API URL under a provider's API bases (or audience = the provider slug). May repeat." }),
  audience: z.string().optional(),
  scope: z.string().optional(),
  request_state: z.string().optional().meta({ description: "Extension: the requestState of a consent-needed answer (MCP 2026-07-28 retry)." }),
  request_digest: z.string().optional(),
  wait: z.string().optional().meta({ description: "Extension: seconds a retry may wait for the user (with request_state)." }),
};

export const tokenExchangeRequestSchema = z
  .object({
    grant_type: z.literal("urn:ietf:params:oauth:grant-type:token-exchange").meta({ description: "RFC 8693 token exchange (interface A)." }),
    subject_token: z.string().meta({ description: "The user's identity token from the organization's IdP, or a standing delegation's id (delegation mode)." }),
    subject_token_type: z.string(),
    actor_token: z.string().optional().meta({ description: "The agent's own token (RFC 8693 actor), verified against the configured actor issuers." }),
    actor_token_type: z.string().optional(),
    requested_token_type: z.string().optional(),
    ...targetAndRetryFields,
    ...clientAuthFields,
  })
  .meta({ id: "TokenExchangeRequest", description: "application/x-www-form-urlencoded; every parameter at most once except resource and audience." });

export const jwtBearerRequestSchema = z
  .object({
    grant_type: z.literal("urn:ietf:params:oauth:grant-type:jwt-bearer").meta({
      description: "RFC 7523 JWT bearer grant with an ID-JAG for Frontdesk (draft-ietf-oauth-identity-assertion-authz-grant-03 §4.4); offered only where ID_JAG_ISSUERS is set.",
    }),
    assertion: z.string().meta({
      description: "The ID-JAG (typ oauth-id-jag+jwt) a trusted IdP issued with aud = Frontdesk's issuer and client_id = this gateway; single use. Its resource claim names the provider when no resource is sent.",
    }),
    ...targetAndRetryFields,
    ...clientAuthFields,
  })
  .meta({ id: "JwtBearerRequest", description: "application/x-www-form-urlencoded; scope at most what the ID-JAG grants." });

export const tokenRequestSchema = z
  .discriminatedUnion("grant_type", [tokenExchangeRequestSchema, jwtBearerRequestSchema])
  .meta({ id: "TokenRequest", description: "One of the two grants, told apart by grant_type; both answer alike." });

export const tokenResponseSchema = z
  .object({
    access_token: z.string(),
    token_type: z.literal("Bearer"),
    issued_token_type: z.literal("urn:ietf:params:oauth:token-type:access_token"),
    expires_in: z.number().int().min(0),
    scope: z.string(),
  })
  .strict()
  .meta({ id: "TokenResponse", description: "RFC 8693 2.2.1, the fields agentgateway and ToolHive read." });

export const oauthErrorSchema = z
  .object({
    error: z.enum([
      "invalid_request",
      "invalid_client",
      "invalid_grant",
      "invalid_scope",
      "invalid_target",
      "unsupported_grant_type",
      "access_denied",
      "invalid_request_state",
      "temporarily_unavailable",
      "server_error",
    ]),
    error_description: z.string().optional(),
  })
  .strict()
  .meta({ id: "OAuthError", description: "RFC 6749 5.2 / RFC 8693 2.2.2." });

export const interactionRequiredSchema = z
  .object({
    error: z.literal("interaction_required"),
    error_description: z.string(),
    elicitation: urlElicitationSchema,
    input_required: inputRequiredSchema,
  })
  .strict()
  .meta({ id: "InteractionRequired", description: "Consent needed, on the token endpoint: the OAuth error with both MCP forms." });

export const readinessSchema = z
  .object({
    status: z.enum(["ready", "not_ready"]),
    database: z.enum(["ok", "unreachable"]),
    migrations: z.enum(["current", "pending", "unknown"]),
    keys: z.enum(["loaded", "not_loaded"]),
    shutdown: z.enum(["no", "draining"]),
  })
  .strict()
  .meta({ id: "Readiness" });

export const livenessSchema = z.object({ status: z.literal("ok") }).strict().meta({ id: "Liveness" });

export const jwksSchema = z
  .object({ keys: z.array(z.object({ kty: z.string(), kid: z.string() }).loose()) })
  .strict()
  .meta({ id: "JWKS", description: "Frontdesk's public signing keys (webhooks, security event tokens)." });

export const authorizationServerMetadataSchema = z
  .object({ issuer: z.url(), token_endpoint: z.url(), jwks_uri: z.url(), grant_types_supported: z.array(z.string()) })
  .loose()
  .meta({ id: "AuthorizationServerMetadata", description: "RFC 8414, with frontdesk_* extension fields." });
