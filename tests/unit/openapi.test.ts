// docs/openapi.json is the document lib/openapi builds (`npm run openapi` after a change), and a
// valid OpenAPI 3.1 document. The live check against real handlers is tests/integration/openapi-live.test.ts.
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { buildOpenApiDocument } from "@/lib/openapi/document";
import { CLIENT_AUTH_PARAMS } from "@/lib/gateway-api/gateway-route";
import { TOKEN_REQUEST_PARAMETERS } from "@/lib/gateway-api/token-exchange";

describe("OpenAPI document", () => {
  const built = JSON.parse(JSON.stringify(buildOpenApiDocument()));

  it("is committed as generated (run npm run openapi after changing the gateway API's shapes)", () => {
    expect(JSON.parse(readFileSync("docs/openapi.json", "utf8"))).toEqual(built);
  });

  it("validates against the OpenAPI 3.1 schema", async () => {
    const result = await new Validator().validate(built);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(built.openapi).toBe("3.1.0");
    // The validator does refuse a broken document (no info, a response without a description).
    const broken = { ...built, info: undefined, paths: { "/x": { get: { responses: { 200: {} } } } } };
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it("TokenRequest is one schema per grant, listing exactly the parameters the token endpoint accepts for it", () => {
    const schemas = built.components.schemas as Record<string, { properties?: Record<string, { enum?: string[] }>; required?: string[]; oneOf?: { $ref: string }[] }>;
    expect(schemas.TokenRequest!.oneOf!.map((s) => s.$ref)).toEqual(["#/components/schemas/TokenExchangeRequest", "#/components/schemas/JwtBearerRequest"]);
    const grants = [
      ["TokenExchangeRequest", TOKEN_REQUEST_PARAMETERS.tokenExchange, "urn:ietf:params:oauth:grant-type:token-exchange", ["grant_type", "subject_token", "subject_token_type"]],
      ["JwtBearerRequest", TOKEN_REQUEST_PARAMETERS.jwtBearer, "urn:ietf:params:oauth:grant-type:jwt-bearer", ["assertion", "grant_type"]],
    ] as const;
    for (const [name, accepted, grantType, required] of grants) {
      const schema = schemas[name]!;
      expect(Object.keys(schema.properties!).sort(), name).toEqual([...accepted, ...CLIENT_AUTH_PARAMS].sort());
      expect(schema.properties!.grant_type!.enum, name).toEqual([grantType]);
      expect([...schema.required!].sort(), name).toEqual([...required].sort());
    }
  });

  it("describes every gateway-facing route", () => {
    expect(Object.keys(built.paths).sort()).toEqual(
      [
        "/.well-known/jwks.json",
        "/.well-known/oauth-authorization-server",
        "/api/health/live",
        "/api/health/ready",
        "/api/v1/elicitations/{id}",
        "/api/v1/ext-authz/{provider}/{path}",
        "/api/v1/proxy/{provider}/{path}",
        "/api/v1/resolve",
        "/oauth/token",
      ].sort(),
    );
  });
});
