// HTTP ext_authz (interface C) contract tests: check requests built exactly as the two proxies
// build them, and their answers applied as the proxies apply them, against real PostgreSQL and
// the real IdP and Notes upstream.
//
// Envoy, HTTP service mode (api/envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto,
// messages HttpService, AuthorizationRequest, AuthorizationResponse): the check request keeps
// the original method, its path is `path_prefix` + the original path, it always carries Host,
// Method, Path, Content-Length (0 without with_request_body) and the original Authorization,
// plus `authorization_request.headers_to_add` (static, overriding the client's). A 200 answer
// allows; headers matching `allowed_upstream_headers` are set on the upstream request
// (overriding). Any other status denies: status, body and (without allowed_client_headers) all
// headers go back to the client.
//
// agentgateway, `extAuthz` with the HTTP protocol (crates/agentgateway/src/http/ext_authz.rs,
// `check_http`; the `Protocol::Http` fields `path`, `includeResponseHeaders`,
// `addRequestHeaders`): the check request keeps the original method; its path is the `path`
// expression (default: the original path and query); it carries only Authorization unless
// `includeRequestHeaders` says otherwise, plus `addRequestHeaders` (overwrite-or-add). A 2xx
// allows and copies `includeResponseHeaders` onto the backend request; any other answer is
// returned to the client as the direct response. (agentgateway's default protocol is gRPC; the
// HTTP one is what this endpoint speaks.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NOTES_REQUEST_RULES } from "@/demo/upstream-provider";
import { basicAuth, connectNotes, startGatewayTestbed, SUBJECT_AUDIENCE, type GatewayTestbed } from "../helpers/gateway-testbed";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();

let bed: GatewayTestbed;
let handleExtAuthz: (req: Request) => Promise<Response>;
let alice: string;
let bob: string;
let gatewayAuth: string;

