// gRPC ext_authz (interface C) contract tests: a real grpc-js client calls
// /envoy.service.auth.v3.Authorization/Check on Frontdesk's real gRPC listener (h2c on
// 127.0.0.1), with CheckRequests built as agentgateway builds them and answers applied as it
// applies them; real PostgreSQL, IdP and Notes upstream behind.
//
// agentgateway (agentgateway/agentgateway@75b4e6ce, crates/agentgateway/src/http/ext_authz.rs):
// - `impl Default for Protocol` is `Protocol::Grpc`: gRPC is what `extAuthz` speaks unless told otherwise.
// - `check`: with `includeRequestHeaders` unset it sends every request header plus the
//   pseudo-headers (`:authority`, `:method`, `:path`, `:scheme`) in attributes.request.http.headers
//   (lower-case names, repeated values joined by ", "); http.method; http.path = path and query;
//   http.host = authority; query and fragment always empty; context_extensions = the configured
//   `protocol.grpc.context` map. The target's backend policies (backendAuth key) authenticate the
//   call itself (`authorization` metadata).
// - Answer: status.code 0 allows and applies ok_response.headers to the request
//   (envoy_proto_common.rs `resolve_append_action`: append_action 0 + append unset/false =
//   overwrite-or-add); any other code denies, with denied_response.status.code as the HTTP status
//   (403 when unset), its headers and body returned to the client.
// Envoy's own external_auth.proto (api/envoy/service/auth/v3) has the same service, method and
// field numbers; the vendored copy is lib/egress/proto (README there).
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NOTES_REQUEST_RULES } from "@/demo/upstream-provider";
import { basicAuth, connectNotes, startGatewayTestbed, SUBJECT_AUDIENCE, type GatewayTestbed } from "../helpers/gateway-testbed";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();

let bed: GatewayTestbed;
let server: grpc.Server;
let client: grpc.Client & { Check: (req: unknown, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, r: CheckResponse) => void) => void };
let alice: string;
let bob: string;
let notesToken: string;

interface CheckResponse {
  status?: { code: number };
  ok_response?: { headers: { header: { key: string; value: string }; append?: { value: boolean }; append_action?: number }[] };
  denied_response?: { status?: { code: number }; headers: { header: { key: string; value: string } }[]; body: string };
  http_response?: string;
}

beforeAll(async () => {
  bed = await startGatewayTestbed();
  const { getDb } = await import("@/lib/db/client");
  await (await getDb()).provider.update({ where: { id: bed.providerId }, data: { requestRules: NOTES_REQUEST_RULES } });
  const grpcLib = await import("@/lib/egress/ext-authz-grpc");
  const started = await grpcLib.startExtAuthzGrpcServer({ host: "127.0.0.1", port: 0, baseUrl: bed.frontdeskUrl });
  server = started.server;
  const Authorization = grpc.makeGenericClientConstructor(grpcLib.loadAuthorizationService(), "Authorization");
  client = new Authorization(`127.0.0.1:${started.port}`, grpc.credentials.createInsecure()) as unknown as typeof client;
  notesToken = (await connectNotes(bed, { scope: "notes:read notes:write" })).accessToken;
  alice = await bed.idp.signSubjectToken({ sub: bed.idp.users.alice.sub, aud: SUBJECT_AUDIENCE });
  bob = await bed.idp.signSubjectToken({ sub: bed.idp.users.bob.sub, aud: SUBJECT_AUDIENCE });
}, 60_000);

afterAll(async () => {
  client?.close();
  await new Promise<void>((resolve) => (server ? server.tryShutdown(() => resolve()) : resolve()));
  await bed?.close();
});

/** agentgateway's CheckRequest for an original request (`check`, includeRequestHeaders unset). */
function agentgatewayCheckRequest(original: { method: string; path: string; authorization?: string; extra?: Record<string, string> }, context: Record<string, string>) {
  const headers: Record<string, string> = {
    ":authority": "notes-api.internal",
    ":method": original.method,
    ":path": original.path,
    ":scheme": "http",
    "user-agent": "mcp-server/1.0",
    accept: "application/json",
    ...original.extra,
  };
  if (original.authorization) headers.authorization = original.authorization;
  return {
    attributes: {
      source: { address: { socket_address: { address: "10.0.0.7", port_value: 51234 } } },
      destination: { address: { socket_address: { address: "10.0.0.2", port_value: 8080 } } },
      request: {
        time: { seconds: String(Math.floor(Date.now() / 1000)), nanos: 0 },
        http: { id: "00-trace-01", method: original.method, headers, path: original.path, host: "notes-api.internal", scheme: "http", protocol: "HTTP/1.1", query: "", fragment: "", size: "0" },
      },
      context_extensions: context,
    },
  };
}

