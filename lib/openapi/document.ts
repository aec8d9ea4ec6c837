// The gateway API (design.md interfaces B, D, F and the egress proxy) as an OpenAPI 3.1 document,
// generated from the zod schemas in wire.ts with @asteasolutions/zod-to-openapi. `npm run openapi`
// writes docs/openapi.json; tests check that the committed file is this document, that it is a
// valid OpenAPI 3.1 document, and that live answers of the handlers match it.
import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import * as egress from "@/lib/egress/identify";
import { GATEWAY_AUTHORIZATION_HEADER } from "@/lib/egress/ext-authz";
import * as wire from "./wire";

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
const retryAfter = { "Retry-After": { description: "Seconds to wait before trying again.", schema: { type: "integer" as const } } };
const waitAnswer = (what: string) => ({ ...json(wire.errorEnvelopeSchema, what), headers: retryAfter });
const restErrors = {
  400: json(wire.errorEnvelopeSchema, "Malformed request, or a subject/actor token that does not verify."),
  401: json(wire.errorEnvelopeSchema, "The gateway did not authenticate."),
  403: json(wire.consentNeededSchema, "Consent needed (forward the form your client speaks), or the user declined (Error, code consent_declined)."),
  404: json(wire.errorEnvelopeSchema, "No such provider or elicitation (for this gateway)."),
  413: json(wire.errorEnvelopeSchema, "Body too large."),
  429: waitAnswer("Rate limited."),
  503: waitAnswer("A dependency (database, upstream) is unavailable."),
};
const header = (name: string, description: string) => ({ name, in: "header" as const, required: false, schema: { type: "string" as const }, description });
const egressHeaders = [
  header(egress.SUBJECT_TOKEN_HEADER, "The user's identity token from the organization's IdP."),
  header(egress.SUBJECT_HEADER, "Trusted-subject gateways only: the user's subject (with frontdesk-subject-issuer)."),
  header(egress.SUBJECT_ISSUER_HEADER, "The issuer of frontdesk-subject (default: the portal's IdP)."),
  header(egress.ON_BEHALF_OF_HEADER, "Delegation mode: the delegating user's subject (with frontdesk-on-behalf-of-issuer and an actor token)."),
  header(egress.ON_BEHALF_OF_ISSUER_HEADER, "Delegation mode: the delegating user's issuer."),
  header(egress.ACTOR_TOKEN_HEADER, "The agent's RFC 8693 actor token."),
  header(egress.ACTOR_TOKEN_TYPE_HEADER, "The actor token's type URN."),
  header(egress.SCOPES_HEADER, "Space-separated scopes (none: the provider's default scopes)."),
  header("frontdesk-request-state", "MCP 2026-07-28 retry: the requestState of the consent-needed answer."),
  header("frontdesk-wait", "Seconds the retry may wait for the user."),
  header("frontdesk-request-digest", "The MCP server's digest of the tool call, bound into the requestState."),
];

