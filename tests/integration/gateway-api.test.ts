// Gateway API against real PostgreSQL and real OIDC servers (IdP + upstream), calling the
// framework-free handlers with the exact requests agentgateway and ToolHive send.
import { createLocalJWKSet, generateKeyPair, jwtVerify, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { useTestDatabase } from "../helpers/test-db";
import {
  ACCESS_TOKEN_TYPE,
  basicAuth,
  CLIENT_ASSERTION_TYPE,
  connectNotes,
  ID_TOKEN_TYPE,
  JWT_TOKEN_TYPE,
  resolveRequest,
  signClientAssertion,
  startGatewayTestbed,
  SUBJECT_AUDIENCE,
  TOKEN_EXCHANGE_GRANT,
  tokenRequest,
  type GatewayTestbed,
} from "../helpers/gateway-testbed";

await useTestDatabase();

let bed: GatewayTestbed;
let base: string;
let handlers: {
  token: (req: Request) => Promise<Response>;
  resolve: (req: Request) => Promise<Response>;
  status: (req: Request) => Promise<Response>;
  metadata: (req: Request) => Promise<Response>;
  jwks: (req: Request) => Promise<Response>;
};
const upstreamTokens: string[] = [];

beforeAll(async () => {
  bed = await startGatewayTestbed();
  base = bed.frontdeskUrl;
  const [te, rs, es, disc] = await Promise.all([
    import("@/lib/gateway-api/token-exchange"),
    import("@/lib/gateway-api/resolve"),
    import("@/lib/gateway-api/elicitation-status"),
    import("@/lib/gateway-api/discovery"),
  ]);
  handlers = {
    token: te.handleTokenRequest,
    resolve: rs.handleResolve,
    status: es.handleElicitationStatus,
    metadata: disc.handleAuthorizationServerMetadata,
    jwks: disc.handleJwks,
  };
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

async function subjectToken(user: "alice" | "bob" = "alice", extra: Parameters<GatewayTestbed["idp"]["signSubjectToken"]>[0] extends infer C ? Partial<C & object> : never = {}) {
  return bed.idp.signSubjectToken({ sub: bed.idp.users[user].sub, aud: SUBJECT_AUDIENCE, ...extra });
}

/** Gives a user a real upstream grant, as the portal does after consent. */
async function connect(user: "alice" | "bob", scope: string, expiresIn = 3600) {
  const connected = await connectNotes(bed, { user, scope, expiresIn });
  upstreamTokens.push(connected.accessToken, connected.refreshToken);
  return connected;
}

async function body(res: Response): Promise<any> {
  return JSON.parse(await res.text());
}

async function auditRows(action?: string) {
  const { getDb } = await import("@/lib/db/client");
  const { flushGroupCommit } = await import("@/lib/audit/group-commit");
  await flushGroupCommit?.();
  const db = await getDb();
  return db.auditEvent.findMany({ where: action ? { action } : {}, orderBy: { seq: "asc" } });
}

describe("interface A: RFC 8693 token exchange", () => {
  it("agentgateway with client_secret_basic gets the upstream token in exactly the shape it parses", async () => {
    const minted = await connect("alice", "notes:read");
    // agentgateway (crates/agentgateway/src/http/auth/oauth/transport.rs, build_token_request_form):
    // grant_type, subject_token, subject_token_type, audience per entry, scope space-joined,
    // resource per entry; Basic credentials in the header; Accept: application/json.
    const res = await handlers.token(
      tokenRequest(
        base,
        [
          ["grant_type", TOKEN_EXCHANGE_GRANT],
          ["subject_token", await subjectToken()],
          ["subject_token_type", ACCESS_TOKEN_TYPE],
          ["audience", "notes"],
          ["scope", "notes:read"],
          ["resource", `${bed.upstream.apiUrl}/notes`],
        ],
        { authorization: basicAuth(bed.basic.id, bed.basic.secret!) },
      ),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toContain("no-store");
    const json = await body(res);
    // agentgateway requires token_type Bearer (case-insensitive) and issued_token_type access_token or jwt.
    expect(json).toEqual({
      access_token: minted.accessToken,
      token_type: "Bearer",
      issued_token_type: ACCESS_TOKEN_TYPE,
      expires_in: expect.any(Number),
      scope: "notes:read",
    });
    expect(json.expires_in).toBeGreaterThan(0);
    expect(json.expires_in).toBeLessThanOrEqual(300);
    // The token works at the upstream API.
    const notes = await fetch(`${bed.upstream.apiUrl}/notes`, { headers: { authorization: `Bearer ${json.access_token}` } });
    expect(notes.status).toBe(200);
  });

  it("agentgateway with client_secret_post (client_id and client_secret in the form)", async () => {
    const res = await handlers.token(
      tokenRequest(base, [
        ["grant_type", TOKEN_EXCHANGE_GRANT],
        ["subject_token", await subjectToken()],
        ["subject_token_type", JWT_TOKEN_TYPE],
        ["resource", bed.upstream.apiUrl],
        ["requested_token_type", ACCESS_TOKEN_TYPE],
        ["client_id", bed.post.id],
        ["client_secret", bed.post.secret!],
      ]),
    );
    expect(res.status).toBe(200);
    expect((await body(res)).issued_token_type).toBe(ACCESS_TOKEN_TYPE);
  });

  it("agentgateway with private_key_jwt (RFC 7523 assertion: iss = sub = client id, 300 s, uuid jti)", async () => {
    // agentgateway client_auth.rs sign_client_assertion: {iss, sub, aud, jti, iat, exp = iat + 300}.
    const assertion = await signClientAssertion(bed.jwt, `${base}/oauth/token`);
    const res = await handlers.token(
      tokenRequest(base, [
        ["grant_type", TOKEN_EXCHANGE_GRANT],
        ["subject_token", await subjectToken()],
        ["subject_token_type", ACCESS_TOKEN_TYPE],
        ["audience", "notes"],
        ["client_id", bed.jwt.id],
        ["client_assertion_type", CLIENT_ASSERTION_TYPE],
        ["client_assertion", assertion],
      ]),
    );
    expect(res.status).toBe(200);
  });

  it("ToolHive token_exchange (Basic with QueryEscape'd credentials, requested_token_type, id_token subject)", async () => {
    // stacklok/toolhive pkg/auth/tokenexchange/exchange.go: grant_type, subject_token,
    // subject_token_type (default access_token), requested_token_type=access_token, audience,
    // scope (space-joined), SetBasicAuth(QueryEscape(id), QueryEscape(secret)); it requires
    // non-empty access_token, token_type and issued_token_type.
    const res = await handlers.token(
      tokenRequest(
        base,
        [
          ["audience", "notes"],
          ["grant_type", TOKEN_EXCHANGE_GRANT],
          ["requested_token_type", ACCESS_TOKEN_TYPE],
          ["scope", "notes:read"],
          ["subject_token", await subjectToken()],
          ["subject_token_type", ID_TOKEN_TYPE],
        ],
        { authorization: basicAuth(bed.basic.id, bed.basic.secret!) },
      ),
    );
    expect(res.status).toBe(200);
    const json = await body(res);
    expect(json.access_token).toBeTruthy();
    expect(json.token_type).toBe("Bearer");
    expect(json.issued_token_type).toBe(ACCESS_TOKEN_TYPE);
  });

  it("needs consent: 400 interaction_required with the URL-mode elicitation; completing it makes the next call succeed", async () => {
    const token = await subjectToken("bob");
    const exchange = () =>
      handlers.token(
        tokenRequest(
          base,
          [
            ["grant_type", TOKEN_EXCHANGE_GRANT],
            ["subject_token", token],
            ["subject_token_type", ACCESS_TOKEN_TYPE],
            ["audience", "notes"],
            ["scope", "notes:read"],
          ],
          { authorization: basicAuth(bed.basic.id, bed.basic.secret!) },
        ),
      );
    const first = await exchange();
    expect(first.status).toBe(400);
    const json = await body(first);
    expect(json.error).toBe("interaction_required");
    expect(json.error_description).toEqual(expect.any(String));
    expect(json.elicitation).toEqual({
      mode: "url",
      elicitationId: expect.stringMatching(/^eli_/),
      url: `${base}/connect/${json.elicitation.elicitationId}`,
      message: expect.any(String),
    });
    // A retry hands out the same link rather than a new one.
    const again = await body(await exchange());
    expect(again.elicitation.elicitationId).toBe(json.elicitation.elicitationId);

    const { completeElicitation } = await import("@/lib/elicitations/settle");
    await connect("bob", "notes:read");
    await completeElicitation(json.elicitation.elicitationId, { issuer: bed.idp.issuer, subject: "bob" });
    const after = await exchange();
    expect(after.status).toBe(200);
  });

  it("answers bad requests with RFC 6749 errors and no internals", async () => {
    const auth = { authorization: basicAuth(bed.basic.id, bed.basic.secret!) };
    const st = await subjectToken();
    const cases: { pairs: [string, string][]; status: number; error: string; headers?: Record<string, string> }[] = [
      { pairs: [["grant_type", "client_credentials"]], status: 400, error: "unsupported_grant_type" },
      { pairs: [["subject_token", st]], status: 400, error: "invalid_request" },
      { pairs: [["grant_type", TOKEN_EXCHANGE_GRANT], ["subject_token", st], ["subject_token_type", "urn:x:saml"], ["audience", "notes"]], status: 400, error: "invalid_request" },
      { pairs: [["grant_type", TOKEN_EXCHANGE_GRANT], ["subject_token", st], ["subject_token_type", ACCESS_TOKEN_TYPE]], status: 400, error: "invalid_request" },
      { pairs: [["grant_type", TOKEN_EXCHANGE_GRANT], ["subject_token", st], ["subject_token_type", ACCESS_TOKEN_TYPE], ["audience", "nope"]], status: 400, error: "invalid_target" },
      { pairs: [["grant_type", TOKEN_EXCHANGE_GRANT], ["subject_token", st], ["subject_token_type", ACCESS_TOKEN_TYPE], ["resource", "https://elsewhere.example/api"]], status: 400, error: "invalid_target" },
      { pairs: [["grant_type", TOKEN_EXCHANGE_GRANT], ["subject_token", st], ["subject_token_type", ACCESS_TOKEN_TYPE], ["audience", "notes"], ["scope", "notes:admin"]], status: 400, error: "invalid_scope" },
      { pairs: [["grant_type", TOKEN_EXCHANGE_GRANT], ["subject_token", st], ["subject_token_type", ACCESS_TOKEN_TYPE], ["audience", "notes"], ["bogus", "1"]], status: 400, error: "invalid_request" },
      { pairs: [["grant_type", TOKEN_EXCHANGE_GRANT], ["grant_type", TOKEN_EXCHANGE_GRANT], ["subject_token", st], ["subject_token_type", ACCESS_TOKEN_TYPE], ["audience", "notes"]], status: 400, error: "invalid_request" },
      { pairs: [["grant_type", TOKEN_EXCHANGE_GRANT], ["subject_token", "garbage"], ["subject_token_type", ACCESS_TOKEN_TYPE], ["audience", "notes"]], status: 400, error: "invalid_request" },
      { pairs: [["grant_type", TOKEN_EXCHANGE_GRANT], ["subject_token", st], ["subject_token_type", ACCESS_TOKEN_TYPE], ["audience", "notes"], ["requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"]], status: 400, error: "invalid_request" },
    ];
    for (const c of cases) {
      const res = await handlers.token(tokenRequest(base, c.pairs, auth));
      const json = await body(res);
      expect({ status: res.status, error: json.error }).toEqual({ status: c.status, error: c.error });
      expect(JSON.stringify(json)).not.toMatch(/prisma|stack|at \w+ \(/i);
    }
    // Wrong content type, oversized body, not a form at all.
    const jsonBody = await handlers.token(new Request(`${base}/oauth/token`, { method: "POST", headers: { "content-type": "application/json", ...auth }, body: "{}" }));
    expect(jsonBody.status).toBe(400);
    expect((await body(jsonBody)).error).toBe("invalid_request");
    const huge = await handlers.token(
      new Request(`${base}/oauth/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...auth }, body: "a=" + "x".repeat(200_000) }),
    );
    expect(huge.status).toBe(413);
    const noAuth = await handlers.token(tokenRequest(base, [["grant_type", TOKEN_EXCHANGE_GRANT]]));
    expect(noAuth.status).toBe(401);
    expect(noAuth.headers.get("www-authenticate")).toMatch(/^Basic /);
  });
});

describe("gateway authentication", () => {
  beforeAll(async () => {
    await connect("alice", "notes:read");
  });
  const exchangePairs = async (): Promise<[string, string][]> => [
    ["grant_type", TOKEN_EXCHANGE_GRANT],
    ["subject_token", await subjectToken()],
    ["subject_token_type", ACCESS_TOKEN_TYPE],
    ["audience", "notes"],
  ];
  const withAssertion = async (assertion: string) =>
    handlers.token(
      tokenRequest(base, [...(await exchangePairs()), ["client_assertion_type", CLIENT_ASSERTION_TYPE], ["client_assertion", assertion]]),
    );

  it("accepts the issuer as audience, and rejects a replayed jti", async () => {
    const assertion = await signClientAssertion(bed.jwt, base);
    expect((await withAssertion(assertion)).status).toBe(200);
    const replay = await withAssertion(assertion);
    expect(replay.status).toBe(401);
    expect((await body(replay)).error).toBe("invalid_client");
    const rows = await auditRows("gateway.auth_failed");
    expect(rows.some((r) => r.reason === "assertion_replayed" && r.gatewayId === bed.jwt.id)).toBe(true);
  });

  it("rejects expired, wrong-audience, unknown-kid, over-long, alg none and HMAC-with-public-key assertions", async () => {
    const now = Math.floor(Date.now() / 1000);
    const { privateKey: otherKey } = await generateKeyPair("RS256");
    // HMAC "signed" with the gateway's registered public key as the secret (alg confusion).
    const { getDb } = await import("@/lib/db/client");
    const gw = await (await getDb()).gateway.findUniqueOrThrow({ where: { id: bed.jwt.id }, select: { jwks: true } });
    const registeredPublic = JSON.stringify((gw.jwks as { keys: unknown[] }).keys[0]);
    const hmac = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256", kid: bed.jwt.kid })
      .setIssuer(bed.jwt.id)
      .setSubject(bed.jwt.id)
      .setAudience(`${base}/oauth/token`)
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime("2m")
      .sign(new TextEncoder().encode(registeredPublic));
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const none = `${enc({ alg: "none" })}.${enc({ iss: bed.jwt.id, sub: bed.jwt.id, aud: `${base}/oauth/token`, jti: "n1", exp: now + 60 })}.`;
    const cases = {
      expired: await signClientAssertion(bed.jwt, `${base}/oauth/token`, { iat: now - 600, expiresIn: 300 }),
      wrongAudience: await signClientAssertion(bed.jwt, "https://someone-else.example/token"),
      unknownKid: await signClientAssertion(bed.jwt, `${base}/oauth/token`, { kid: "not-registered", key: otherKey }),
      tooLong: await signClientAssertion(bed.jwt, `${base}/oauth/token`, { expiresIn: 3600 }),
      wrongKeySameKid: await signClientAssertion(bed.jwt, `${base}/oauth/token`, { key: otherKey }),
      none,
      hmac,
    };
    const expectedReason: Record<keyof typeof cases, RegExp> = {
      expired: /expired/,
      wrongAudience: /aud/,
      unknownKid: /unknown_key/,
      tooLong: /assertion_lifetime/,
      wrongKeySameKid: /signature/,
      none: /algorithm|alg/,
      hmac: /algorithm|alg/,
    };
    for (const [name, assertion] of Object.entries(cases)) {
      const res = await withAssertion(assertion);
      expect({ name, status: res.status, error: (await body(res)).error }).toEqual({ name, status: 401, error: "invalid_client" });
      const last = (await auditRows("gateway.auth_failed")).at(-1)!;
      expect({ name, reason: last.reason }).toEqual({ name, reason: expect.stringMatching(expectedReason[name as keyof typeof cases]) });
    }
  });

  it("rejects a wrong secret, an unknown client, a disabled gateway, and two methods at once", async () => {
    const pairs = await exchangePairs();
    const wrong = await handlers.token(tokenRequest(base, pairs, { authorization: basicAuth(bed.basic.id, "fdgs_" + "x".repeat(43)) }));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toMatch(/^Basic /);
    const unknown = await handlers.token(tokenRequest(base, pairs, { authorization: basicAuth("gw_nobody", bed.basic.secret!) }));
    expect(unknown.status).toBe(401);
    const both = await handlers.token(
      tokenRequest(base, [...pairs, ["client_id", bed.post.id], ["client_secret", bed.post.secret!]], { authorization: basicAuth(bed.basic.id, bed.basic.secret!) }),
    );
    expect(both.status).toBe(401);

    const { createGateway, disableGateway } = await import("@/lib/gateways/register");
    const { gateway, secret } = await createGateway({ name: "soon-disabled", authMethod: "client_secret_basic" }, { type: "admin", id: "t" });
    await disableGateway(gateway.id, { type: "admin", id: "t" });
    const disabled = await handlers.token(tokenRequest(base, pairs, { authorization: basicAuth(gateway.id, secret!) }));
    expect(disabled.status).toBe(401);
    expect((await auditRows("gateway.auth_failed")).some((r) => r.reason === "gateway_disabled")).toBe(true);
  });
});

describe("subject tokens", () => {
  beforeAll(async () => {
    await connect("alice", "notes:read");
  });
  const resolveWith = (subject_token: string) =>
    handlers.resolve(resolveRequest(base, { subject_token, provider: "notes" }, { authorization: basicAuth(bed.basic.id, bed.basic.secret!) }));

  it("rejects wrong issuer, wrong audience, expired, not yet valid and bad signature", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const now = Math.floor(Date.now() / 1000);
    const foreign = await new SignJWT({ sub: "alice" }).setProtectedHeader({ alg: "RS256" }).setIssuer("https://evil.example").setAudience(SUBJECT_AUDIENCE).setExpirationTime("5m").sign(privateKey);
    const forged = await new SignJWT({ sub: "alice" }).setProtectedHeader({ alg: "RS256", kid: "x" }).setIssuer(bed.idp.issuer).setAudience(SUBJECT_AUDIENCE).setExpirationTime("5m").sign(privateKey);
    const valid = await subjectToken();
    const [h, , s] = valid.split(".");
    const tampered = `${h}.${Buffer.from(JSON.stringify({ sub: "admin", iss: bed.idp.issuer, aud: SUBJECT_AUDIENCE, exp: now + 300 })).toString("base64url")}.${s}`;
    const cases = {
      foreign,
      forged,
      tampered,
      wrongAudience: await bed.idp.signSubjectToken({ sub: "alice", aud: "someone-else" }),
      expired: await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE, expiresIn: -120 }),
      notYetValid: await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE, notBefore: now + 600 }),
      garbage: "not.a.jwt",
    };
    for (const [name, token] of Object.entries(cases)) {
      const res = await resolveWith(token);
      const json = await body(res);
      expect({ name, status: res.status, code: json.error?.code }).toEqual({ name, status: 400, code: "invalid_subject" });
    }
  });

  it("lets only a trusted-subject gateway name the user, and audits it as such", async () => {
    const named = await handlers.resolve(resolveRequest(base, { subject: "alice", provider: "notes" }, { authorization: basicAuth(bed.basic.id, bed.basic.secret!) }));
    expect(named.status).toBe(400);
    expect((await body(named)).error.code).toBe("invalid_subject");
    const trusted = await handlers.resolve(resolveRequest(base, { subject: "alice", provider: "notes" }, { authorization: basicAuth(bed.trusted.id, bed.trusted.secret!) }));
    expect(trusted.status).toBe(200);
    const rows = await auditRows("resolve");
    expect(rows.some((r) => r.gatewayId === bed.trusted.id && (r.context as { subjectSource?: string }).subjectSource === "trusted_gateway")).toBe(true);
  });
});

describe("interface D: REST resolve", () => {
  const auth = () => ({ authorization: basicAuth(bed.basic.id, bed.basic.secret!) });
  beforeAll(async () => {
    await connect("alice", "notes:read");
  });

  it("returns the header to inject with its expiry and attribution in the audit log", async () => {
    const res = await handlers.resolve(
      resolveRequest(
        base,
        { subject_token: await subjectToken(), provider: "notes", scopes: ["notes:read"], context: { agentId: "agent-7", mcpServer: "notes-mcp", toolName: "list_notes", labels: { team: "eng" } } },
        auth(),
      ),
    );
    expect(res.status).toBe(200);
    const json = await body(res);
    expect(json.header.name).toBe("Authorization");
    expect(json.header.value).toMatch(/^Bearer /);
    expect(Date.parse(json.expiresAt)).toBeGreaterThan(Date.now());
    expect(json.scopes).toContain("notes:read");
    expect(json.grantId).toMatch(/^grt_/);
    const rows = await auditRows("resolve");
    const row = rows.at(-1)!;
    expect(row.decision).toBe("allow");
    expect(row.context).toMatchObject({ agentId: "agent-7", mcpServer: "notes-mcp", toolName: "list_notes", scopes: ["notes:read"] });
  });

  it("insufficient scopes: the -32042 error asks only for the missing scope", async () => {
    const res = await handlers.resolve(resolveRequest(base, { subject_token: await subjectToken(), provider: "notes", scopes: ["notes:read", "notes:write"] }, auth()));
    expect(res.status).toBe(403);
    const json = await body(res);
    expect(json.error.code).toBe(-32042);
    const [eli] = json.error.data.elicitations;
    expect(eli).toMatchObject({ mode: "url", elicitationId: expect.stringMatching(/^eli_/) });
    const { getDb } = await import("@/lib/db/client");
    const row = await (await getDb()).elicitation.findUniqueOrThrow({ where: { id: eli.elicitationId } });
    expect(row.scopes).toEqual(["notes:write"]);
  });

  it("denies by policy: a gateway without a rule for the provider", async () => {
    const { createGateway } = await import("@/lib/gateways/register");
    const { gateway, secret } = await createGateway({ name: "no-rules", authMethod: "client_secret_basic" }, { type: "admin", id: "t" });
    const res = await handlers.resolve(resolveRequest(base, { subject_token: await subjectToken(), provider: "notes" }, { authorization: basicAuth(gateway.id, secret!) }));
    expect(res.status).toBe(403);
    expect((await body(res)).error.code).toBe("policy_denied");
    const rows = await auditRows("resolve");
    expect(rows.at(-1)).toMatchObject({ decision: "deny", reason: "policy:no_gateway_rule", gatewayId: gateway.id });
  });

  it("accepts a client assertion as a Bearer header", async () => {
    const res = await handlers.resolve(
      resolveRequest(base, { subject_token: await subjectToken(), provider: "notes" }, { authorization: `Bearer ${await signClientAssertion(bed.jwt, base)}` }),
    );
    expect(res.status).toBe(200);
  });

  it("answers bad input with structured 4xx errors", async () => {
    const st = await subjectToken();
    const cases: { req: Request; status: number; code: string }[] = [
      { req: resolveRequest(base, "{not json", auth()), status: 400, code: "invalid_body" },
      { req: resolveRequest(base, { subject_token: st, provider: "notes", extra: 1 }, auth()), status: 400, code: "invalid_body" },
      { req: resolveRequest(base, { provider: "notes" }, auth()), status: 400, code: "invalid_body" },
      { req: resolveRequest(base, { subject_token: st }, auth()), status: 400, code: "invalid_body" },
      { req: resolveRequest(base, { subject_token: st, provider: "nope" }, auth()), status: 404, code: "not_found" },
      { req: resolveRequest(base, { subject_token: st, provider: "notes", scopes: "notes:read" }, auth()), status: 400, code: "invalid_body" },
      { req: resolveRequest(base, [], auth()), status: 400, code: "invalid_body" },
      { req: resolveRequest(base, null, auth()), status: 400, code: "invalid_body" },
      { req: new Request(`${base}/api/v1/resolve`, { method: "POST", headers: { "content-type": "text/plain", ...auth() }, body: "hi" }), status: 415, code: "unsupported_media_type" },
      { req: resolveRequest(base, { subject_token: "x".repeat(100_000), provider: "notes" }, auth()), status: 413, code: "payload_too_large" },
      { req: resolveRequest(base, { subject_token: st, provider: "notes" }), status: 401, code: "invalid_client" },
    ];
    for (const c of cases) {
      const res = await handlers.resolve(c.req);
      const json = await body(res);
      expect({ status: res.status, code: json.error?.code }).toEqual({ status: c.status, code: c.code });
      expect(json.error.requestId).toMatch(/^req_/);
    }
  });
});

describe("interface E and F: elicitation status, discovery, JWKS, webhook", () => {
  it("serves RFC 8414 metadata and a JWKS that verifies the signed webhook", async () => {
    const meta = await body(await handlers.metadata(new Request(`${base}/.well-known/oauth-authorization-server`)));
    expect(meta).toMatchObject({
      issuer: base,
      token_endpoint: `${base}/oauth/token`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      grant_types_supported: [TOKEN_EXCHANGE_GRANT],
      token_endpoint_auth_methods_supported: expect.arrayContaining(["private_key_jwt", "client_secret_basic", "client_secret_post"]),
    });
    expect(meta.token_endpoint_auth_signing_alg_values_supported).not.toContain("HS256");
    const jwks = await body(await handlers.jwks(new Request(`${base}/.well-known/jwks.json`)));
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).not.toHaveProperty("d");

    // A gateway with a webhook receives a JWS it can verify with the JWKS.
    const received: string[] = [];
    const http = await import("node:http");
    const server = http.createServer((req, res) => {
      let data = "";
      req.on("data", (c) => (data += c));
      req.on("end", () => {
        received.push(data);
        res.end("ok");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    process.env.FRONTDESK_INSECURE_HTTP_ISSUERS += `,http://127.0.0.1:${port}`;
    const { env } = await import("@/lib/env");
    env().FRONTDESK_INSECURE_HTTP_ISSUERS.push(`http://127.0.0.1:${port}`);
    const { createGateway } = await import("@/lib/gateways/register");
    const { createPolicyRule } = await import("@/lib/policy/rules");
    const { gateway, secret } = await createGateway(
      { name: "hooked", authMethod: "client_secret_basic", webhookUrl: `http://127.0.0.1:${port}/hook` },
      { type: "admin", id: "t" },
    );
    await createPolicyRule({ providerId: bed.providerId, gatewayId: gateway.id }, { type: "admin", id: "t" });
    const consent = await body(
      await handlers.resolve(resolveRequest(base, { subject_token: await subjectToken(), provider: "notes", scopes: ["notes:write"] }, { authorization: basicAuth(gateway.id, secret!) })),
    );
    const elicitationId = consent.error.data.elicitations[0].elicitationId as string;
    const statusUrl = `${base}/api/v1/elicitations/${elicitationId}`;
    const pending = await body(await handlers.status(new Request(statusUrl, { headers: { authorization: basicAuth(gateway.id, secret!) } })));
    expect(pending.status).toBe("pending");
    // Another gateway cannot see it.
    const foreign = await handlers.status(new Request(statusUrl, { headers: { authorization: basicAuth(bed.basic.id, bed.basic.secret!) } }));
    expect(foreign.status).toBe(404);

    // Long-poll, then complete: the poll returns promptly with the new status.
    const started = Date.now();
    const poll = handlers.status(new Request(`${statusUrl}?wait=20`, { headers: { authorization: basicAuth(gateway.id, secret!) } }));
    const { hasElicitationWaiters } = await import("@/lib/gateways/elicitation-watch");
    await vi.waitFor(() => expect(hasElicitationWaiters(elicitationId)).toBe(true), { timeout: 30_000, interval: 10 });
    // Completed without any in-process signal: the poll must notice through the database.
    const { completeElicitation } = await import("@/lib/elicitations/settle");
    const completedAt = Date.now();
    await completeElicitation(elicitationId, { issuer: bed.idp.issuer, subject: "alice" });
    const done = await body(await poll);
    expect(done.status).toBe("completed");
    expect(done.completedAt).toEqual(expect.any(String));
    expect(Date.now() - completedAt).toBeLessThan(1_000);
    expect(Date.now() - started).toBeLessThan(3_000);
    // The completion wrote the webhook event to the outbox in its transaction; deliver it.
    const { drainOutbox } = await import("@/lib/outbox/worker");
    await drainOutbox();

    expect(received).toHaveLength(1);
    const { payload, protectedHeader } = await jwtVerify(received[0]!, createLocalJWKSet(jwks), { issuer: base, audience: gateway.id });
    expect(protectedHeader.typ).toBe("frontdesk-webhook+jwt");
    expect(payload).toMatchObject({ event: "elicitation.settled", elicitation_id: elicitationId, status: "completed" });
    server.close();
  });

  it("rejects bad status queries and unknown ids", async () => {
    const auth = { authorization: basicAuth(bed.basic.id, bed.basic.secret!) };
    const cases: [string, number, string][] = [
      [`${base}/api/v1/elicitations/eli_${"A".repeat(43)}`, 404, "not_found"],
      [`${base}/api/v1/elicitations/nonsense`, 404, "not_found"],
      [`${base}/api/v1/elicitations/eli_${"A".repeat(43)}?wait=61`, 400, "invalid_query"],
      [`${base}/api/v1/elicitations/eli_${"A".repeat(43)}?wait=abc`, 400, "invalid_query"],
      [`${base}/api/v1/elicitations/eli_${"A".repeat(43)}?other=1`, 400, "invalid_query"],
    ];
    for (const [url, status, code] of cases) {
      const res = await handlers.status(new Request(url, { headers: auth }));
      expect({ url, status: res.status, code: (await body(res)).error.code }).toEqual({ url, status, code });
    }
  });
});

describe("secrets stay inside", () => {
  it("no audit row contains an upstream token", async () => {
    const rows = await auditRows();
    const text = JSON.stringify(rows, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
    expect(upstreamTokens.length).toBeGreaterThan(0);
    for (const t of upstreamTokens) expect(text).not.toContain(t);
  });
});