/** The call as agentgateway makes it: backendAuth `key` on the ext_authz target sets `authorization` metadata. */
function callCheck(request: unknown, gatewayAuthorization: string | null = basicAuth(bed.basic.id, bed.basic.secret!)): Promise<CheckResponse> {
  const md = new grpc.Metadata();
  if (gatewayAuthorization) md.set("authorization", gatewayAuthorization);
  return new Promise((resolve, reject) => client.Check(request, md, (e, r) => (e ? reject(e) : resolve(r))));
}

const NOTES = { frontdesk_provider: "notes", frontdesk_scopes: "notes:read" };

/** What agentgateway does with the answer: allow applies the header mutations; deny is the direct response. */
function applyAnswer(answer: CheckResponse, original: Record<string, string>) {
  if ((answer.status?.code ?? 0) === 0) {
    const headers = { ...original };
    for (const h of answer.ok_response?.headers ?? []) {
      const overwrite = (h.append_action ?? 0) === 2 || ((h.append_action ?? 0) === 0 && !h.append?.value);
      expect(overwrite).toBe(true);
      headers[h.header.key.toLowerCase()] = h.header.value;
    }
    return { allowed: true as const, headers };
  }
  const d = answer.denied_response;
  return {
    allowed: false as const,
    status: d?.status?.code || 403,
    headers: Object.fromEntries((d?.headers ?? []).map((h) => [h.header.key.toLowerCase(), h.header.value])),
    body: d?.body ?? "",
  };
}

describe("gRPC Check: allow", () => {
  it("status OK with ok_response overwriting the user's Authorization with the upstream token; the upstream answers", async () => {
    const answer = await callCheck(agentgatewayCheckRequest({ method: "GET", path: "/notes?limit=5", authorization: `Bearer ${alice}` }, NOTES));
    expect(answer.status?.code).toBe(0);
    expect(answer.http_response).toBe("ok_response");
    const applied = applyAnswer(answer, { authorization: `Bearer ${alice}` });
    if (!applied.allowed) throw new Error("denied");
    expect(applied.headers.authorization).toBe(`Bearer ${notesToken}`);
    const upstream = await fetch(`${bed.upstream.apiUrl}/notes`, { headers: { authorization: applied.headers.authorization! } });
    expect(upstream.status).toBe(200);
    expect((await upstream.json()).owner).toBe("alice");
  });

  it("the same audit row as the HTTP variant: ext_authz allow with method and path template, never the token", async () => {
    const { flushAudit } = await import("@/lib/audit/append");
    await flushAudit();
    const db = await (await import("@/lib/db/client")).getDb();
    const row = await db.auditEvent.findFirstOrThrow({ where: { action: "ext_authz" }, orderBy: { seq: "desc" } });
    expect(row).toMatchObject({ decision: "allow", gatewayId: bed.basic.id, providerId: bed.providerId });
    expect(row.context).toMatchObject({ method: "GET", pathTemplate: "/notes" });
    const text = JSON.stringify({ ...row, seq: String(row.seq) });
    expect(text).not.toContain(notesToken);
    expect(text).not.toContain("limit=5");
  });
});

describe("gRPC Check: deny", () => {
  it("consent needed: PERMISSION_DENIED with denied_response 403 and the MCP-ready body carrying the consent link", async () => {
    const answer = await callCheck(agentgatewayCheckRequest({ method: "GET", path: "/notes", authorization: `Bearer ${bob}` }, NOTES));
    expect(answer.status?.code).toBe(7);
    const applied = applyAnswer(answer, {});
    if (applied.allowed) throw new Error("allowed");
    expect(applied.status).toBe(403);
    expect(applied.headers["content-type"]).toMatch(/json/);
    const body = JSON.parse(applied.body);
    expect(body.error.code).toBe(-32042);
    expect(body.error.data.elicitations[0].url).toMatch(new RegExp(`^${bed.frontdeskUrl}/connect/eli_`));
    expect(body.inputRequired.requestState).toEqual(expect.any(String));
  });

  it("a method the scopes do not allow: PERMISSION_DENIED, structured 403, no credential", async () => {
    const answer = await callCheck(agentgatewayCheckRequest({ method: "DELETE", path: "/notes/0", authorization: `Bearer ${alice}` }, NOTES));
    expect(answer.status?.code).toBe(7);
    expect(answer.ok_response).toBeUndefined();
    const applied = applyAnswer(answer, {});
    if (applied.allowed) throw new Error("allowed");
    expect(applied.status).toBe(403);
    expect(JSON.parse(applied.body).error.code).toBe("forbidden");
    expect(applied.body).not.toContain(notesToken);
  });

  it("the caller cannot widen the scopes or name a user through the checked request's headers", async () => {
    const answer = await callCheck(
      agentgatewayCheckRequest({ method: "DELETE", path: "/notes/0", authorization: `Bearer ${alice}`, extra: { "frontdesk-scopes": "notes:write" } }, NOTES),
    );
    expect(answer.status?.code).toBe(7);
    const trusted = await callCheck(
      agentgatewayCheckRequest({ method: "GET", path: "/notes", extra: { "frontdesk-subject": bed.idp.users.alice.sub } }, NOTES),
      basicAuth(bed.trusted.id, bed.trusted.secret!),
    );
    expect(trusted.status?.code).toBe(16);
  });
});

