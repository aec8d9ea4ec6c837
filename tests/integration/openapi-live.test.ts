// The OpenAPI document against the real handlers: each kind of answer a gateway gets (credential,
// consent needed in both MCP forms, errors, token exchange, status, discovery, health) validates
// against the schema docs/openapi.json gives for that path and status. Real PostgreSQL, real IdP
// and upstream (oidc-provider).
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/test-db";
import {
  ACCESS_TOKEN_TYPE,
  basicAuth,
  connectNotes,
  resolveRequest,
  startGatewayTestbed,
  SUBJECT_AUDIENCE,
  TOKEN_EXCHANGE_GRANT,
  tokenRequest,
  type GatewayTestbed,
} from "../helpers/gateway-testbed";
import { requestJwtAuthorizationGrant } from "@modelcontextprotocol/client";
import { AGENT_IDP_CLIENT } from "../helpers/oidc-idp";

await useTestDatabase();

type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>> };
let bed: GatewayTestbed;
let doc: Doc;
let ajv: Ajv2020;
let handlers: Record<"token" | "resolve" | "status" | "metadata" | "jwks", (req: Request) => Promise<Response>> & { live: () => Response; ready: () => Promise<Response> };

beforeAll(async () => {
  // With cross-app access set up, so that the token endpoint also takes the jwt-bearer grant.
  bed = await startGatewayTestbed({ crossAppAccess: { fallback: "deny" } });
  const [{ buildOpenApiDocument }, te, rs, es, disc, health] = await Promise.all([
    import("@/lib/openapi/document"),
    import("@/lib/gateway-api/token-exchange"),
    import("@/lib/gateway-api/resolve"),
    import("@/lib/gateway-api/elicitation-status"),
    import("@/lib/gateway-api/discovery"),
    import("@/lib/health/readiness"),
  ]);
  doc = JSON.parse(JSON.stringify(buildOpenApiDocument())) as Doc;
  ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: "frontdesk", ...doc }, "frontdesk");
  handlers = {
    token: te.handleTokenRequest,
    resolve: rs.handleResolve,
    status: es.handleElicitationStatus,
    metadata: disc.handleAuthorizationServerMetadata,
    jwks: disc.handleJwks,
    live: health.handleLive,
    ready: health.handleReady,
  };
  await connectNotes(bed, { user: "alice", scope: "notes:read" });
}, 120_000);

afterAll(async () => {
  await bed?.close();
});

/** The answer matches the schema the document gives for this path, method and status. */
async function expectDocumented(res: Response, path: string, method = "post"): Promise<Record<string, unknown>> {
  const body = JSON.parse(await res.text());
  const response = doc.paths[path]?.[method]?.responses[String(res.status)];
  expect(response, `${method.toUpperCase()} ${path} ${res.status} is documented`).toBeDefined();
  const mediaType = Object.keys(response!.content ?? {})[0];
  expect(mediaType, `${path} ${res.status} has a body schema`).toBeDefined();
  const pointer = `/paths/${path.replace(/~/g, "~0").replace(/\//g, "~1")}/${method}/responses/${res.status}/content/${mediaType!.replace(/\//g, "~1")}/schema`;
  const validate = ajv.getSchema(`frontdesk#${pointer}`);
  expect(validate, pointer).toBeDefined();
  const ok = validate!(body);
  expect(ok, `${method.toUpperCase()} ${path} ${res.status}: ${ajv.errorsText(validate!.errors)}\n${JSON.stringify(body)}`).toBe(true);
  return body;
}

const subjectToken = (user: "alice" | "bob") => bed.idp.signSubjectToken({ sub: bed.idp.users[user].sub, aud: SUBJECT_AUDIENCE });
const auth = () => ({ authorization: basicAuth(bed.basic.id, bed.basic.secret!) });

