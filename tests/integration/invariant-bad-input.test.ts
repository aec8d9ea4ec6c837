// Invariant 10 (design.md section 7): bad input of any kind gets a structured 4xx with a stable
// error code, never a 5xx or a stack trace; the service keeps serving; no data is lost.
// Invariant 5 (part): every gateway endpoint authenticates the gateway on every call.
// A table of malformed requests against the real, framework-free handlers (the same functions
// server.ts and the Next route handlers call), on real PostgreSQL with real OIDC servers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/test-db";
import {
  ACCESS_TOKEN_TYPE,
  basicAuth,
  CLIENT_ASSERTION_TYPE,
  connectNotes,
  type GatewayTestbed,
  resolveRequest,
  signClientAssertion,
  startGatewayTestbed,
  SUBJECT_AUDIENCE,
  TOKEN_EXCHANGE_GRANT,
  tokenRequest,
} from "../helpers/gateway-testbed";

await useTestDatabase();

let bed: GatewayTestbed;
let base: string;
let token: (req: Request) => Promise<Response>;
let resolve: (req: Request) => Promise<Response>;
let status: (req: Request) => Promise<Response>;
let accessToken: string;

beforeAll(async () => {
  bed = await startGatewayTestbed();
  base = bed.frontdeskUrl;
  token = (await import("@/lib/gateway-api/token-exchange")).handleTokenRequest;
  resolve = (await import("@/lib/gateway-api/resolve")).handleResolve;
  status = (await import("@/lib/gateway-api/elicitation-status")).handleElicitationStatus;
  const minted = await connectNotes(bed);
  accessToken = minted.accessToken;
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

const subjectToken = () => bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
const basic = () => ({ authorization: basicAuth(bed.basic.id, bed.basic.secret!) });
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

interface Case {
  name: string;
  req: () => Promise<Request> | Request;
}

/** Runs every case; each must be a 4xx with a JSON error code and nothing internal in the body. */
async function expectAll4xx(handler: (req: Request) => Promise<Response>, style: "oauth" | "api", cases: Case[]) {
  const problems: string[] = [];
  for (const c of cases) {
    const res = await handler(await c.req());
    const text = await res.text();
    let code: unknown;
    try {
      const json = JSON.parse(text);
      code = style === "oauth" ? json.error : json.error?.code;
      if (style === "api" && !/^req_/.test(String(json.error?.requestId))) problems.push(`${c.name}: no requestId`);
    } catch {
      problems.push(`${c.name}: body is not JSON: ${text.slice(0, 80)}`);
    }
    if (res.status < 400 || res.status >= 500) problems.push(`${c.name}: status ${res.status} ${text.slice(0, 120)}`);
    if (typeof code !== "string" || !/^[a-z_]+$/.test(code)) problems.push(`${c.name}: no stable error code`);
    if (/prisma|stack|node_modules|\bat \S+ \(|TypeError|RangeError|URIError|SyntaxError/i.test(text)) problems.push(`${c.name}: internals in body`);
    if (text.includes(accessToken)) problems.push(`${c.name}: credential in error body`);
  }
  expect(problems).toEqual([]);
}

describe("token endpoint (RFC 8693): malformed requests", () => {
  it("every malformed request is a 4xx RFC 6749 error, never a 5xx", async () => {
    const st = await subjectToken();
    const ok: [string, string][] = [
      ["grant_type", TOKEN_EXCHANGE_GRANT],
      ["subject_token_type", ACCESS_TOKEN_TYPE],
    ];
    const form = (pairs: [string, string][], headers: Record<string, string> = basic()) => () => tokenRequest(base, pairs, headers);
    const raw = (body: BodyInit, headers: Record<string, string>) => () =>
      new Request(`${base}/oauth/token`, { method: "POST", headers: { ...basic(), ...headers }, body });
    const formType = { "content-type": "application/x-www-form-urlencoded" };
    const cases: Case[] = [
      { name: "empty body", req: raw("", formType) },
      { name: "no content type", req: () => new Request(`${base}/oauth/token`, { method: "POST", headers: basic(), body: "grant_type=x" }) },
      { name: "multipart", req: raw("--x\r\n", { "content-type": "multipart/form-data; boundary=x" }) },
      { name: "json", req: raw('{"grant_type":"x"}', { "content-type": "application/json" }) },
      { name: "invalid utf-8", req: raw(new Uint8Array([0x67, 0x3d, 0xff, 0xfe, 0xfd]), formType) },
      { name: "broken percent escapes", req: raw("grant_type=%E0%A4%A&subject_token=%%%&scope=%zz", formType) },
      { name: "declared length over the limit", req: raw("a=b", { ...formType, "content-length": "99999999" }) },
      { name: "NUL in audience", req: form([...ok, ["subject_token", st], ["audience", "no\u0000tes"]]) },
      { name: "NUL in resource", req: form([...ok, ["subject_token", st], ["resource", "http://x.example/\u0000"]]) },
      { name: "NUL in scope", req: form([...ok, ["subject_token", st], ["audience", "notes"], ["scope", "notes:read\u0000"]]) },
      { name: "NUL in subject token", req: form([...ok, ["subject_token", `${st}\u0000`], ["audience", "notes"]]) },
      { name: "unicode audience", req: form([...ok, ["subject_token", st], ["audience", "n\u00f6tes\ud83d\ude00"]]) },
      { name: "very long audience", req: form([...ok, ["subject_token", st], ["audience", "n".repeat(30_000)]]) },
      { name: "resource not a URL", req: form([...ok, ["subject_token", st], ["resource", "javascript:alert(1)"]]) },
      { name: "resource with fragment", req: form([...ok, ["subject_token", st], ["resource", `${bed.upstream.apiUrl}#x`]]) },
      { name: "resource and audience disagree", req: form([...ok, ["subject_token", st], ["resource", "https://other.example/"], ["audience", "notes"]]) },
      { name: "51 scopes", req: form([...ok, ["subject_token", st], ["audience", "notes"], ["scope", Array.from({ length: 51 }, (_, i) => `s${i}`).join(" ")]]) },
      { name: "scope with quote", req: form([...ok, ["subject_token", st], ["audience", "notes"], ["scope", 'notes"read']]) },
      { name: "actor_token without type", req: form([...ok, ["subject_token", st], ["audience", "notes"], ["actor_token", "x"]]) },
      { name: "subject token of two parts", req: form([...ok, ["subject_token", "a.b"], ["audience", "notes"]]) },
      { name: "subject token with bad base64", req: form([...ok, ["subject_token", "!!!.@@@.###"], ["audience", "notes"]]) },
      { name: "subject token with JSON array payload", req: form([...ok, ["subject_token", `${b64("{}")}.${b64("[1]")}.x`], ["audience", "notes"]]) },
      { name: "subject token 20 KB", req: form([...ok, ["subject_token", `a.${"b".repeat(20_000)}.c`], ["audience", "notes"]]) },
      { name: "empty grant_type", req: form([["grant_type", ""]]) },
      { name: "repeated client_id", req: form([...ok, ["client_id", "a"], ["client_id", "b"]], {}) },
      // Client authentication garbage: 401 invalid_client, never a 5xx.
      { name: "Basic not base64", req: form([...ok, ["subject_token", st]], { authorization: "Basic !!!!" }) },
      { name: "Basic without colon", req: form([...ok, ["subject_token", st]], { authorization: `Basic ${b64("gw_x")}` }) },
      { name: "Basic broken percent", req: form([...ok, ["subject_token", st]], { authorization: `Basic ${b64("%zz:%E0%A4%A")}` }) },
      { name: "Basic with NUL in client id", req: form([...ok, ["subject_token", st]], { authorization: `Basic ${b64(`${bed.basic.id}%00:${bed.basic.secret}`)}` }) },
      { name: "Basic with a 10 KB client id", req: form([...ok, ["subject_token", st]], { authorization: basicAuth("g".repeat(10_000), "s".repeat(43)) }) },
      { name: "Basic empty secret", req: form([...ok, ["subject_token", st]], { authorization: basicAuth(bed.basic.id, "") }) },
      { name: "Bearer is not a token-endpoint method", req: form([...ok, ["subject_token", st]], { authorization: "Bearer abc" }) },
      { name: "client_secret_post without client_id", req: form([...ok, ["subject_token", st], ["client_secret", "x"]], {}) },
      { name: "client_id with NUL (post)", req: form([...ok, ["subject_token", st], ["client_id", "gw_\u0000"], ["client_secret", "x".repeat(40)]], {}) },
      { name: "assertion wrong type", req: form([...ok, ["subject_token", st], ["client_assertion_type", "urn:x"], ["client_assertion", "a.b.c"]], {}) },
      { name: "assertion garbage", req: form([...ok, ["subject_token", st], ["client_assertion_type", CLIENT_ASSERTION_TYPE], ["client_assertion", "a.b.c"]], {}) },
      {
        name: "assertion whose sub has NUL",
        req: form(
          [...ok, ["subject_token", st], ["client_assertion_type", CLIENT_ASSERTION_TYPE], ["client_assertion", `${b64('{"alg":"RS256"}')}.${b64('{"iss":"gw_\\u0000","sub":"gw_\\u0000"}')}.x`]],
          {},
        ),
      },
      {
        name: "assertion with a 1 KB jti-less payload",
        req: async () =>
          tokenRequest(base, [...ok, ["subject_token", st], ["client_assertion_type", CLIENT_ASSERTION_TYPE], ["client_assertion", await signClientAssertion(bed.jwt, base, { jti: "" })]]),
      },
    ];
    await expectAll4xx(token, "oauth", cases);
  });
});

describe("REST resolve: malformed requests", () => {
  it("every malformed request is a structured 4xx with a request id, never a 5xx", async () => {
    const st = await subjectToken();
    const body = (value: unknown, headers: Record<string, string> = basic()) => () => resolveRequest(base, value, headers);
    const raw = (text: BodyInit, headers: Record<string, string> = {}) => () =>
      new Request(`${base}/api/v1/resolve`, { method: "POST", headers: { "content-type": "application/json", ...basic(), ...headers }, body: text });
    const deep = "[".repeat(20_000) + "]".repeat(20_000);
    const cases: Case[] = [
      { name: "empty body", req: raw("") },
      { name: "number", req: raw("42") },
      { name: "string", req: raw('"x"') },
      { name: "deeply nested arrays", req: raw(deep) },
      { name: "invalid utf-8", req: raw(new Uint8Array([0x7b, 0xff, 0x7d])) },
      { name: "trailing garbage", req: raw('{"provider":"notes"} x') },
      { name: "__proto__ key", req: raw(`{"__proto__":{"polluted":1},"subject_token":"${st}","provider":"notes"}`) },
      { name: "subject_token a number", req: body({ subject_token: 1, provider: "notes" }) },
      { name: "both subject forms", req: body({ subject_token: st, subject: "alice", provider: "notes" }) },
      { name: "subject object with extra key", req: body({ subject: { subject: "alice", admin: true }, provider: "notes" }) },
      { name: "NUL in provider", req: body({ subject_token: st, provider: "no\u0000tes" }) },
      { name: "NUL in resource", req: body({ subject_token: st, resource: "http://x.example/\u0000" }) },
      { name: "NUL in scope", req: body({ subject_token: st, provider: "notes", scopes: ["a\u0000"] }) },
      { name: "NUL in subject token", req: body({ subject_token: `${st}\u0000`, provider: "notes" }) },
      { name: "lone surrogate in provider", req: raw(`{"subject_token":"${st}","provider":"\\ud800"}`) },
      { name: "resource not http", req: body({ subject_token: st, resource: "file:///etc/passwd" }) },
      { name: "scopes not strings", req: body({ subject_token: st, provider: "notes", scopes: [1, 2] }) },
      { name: "51 scopes", req: body({ subject_token: st, provider: "notes", scopes: Array.from({ length: 51 }, (_, i) => `s${i}`) }) },
      { name: "scope with a space", req: body({ subject_token: st, provider: "notes", scopes: ["a b"] }) },
      { name: "21 labels", req: body({ subject_token: st, provider: "notes", context: { labels: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, "v"])) } }) },
      { name: "label value an object", req: body({ subject_token: st, provider: "notes", context: { labels: { a: { b: 1 } } } }) },
      { name: "unknown context field", req: body({ subject_token: st, provider: "notes", context: { secret: "x" } }) },
      { name: "overlong toolName", req: body({ subject_token: st, provider: "notes", context: { toolName: "t".repeat(201) } }) },
      { name: "wrong content type", req: raw("{}", { "content-type": "text/plain" }) },
      { name: "content type with charset only", req: raw("{}", { "content-type": "; charset=utf-8" }) },
      { name: "no credentials", req: body({ subject_token: st, provider: "notes" }, {}) },
      { name: "Bearer garbage", req: body({ subject_token: st, provider: "notes" }, { authorization: "Bearer a.b.c" }) },
      { name: "Bearer empty", req: body({ subject_token: st, provider: "notes" }, { authorization: "Bearer " }) },
      { name: "Basic with NUL in client id", req: body({ subject_token: st, provider: "notes" }, { authorization: `Basic ${b64(`${bed.basic.id}%00:${bed.basic.secret}`)}` }) },
      { name: "unknown scheme", req: body({ subject_token: st, provider: "notes" }, { authorization: "Digest x" }) },
    ];
    await expectAll4xx(resolve, "api", cases);
  });

  it("trusted-subject gateways: a NUL, unicode or overlong named subject is a 4xx too", async () => {
    const auth = { authorization: basicAuth(bed.trusted.id, bed.trusted.secret!) };
    const cases: Case[] = [
      { name: "NUL subject", req: () => resolveRequest(base, { subject: "ali\u0000ce", provider: "notes" }, auth) },
      { name: "NUL issuer", req: () => resolveRequest(base, { subject: { subject: "alice", issuer: `${bed.idp.issuer}\u0000` }, provider: "notes" }, auth) },
      { name: "overlong subject", req: () => resolveRequest(base, { subject: "a".repeat(513), provider: "notes" }, auth) },
    ];
    await expectAll4xx(resolve, "api", cases);
    // A unicode subject is a legitimate (unknown) user: consent, not an error.
    const res = await resolve(resolveRequest(base, { subject: "\u00e4lice\ud83d\ude00", provider: "notes" }, auth));
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe(-32042);
  });
});