describe("gRPC Check: bad requests", () => {
  it("no provider context, no HTTP attributes, a relative or traversing path: INVALID_ARGUMENT with a structured 400, never a credential", async () => {
    const cases = [
      agentgatewayCheckRequest({ method: "GET", path: "/notes", authorization: `Bearer ${alice}` }, {}),
      { attributes: { context_extensions: NOTES } },
      agentgatewayCheckRequest({ method: "GET", path: "notes", authorization: `Bearer ${alice}` }, NOTES),
      agentgatewayCheckRequest({ method: "GET", path: "/notes/../admin", authorization: `Bearer ${alice}` }, NOTES),
      agentgatewayCheckRequest({ method: "GET", path: "/notes/%2e%2e/admin", authorization: `Bearer ${alice}` }, NOTES),
    ];
    for (const request of cases) {
      const answer = await callCheck(request);
      expect(answer.status?.code, JSON.stringify(request).slice(0, 120)).toBe(3);
      expect(answer.ok_response).toBeUndefined();
      const applied = applyAnswer(answer, {});
      if (applied.allowed) throw new Error("allowed");
      expect(applied.status).toBe(400);
      expect(JSON.parse(applied.body).error.code).toEqual(expect.any(String));
    }
  });

  it("an unknown provider is NOT_FOUND (404)", async () => {
    const answer = await callCheck(agentgatewayCheckRequest({ method: "GET", path: "/notes", authorization: `Bearer ${alice}` }, { frontdesk_provider: "nope" }));
    expect(answer.status?.code).toBe(5);
    expect(answer.denied_response?.status?.code).toBe(404);
  });
});

describe("gRPC Check: unauthenticated", () => {
  it("no gateway credential, a wrong one, or a bad user token: UNAUTHENTICATED with a 401, audited, never a credential", async () => {
    const original = { method: "GET", path: "/notes", authorization: `Bearer ${alice}` };
    for (const auth of [null, basicAuth(bed.basic.id, "wrong-secret-0123456789")]) {
      const answer = await callCheck(agentgatewayCheckRequest(original, NOTES), auth);
      expect(answer.status?.code).toBe(16);
      expect(answer.denied_response?.status?.code).toBe(401);
      expect(answer.denied_response?.body).not.toContain(notesToken);
    }
    const badUser = await callCheck(agentgatewayCheckRequest({ ...original, authorization: `Bearer ${alice.slice(0, -6)}AAAAAA` }, NOTES));
    expect(badUser.status?.code).toBe(16);
    expect(badUser.denied_response?.status?.code).toBe(401);
    const { flushAudit } = await import("@/lib/audit/append");
    await flushAudit();
    const db = await (await import("@/lib/db/client")).getDb();
    expect(await db.auditEvent.count({ where: { decision: "deny", gatewayId: null } })).toBeGreaterThan(0);
  });
});

describe("listener configuration", () => {
  it("off unless a port is set; plaintext only on loopback; TLS files go together", async () => {
    const { grpcListenerSettings } = await import("@/lib/egress/ext-authz-grpc");
    const base = { FRONTDESK_EXT_AUTHZ_GRPC_HOST: "127.0.0.1", FRONTDESK_EXT_AUTHZ_GRPC_PORT: undefined, FRONTDESK_EXT_AUTHZ_GRPC_TLS_CERT_FILE: undefined, FRONTDESK_EXT_AUTHZ_GRPC_TLS_KEY_FILE: undefined };
    expect(grpcListenerSettings(base)).toBeNull();
    expect(grpcListenerSettings({ ...base, FRONTDESK_EXT_AUTHZ_GRPC_PORT: 9191 })).toEqual({ host: "127.0.0.1", port: 9191, tls: undefined });
    expect(() => grpcListenerSettings({ ...base, FRONTDESK_EXT_AUTHZ_GRPC_PORT: 9191, FRONTDESK_EXT_AUTHZ_GRPC_HOST: "0.0.0.0" })).toThrow(/loopback/);
    expect(() => grpcListenerSettings({ ...base, FRONTDESK_EXT_AUTHZ_GRPC_PORT: 9191, FRONTDESK_EXT_AUTHZ_GRPC_TLS_CERT_FILE: "/x.crt" })).toThrow(/together/);
    expect(grpcListenerSettings({ ...base, FRONTDESK_EXT_AUTHZ_GRPC_PORT: 9191, FRONTDESK_EXT_AUTHZ_GRPC_HOST: "0.0.0.0", FRONTDESK_EXT_AUTHZ_GRPC_TLS_CERT_FILE: "/x.crt", FRONTDESK_EXT_AUTHZ_GRPC_TLS_KEY_FILE: "/x.key" })).toMatchObject({
      tls: { certFile: "/x.crt", keyFile: "/x.key" },
    });
  });
});