beforeAll(async () => {
  bed = await startGatewayTestbed();
  const { getDb } = await import("@/lib/db/client");
  await (await getDb()).provider.update({ where: { id: bed.providerId }, data: { requestRules: NOTES_REQUEST_RULES } });
  ({ handleExtAuthz } = await import("@/lib/egress/ext-authz"));
  await connectNotes(bed, { scope: "notes:read notes:write" });
  alice = await bed.idp.signSubjectToken({ sub: bed.idp.users.alice.sub, aud: SUBJECT_AUDIENCE });
  bob = await bed.idp.signSubjectToken({ sub: bed.idp.users.bob.sub, aud: SUBJECT_AUDIENCE });
  gatewayAuth = basicAuth(bed.basic.id, bed.basic.secret!);
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

/** Envoy: path_prefix "/api/v1/ext-authz/notes", headers_to_add gateway credential + scopes. */
function envoyCheck(original: { method: string; path: string; authorization?: string }, headersToAdd: Record<string, string>) {
  const headers: Record<string, string> = { host: "mcp-gateway.internal", "content-length": "0", ...headersToAdd };
  if (original.authorization) headers.authorization = original.authorization;
  return handleExtAuthz(new Request(`${bed.frontdeskUrl}/api/v1/ext-authz/notes${original.path}`, { method: original.method, headers }));
}

/** agentgateway: path expression `"/api/v1/ext-authz/notes" + request.path`, only Authorization, addRequestHeaders. */
function agentgatewayCheck(original: { method: string; path: string; authorization?: string }, addRequestHeaders: Record<string, string>) {
  const headers: Record<string, string> = { ...addRequestHeaders };
  if (original.authorization) headers.authorization = original.authorization;
  return handleExtAuthz(new Request(`${bed.frontdeskUrl}/api/v1/ext-authz/notes${original.path}`, { method: original.method, headers }));
}

const staticHeaders = () => ({ "frontdesk-gateway-authorization": gatewayAuth, "frontdesk-scopes": "notes:read" });

/** What the proxy does on allow: copy the named headers onto the upstream request, then send it. */
async function forwardAllowed(check: Response, copy: string[], upstreamPath: string) {
  const headers: Record<string, string> = {};
  for (const name of copy) {
    const v = check.headers.get(name);
    if (v) headers[name] = v;
  }
  return fetch(`${bed.upstream.apiUrl}${upstreamPath}`, { headers });
}

describe("allow", () => {
  it("Envoy: 200 with the upstream Authorization, which allowed_upstream_headers puts on the upstream request", async () => {
    const check = await envoyCheck({ method: "GET", path: "/notes", authorization: `Bearer ${alice}` }, staticHeaders());
    expect(check.status).toBe(200);
    expect(check.headers.get("authorization")).toMatch(/^Bearer .+/);
    expect(check.headers.get("cache-control")).toBe("no-store");
    const upstream = await forwardAllowed(check, ["authorization"], "/notes");
    expect(upstream.status).toBe(200);
    expect((await upstream.json()).owner).toBe("alice");
  });

  it("agentgateway: 2xx with the header includeResponseHeaders copies", async () => {
    const check = await agentgatewayCheck({ method: "GET", path: "/notes?page=2", authorization: `Bearer ${alice}` }, staticHeaders());
    expect(check.status).toBe(200);
    const upstream = await forwardAllowed(check, ["authorization"], "/notes");
    expect((await upstream.json()).owner).toBe("alice");
  });
});

describe("deny", () => {
  it("consent needed: 403 whose body carries the consent link in the MCP-ready form, returned to the client as is", async () => {
    const check = await envoyCheck({ method: "GET", path: "/notes", authorization: `Bearer ${bob}` }, staticHeaders());
    expect(check.status).toBe(403);
    expect(check.headers.get("authorization")).toBeNull();
    const body = await check.json();
    expect(body.error.code).toBe(-32042);
    expect(body.error.data.elicitations[0]).toMatchObject({ mode: "url", elicitationId: expect.any(String), url: expect.stringContaining("/connect/") });
  });

  it("a method the scopes do not allow: structured 403 without a credential", async () => {
    const check = await agentgatewayCheck({ method: "DELETE", path: "/notes/0", authorization: `Bearer ${alice}` }, staticHeaders());
    expect(check.status).toBe(403);
    expect(check.headers.get("authorization")).toBeNull();
    expect((await check.json()).error.code).toBe("forbidden");
  });
});

describe("bad request", () => {
  it("traversal in the original path, malformed scopes, an unknown provider: 4xx, no credential", async () => {
    // (server.ts hands the handler the raw target, so plain `..` is refused too; a URL-parsed
    // request has lost it already, and an encoded backslash survives parsing.)
    const { extAuthzHandler } = await import("@/lib/egress/ext-authz");
    const raw = await extAuthzHandler("/api/v1/ext-authz/notes/a/%2e%2e/admin")(
      new Request(`${bed.frontdeskUrl}/api/v1/ext-authz/notes/a/%2e%2e/admin`, { headers: { ...staticHeaders(), authorization: `Bearer ${alice}` } }),
    );
    expect(raw.status).toBe(400);
    const traversal = await envoyCheck({ method: "GET", path: "/a%5c..%5cadmin", authorization: `Bearer ${alice}` }, staticHeaders());
    expect(traversal.status).toBe(400);
    const scopes = await envoyCheck({ method: "GET", path: "/notes", authorization: `Bearer ${alice}` }, { ...staticHeaders(), "frontdesk-scopes": "bad\"scope" });
    expect(scopes.status).toBe(400);
    const unknown = await handleExtAuthz(new Request(`${bed.frontdeskUrl}/api/v1/ext-authz/nope/x`, { headers: { ...staticHeaders(), authorization: `Bearer ${alice}` } }));
    expect(unknown.status).toBe(404);
    for (const r of [raw, traversal, scopes, unknown]) {
      expect(r.headers.get("authorization")).toBeNull();
      expect((await r.json()).error).toMatchObject({ code: expect.any(String), requestId: expect.stringMatching(/^req_/) });
    }
  });
});

describe("unauthenticated check", () => {
  it("no gateway credential, or a wrong one: 401; a gateway secret in Authorization is not accepted there", async () => {
    const none = await envoyCheck({ method: "GET", path: "/notes", authorization: `Bearer ${alice}` }, { "frontdesk-scopes": "notes:read" });
    expect(none.status).toBe(401);
    const wrong = await envoyCheck({ method: "GET", path: "/notes", authorization: `Bearer ${alice}` }, { "frontdesk-gateway-authorization": basicAuth(bed.basic.id, "wrong") });
    expect(wrong.status).toBe(401);
    const misplaced = await envoyCheck({ method: "GET", path: "/notes", authorization: gatewayAuth }, {});
    expect(misplaced.status).toBe(401);
    for (const r of [none, wrong, misplaced]) expect(r.headers.get("authorization")).toBeNull();
  });

  it("no user token, or an invalid one: 401 for the MCP client", async () => {
    const missing = await agentgatewayCheck({ method: "GET", path: "/notes" }, staticHeaders());
    expect(missing.status).toBe(401);
    const forged = await agentgatewayCheck({ method: "GET", path: "/notes", authorization: "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9." }, staticHeaders());
    expect(forged.status).toBe(401);
  });
});