describe("live answers match docs/openapi.json", () => {
  it("REST resolve: credential, consent needed, bad body, bad client", async () => {
    const ok = await handlers.resolve(resolveRequest(bed.frontdeskUrl, { subject_token: await subjectToken("alice"), provider: "notes", scopes: ["notes:read"] }, auth()));
    expect(ok.status).toBe(200);
    await expectDocumented(ok, "/api/v1/resolve");

    const consent = await handlers.resolve(resolveRequest(bed.frontdeskUrl, { subject_token: await subjectToken("bob"), provider: "notes", scopes: ["notes:read"] }, auth()));
    expect(consent.status).toBe(403);
    const needed = await expectDocumented(consent, "/api/v1/resolve");
    const elicitationId = (needed.error as { data: { elicitations: { elicitationId: string }[] } }).data.elicitations[0]!.elicitationId;

    const status = await handlers.status(new Request(`${bed.frontdeskUrl}/api/v1/elicitations/${elicitationId}`, { headers: auth() }));
    expect(status.status).toBe(200);
    await expectDocumented(status, "/api/v1/elicitations/{id}", "get");

    const bad = await handlers.resolve(resolveRequest(bed.frontdeskUrl, { provider: "notes", nonsense: true }, auth()));
    expect(bad.status).toBe(400);
    await expectDocumented(bad, "/api/v1/resolve");

    const unknown = await handlers.resolve(resolveRequest(bed.frontdeskUrl, { subject_token: await subjectToken("alice"), provider: "nope" }, auth()));
    expect(unknown.status).toBe(404);
    await expectDocumented(unknown, "/api/v1/resolve");

    const anonymous = await handlers.resolve(resolveRequest(bed.frontdeskUrl, { subject_token: "x", provider: "notes" }, { authorization: basicAuth(bed.basic.id, "wrong-secret") }));
    expect(anonymous.status).toBe(401);
    await expectDocumented(anonymous, "/api/v1/resolve");
  });

  it("token endpoint: token, interaction_required, invalid_request, invalid_client", async () => {
    const exchange = async (user: "alice" | "bob", headers = auth()) =>
      handlers.token(
        tokenRequest(
          bed.frontdeskUrl,
          [
            ["grant_type", TOKEN_EXCHANGE_GRANT],
            ["subject_token", await subjectToken(user)],
            ["subject_token_type", ACCESS_TOKEN_TYPE],
            ["audience", "notes"],
            ["scope", "notes:read"],
          ],
          headers,
        ),
      );
    const ok = await exchange("alice");
    expect(ok.status).toBe(200);
    await expectDocumented(ok, "/oauth/token");
    const interaction = await exchange("bob");
    expect(interaction.status).toBe(400);
    expect((await expectDocumented(interaction, "/oauth/token")).error).toBe("interaction_required");
    const invalid = await handlers.token(tokenRequest(bed.frontdeskUrl, [["grant_type", TOKEN_EXCHANGE_GRANT]], auth()));
    expect(invalid.status).toBe(400);
    expect((await expectDocumented(invalid, "/oauth/token")).error).toBe("invalid_request");
    const unauthenticated = await exchange("alice", { authorization: basicAuth(bed.basic.id, "wrong-secret") });
    expect(unauthenticated.status).toBe(401);
    await expectDocumented(unauthenticated, "/oauth/token");
  });

  it("token endpoint, jwt-bearer grant with an ID-JAG from the IdP: the request is a documented TokenRequest; token and invalid_grant answers", async () => {
    const { jwtAuthGrant } = await requestJwtAuthorizationGrant({
      tokenEndpoint: `${bed.idp.issuer}/token`,
      audience: bed.frontdeskUrl,
      resource: bed.upstream.apiUrl,
      idToken: await bed.idp.signSubjectToken({ sub: bed.idp.users.alice.sub, aud: AGENT_IDP_CLIENT.clientId }),
      clientId: AGENT_IDP_CLIENT.clientId,
      clientSecret: AGENT_IDP_CLIENT.clientSecret,
      scope: "notes:read",
    });
    // agentgateway's second leg: grant_type, assertion, scope (client_secret_basic).
    const form: [string, string][] = [
      ["grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"],
      ["assertion", jwtAuthGrant],
      ["scope", "notes:read"],
    ];
    const requestSchema = ajv.getSchema("frontdesk#/paths/~1oauth~1token/post/requestBody/content/application~1x-www-form-urlencoded/schema")!;
    expect(requestSchema(Object.fromEntries(form)), ajv.errorsText(requestSchema.errors)).toBe(true);
    expect(requestSchema({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", scope: "notes:read" })).toBe(false);
    const ok = await handlers.token(tokenRequest(bed.frontdeskUrl, form, auth()));
    expect(ok.status).toBe(200);
    expect((await expectDocumented(ok, "/oauth/token")).token_type).toBe("Bearer");
    const replayed = await handlers.token(tokenRequest(bed.frontdeskUrl, form, auth()));
    expect(replayed.status).toBe(400);
    expect((await expectDocumented(replayed, "/oauth/token")).error).toBe("invalid_grant");
  });

  it("discovery and health", async () => {
    await expectDocumented(await handlers.metadata(new Request(`${bed.frontdeskUrl}/.well-known/oauth-authorization-server`)), "/.well-known/oauth-authorization-server", "get");
    const jwks = await handlers.jwks(new Request(`${bed.frontdeskUrl}/.well-known/jwks.json`));
    expect(jwks.status).toBe(200);
    expect((await expectDocumented(jwks, "/.well-known/jwks.json", "get")).keys).not.toHaveLength(0);
    await expectDocumented(handlers.live(), "/api/health/live", "get");
    await expectDocumented(await handlers.ready(), "/api/health/ready", "get");
  });

  it("a drifted answer would fail the check", async () => {
    const drifted = new Response(JSON.stringify({ header: { name: "Authorization", value: "Bearer x" }, expiresAt: "soon", scopes: [], grantId: "g" }), { status: 200 });
    await expect(expectDocumented(drifted, "/api/v1/resolve")).rejects.toThrow(/expiresAt|format/);
  });
});