export function buildOpenApiDocument() {
  const registry = new OpenAPIRegistry();
  const basic = registry.registerComponent("securitySchemes", "clientSecretBasic", {
    type: "http",
    scheme: "basic",
    description: "client_secret_basic: the gateway's client id and the secret Frontdesk generated (form-urlencoded first, RFC 6749 2.3.1).",
  });
  const bearerAssertion = registry.registerComponent("securitySchemes", "privateKeyJwt", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "private_key_jwt (RFC 7523) on JSON endpoints: Authorization: Bearer <client assertion>, aud = Frontdesk's issuer, jti single use.",
  });
  const gatewayAuth = [{ [basic.name]: [] }, { [bearerAssertion.name]: [] }];

  registry.registerPath({
    method: "post",
    path: "/api/v1/resolve",
    summary: "REST resolve (interface D): the header to inject for a user's provider credential",
    description:
      "Exactly one of subject_token (verified), subject (trusted-subject gateways) or on_behalf_of (delegation mode, with actor_token). " +
      "A retry of an MCP 2026-07-28 call passes request_state (and wait) back.",
    security: gatewayAuth,
    request: { body: { content: { "application/json": { schema: wire.resolveBodySchema.meta({ id: "ResolveRequest" }) } } } },
    responses: { 200: json(wire.resolveSuccessSchema, "The credential, as a header to add."), ...restErrors },
  });

  registry.registerPath({
    method: "post",
    path: "/oauth/token",
    summary: "Token endpoint (interface B): a user's upstream access token by RFC 8693 token exchange or an ID-JAG (RFC 7523 jwt-bearer)",
    description:
      "Client authentication: client_secret_basic, client_secret_post or private_key_jwt (client_assertion). " +
      "Both grants answer alike (same policy, consent per requester, audit and fields); a refused ID-JAG is invalid_grant.",
    security: [{ [basic.name]: [] }, {}],
    request: { body: { content: { "application/x-www-form-urlencoded": { schema: wire.tokenRequestSchema } } } },
    responses: {
      200: json(wire.tokenResponseSchema, "The upstream access token."),
      400: {
        description: "interaction_required (consent needed, both MCP forms) or another OAuth error.",
        content: { "application/json": { schema: z.union([wire.interactionRequiredSchema, wire.oauthErrorSchema]) } },
      },
      401: json(wire.oauthErrorSchema, "invalid_client."),
      413: json(wire.oauthErrorSchema, "Body too large."),
      429: { ...json(wire.oauthErrorSchema, "temporarily_unavailable: rate limited."), headers: retryAfter },
      503: { ...json(wire.oauthErrorSchema, "temporarily_unavailable: a dependency is unavailable."), headers: retryAfter },
    },
  });

  registry.registerPath({
    method: "get",
    path: "/api/v1/elicitations/{id}",
    summary: "An elicitation's status, optionally long-polled until it settles",
    security: gatewayAuth,
    request: {
      params: z.object({ id: z.string() }),
      query: z.object({ wait: z.string().optional().meta({ description: "Seconds to wait for a change (bounded)." }) }),
    },
    responses: { 200: json(wire.elicitationStatusSchema, "The status."), 400: restErrors[400], 401: restErrors[401], 404: restErrors[404], 429: restErrors[429], 503: restErrors[503] },
  });

  registry.registerPath({
    method: "post",
    path: "/api/v1/proxy/{provider}/{path}",
    summary: "Egress proxy: Frontdesk sends the request to the provider's API with the user's credential (any method)",
    description:
      "The gateway never sees the token. The path is relative to the provider's API base and must match the provider's request rules for the scopes asked; " +
      "the upstream's answer streams back unchanged. Every method is accepted; POST stands for all of them here.",
    security: gatewayAuth,
    request: { params: z.object({ provider: z.string(), path: z.string() }), body: { content: { "*/*": { schema: z.string() } } } },
    responses: {
      200: { description: "The upstream's answer (any status, headers filtered)." },
      ...restErrors,
      403: json(wire.consentNeededSchema, "Consent needed, or the request rules refuse this method and path (Error, code request_not_allowed)."),
      502: json(wire.errorEnvelopeSchema, "The upstream could not be reached safely (refused address, TLS, reset)."),
    },
  });

  registry.registerPath({
    method: "post",
    path: "/api/v1/ext-authz/{provider}/{path}",
    summary: "Envoy / agentgateway HTTP ext_authz: 200 with the header to add, or the consent-needed / denial answer",
    description: `The proxy's own credential goes in ${GATEWAY_AUTHORIZATION_HEADER}; the rest as for the egress proxy.`,
    security: gatewayAuth,
    request: { params: z.object({ provider: z.string(), path: z.string() }) },
    responses: { 200: { description: "Allowed: the credential header is in the response headers." }, ...restErrors },
  });

  registry.registerPath({
    method: "get",
    path: "/.well-known/oauth-authorization-server",
    summary: "Authorization server metadata (RFC 8414)",
    responses: { 200: json(wire.authorizationServerMetadataSchema, "Metadata.") },
  });
  registry.registerPath({
    method: "get",
    path: "/.well-known/jwks.json",
    summary: "Frontdesk's public signing keys",
    responses: { 200: { description: "JWK set.", content: { "application/jwk-set+json": { schema: wire.jwksSchema } } }, 503: json(wire.errorEnvelopeSchema, "Keys unavailable.") },
  });
  registry.registerPath({
    method: "get",
    path: "/api/health/live",
    summary: "Liveness: the process serves requests",
    responses: { 200: json(wire.livenessSchema, "Alive.") },
  });
  registry.registerPath({
    method: "get",
    path: "/api/health/ready",
    summary: "Readiness: database, migrations, keys, not shutting down",
    responses: { 200: json(wire.readinessSchema, "Ready."), 503: json(wire.readinessSchema, "Not ready: the failing check is named.") },
  });

  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Frontdesk gateway API",
      version: "1",
      description: "What agent gateways, MCP proxies and MCP servers call. Portal, dashboard and next-auth routes are not part of it. See docs/integration-guide.md.",
    },
    servers: [{ url: "https://frontdesk.example.com", description: "Your Frontdesk (FRONTDESK_URL)" }],
  });
  // Header parameters of the egress routes (zod-to-openapi takes headers as a zod object; these are
  // plain strings named by the constants lib/egress reads, so they are added as they are).
  for (const path of ["/api/v1/proxy/{provider}/{path}", "/api/v1/ext-authz/{provider}/{path}"]) {
    const op = document.paths?.[path]?.post;
    if (op) op.parameters = [...(op.parameters ?? []), ...egressHeaders];
  }
  return document;
}