describe("elicitation status: malformed requests", () => {
  it("every malformed path or query is a structured 4xx, and the endpoint needs gateway credentials", async () => {
    const get = (path: string, headers: Record<string, string> = basic()) => () => new Request(`${base}/api/v1/elicitations/${path}`, { headers });
    const id = `eli_${"A".repeat(43)}`;
    const cases: Case[] = [
      { name: "broken percent escape in id", req: get("%E0%A4%A") },
      { name: "lone percent", req: get("%") },
      { name: "encoded NUL", req: get("eli_%00") },
      { name: "encoded slash", req: get("eli_%2F..%2F") },
      { name: "very long id", req: get(`eli_${"A".repeat(5000)}`) },
      { name: "wait negative", req: get(`${id}?wait=-1`) },
      { name: "wait float", req: get(`${id}?wait=1.5`) },
      { name: "wait repeated", req: get(`${id}?wait=1&wait=2`) },
      { name: "broken percent in query", req: get(`${id}?wait=%E0%A4%A`) },
      { name: "no credentials", req: get(id, {}) },
      { name: "wrong secret", req: get(id, { authorization: basicAuth(bed.basic.id, "fdgs_" + "x".repeat(43)) }) },
    ];
    await expectAll4xx(status, "api", cases);
  });
});

describe("after all of that", () => {
  it("the service keeps serving, the credential still resolves, and the audit chain is intact", async () => {
    const res = await resolve(resolveRequest(base, { subject_token: await subjectToken(), provider: "notes" }, basic()));
    expect(res.status).toBe(200);
    expect((await res.json()).header.value).toBe(`Bearer ${accessToken}`);
    const { flushAudit } = await import("@/lib/audit/append");
    await flushAudit();
    const { verifyAuditChain } = await import("@/lib/audit/verify");
    const result = await verifyAuditChain();
    expect(result).toMatchObject({ ok: true });
    const { getDb } = await import("@/lib/db/client");
    expect(await (await getDb()).grant.count({ where: { userId: bed.users.alice, status: "active" } })).toBe(1);
  });
});
