// Invariant 5 (design.md section 7), the race the sequential replay test cannot see: a client
// assertion is single use even when the same assertion arrives many times at once, at both
// endpoints that accept it (form client_assertion at the token endpoint, Bearer at resolve).
// The jti is consumed with one INSERT ... ON CONFLICT DO NOTHING in PostgreSQL, so exactly one
// request may win; a check-then-insert would let several through.
// And client credentials are parsed strictly: one credential, one method, canonical encoding
// (RFC 7617 base64 with RFC 6749 2.3.1 form-urlencoding inside); anything else is invalid_client.
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

beforeAll(async () => {
  bed = await startGatewayTestbed();
  await connectNotes(bed);
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

/** A token exchange for the notes provider, authenticated with `assertion` (private_key_jwt). */
function exchangeRequest(subjectToken: string, assertion: string) {
  return tokenRequest(bed.frontdeskUrl, [
    ["grant_type", TOKEN_EXCHANGE_GRANT],
    ["subject_token", subjectToken],
    ["subject_token_type", ACCESS_TOKEN_TYPE],
    ["audience", "notes"],
    ["client_assertion_type", CLIENT_ASSERTION_TYPE],
    ["client_assertion", assertion],
  ]);
}

describe("client assertions under concurrency", () => {
  it("the same assertion sent 12 times at once, to the token endpoint and to resolve, succeeds exactly once", async () => {
    const { handleTokenRequest } = await import("@/lib/gateway-api/token-exchange");
    const { handleResolve } = await import("@/lib/gateway-api/resolve");
    const base = bed.frontdeskUrl;
    const subjectToken = await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
    const assertion = await signClientAssertion(bed.jwt, base);
    const viaToken = () => handleTokenRequest(exchangeRequest(subjectToken, assertion));
    const viaResolve = () => handleResolve(resolveRequest(base, { subject_token: subjectToken, provider: "notes" }, { authorization: `Bearer ${assertion}` }));
    const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? viaToken() : viaResolve())));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(11);

    const { flushAudit } = await import("@/lib/audit/append");
    await flushAudit();
    const { getDb } = await import("@/lib/db/client");
    // Unauthenticated failures are aggregated (lib/audit/failure-windows.ts): one chained event
    // for the window, a count of all 11 beside it.
    const { flushFailureWindows } = await import("@/lib/audit/failure-windows");
    await flushFailureWindows();
    const db = await getDb();
    const replays = await db.auditEvent.count({ where: { action: "gateway.auth_failed", reason: "assertion_replayed", gatewayId: bed.jwt.id } });
    expect(replays).toBeGreaterThanOrEqual(1);
    const windows = await db.auditFailureWindow.findMany({ where: { action: "gateway.auth_failed", reason: "assertion_replayed" } });
    expect(replays).toBe(windows.length);
    expect(windows.reduce((n, w) => n + w.count, 0)).toBe(11);
  });

  // The token endpoint reads while the jti is being stored (gateway-route.ts overlapSingleUse):
  // a replay must still have no effect. A user without a connection makes the one effect visible:
  // an elicitation with its audited decision.
  it("a replayed assertion at the token endpoint has no effect: one elicitation and one decision for 12 concurrent uses", async () => {
    const { handleTokenRequest } = await import("@/lib/gateway-api/token-exchange");
    const { flushAudit } = await import("@/lib/audit/append");
    const { getDb } = await import("@/lib/db/client");
    const db = await getDb();
    const base = bed.frontdeskUrl;
    const sub = `nobody-${Date.now()}`;
    const subjectToken = await bed.idp.signSubjectToken({ sub, aud: SUBJECT_AUDIENCE });
    const assertion = await signClientAssertion(bed.jwt, base);
    const send = () => handleTokenRequest(exchangeRequest(subjectToken, assertion));
    const responses = await Promise.all(Array.from({ length: 12 }, send));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 400)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(11);
    const consent = await responses.find((r) => r.status === 400)!.json();
    expect(consent.error).toBe("interaction_required");
    await flushAudit();
    const decisions = await db.auditEvent.findMany({ where: { action: "token_exchange", gatewayId: bed.jwt.id, context: { path: ["subject", "subject"], equals: sub } } });
    expect(decisions).toHaveLength(1);
    expect(await db.elicitation.count({ where: { userSubject: sub } })).toBe(1);
    // Sent again later, alone: a replay, and still nothing more happens.
    expect((await send()).status).toBe(401);
    await flushAudit();
    expect(await db.auditEvent.count({ where: { action: "token_exchange", gatewayId: bed.jwt.id, context: { path: ["subject", "subject"], equals: sub } } })).toBe(1);
    expect(await db.elicitation.count({ where: { userSubject: sub } })).toBe(1);
  });
});

describe("strict client credentials", () => {
  const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

  it("junk, base64url, missing padding, two headers, two methods: invalid_client at both endpoints; the canonical form works", async () => {
    const { handleTokenRequest } = await import("@/lib/gateway-api/token-exchange");
    const { handleResolve } = await import("@/lib/gateway-api/resolve");
    const base = bed.frontdeskUrl;
    const subjectToken = await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
    const { id, secret } = { id: bed.basic.id, secret: bed.basic.secret! };
    const good = basicAuth(id, secret);
    const encoded = good.slice(6);
    // Gateway ids and secrets are base64url text, whose base64 never has '+' or '/'; '~' (which
    // form-urlencoding keeps) makes base64 and base64url differ. The lenient parser decoded the
    // base64url to the same bytes (and then failed only on the secret comparison).
    const url = Buffer.from(`${id}:${secret}~~~`).toString("base64url");
    const exchange: [string, string][] = [
      ["grant_type", TOKEN_EXCHANGE_GRANT],
      ["subject_token", subjectToken],
      ["subject_token_type", ACCESS_TOKEN_TYPE],
      ["audience", "notes"],
    ];
    const assertion = () => signClientAssertion(bed.jwt, base);
    const cases: { name: string; headers: [string, string][]; form?: [string, string][] }[] = [
      { name: "junk inside the base64", headers: [["authorization", `Basic ${encoded.slice(0, 8)}!!${encoded.slice(8)}`]] },
      { name: "junk after the base64", headers: [["authorization", `${good}.junk`]] },
      { name: "a second token after the base64", headers: [["authorization", `${good} extra`]] },
      { name: "base64url", headers: [["authorization", `Basic ${url}`]] },
      { name: "base64 without its padding", headers: [["authorization", `Basic ${b64(`${id}:${secret}${"~".repeat(((1 - `${id}:${secret}`.length) % 3 + 3) % 3)}`).replace(/=+$/, "")}`]] },
      { name: "non-canonical trailing bits", headers: [["authorization", `Basic ${b64(`${id}:${secret}`).replace(/=$/, "").slice(0, -1)}B=`]] },
      { name: "raw (not form-encoded) malformed escape", headers: [["authorization", `Basic ${b64(`${id}:${secret}%ZZ`)}`]] },
      { name: "not UTF-8", headers: [["authorization", `Basic ${Buffer.concat([Buffer.from(`${id}:`), Buffer.from([0xff, 0xfe])]).toString("base64")}`]] },
      { name: "empty secret", headers: [["authorization", `Basic ${b64(`${id}:`)}`]] },
      { name: "a control character in the id", headers: [["authorization", `Basic ${b64(`${id}%0A:${secret}`)}`]] },
      { name: "two Authorization headers (Basic twice)", headers: [["authorization", good], ["authorization", good]] },
      { name: "Basic plus Bearer", headers: [["authorization", good], ["authorization", `Bearer ${encoded}`]] },
      { name: "an unknown scheme", headers: [["authorization", `Digest ${encoded}`]] },
      { name: "Basic plus form secret", headers: [["authorization", good]], form: [["client_id", bed.post.id], ["client_secret", bed.post.secret!]] },
    ];
    const problems: string[] = [];
    for (const c of cases) {
      const form = [...exchange, ...(c.form ?? [])];
      const tokenHeaders = new Headers({ "content-type": "application/x-www-form-urlencoded" });
      for (const [k, v] of c.headers) tokenHeaders.append(k, v);
      const tokenRes = await handleTokenRequest(new Request(`${base}/oauth/token`, { method: "POST", headers: tokenHeaders, body: new URLSearchParams(form).toString() }));
      const tokenBody = (await tokenRes.json()) as { error?: string; access_token?: string };
      if (tokenRes.status !== 401 || tokenBody.error !== "invalid_client" || tokenBody.access_token) problems.push(`token: ${c.name}: ${tokenRes.status} ${tokenBody.error}`);
      if (c.form) continue;
      const resolveHeaders = new Headers({ "content-type": "application/json" });
      for (const [k, v] of c.headers) resolveHeaders.append(k, v);
      const resolveRes = await handleResolve(new Request(`${base}/api/v1/resolve`, { method: "POST", headers: resolveHeaders, body: JSON.stringify({ subject_token: subjectToken, provider: "notes" }) }));
      const resolveBody = (await resolveRes.json()) as { error?: { code?: string } };
      if (resolveRes.status !== 401 || resolveBody.error?.code !== "invalid_client") problems.push(`resolve: ${c.name}: ${resolveRes.status} ${resolveBody.error?.code}`);
    }
    // Bearer (a client assertion) is accepted only on JSON endpoints, and never with a second method.
    const bearerAtToken = await handleTokenRequest(tokenRequest(base, exchange, { authorization: `Bearer ${await assertion()}` }));
    if (bearerAtToken.status !== 401) problems.push(`token: Bearer assertion in the header: ${bearerAtToken.status}`);
    const bearerPlusForm = await handleTokenRequest(
      tokenRequest(base, [...exchange, ["client_assertion_type", CLIENT_ASSERTION_TYPE], ["client_assertion", await assertion()]], { authorization: good }),
    );
    if (bearerPlusForm.status !== 401) problems.push(`token: Basic plus client_assertion: ${bearerPlusForm.status}`);
    expect(problems).toEqual([]);
    // Every case was refused by the parser, not by a secret comparison that happened to fail
    // (the lenient parser decoded several of them to the right id and a wrong secret).
    const { flushFailureWindows } = await import("@/lib/audit/failure-windows");
    await flushFailureWindows();
    const { getDb } = await import("@/lib/db/client");
    const reasons = await (await getDb()).auditFailureWindow.findMany({ where: { action: "gateway.auth_failed" }, select: { reason: true } });
    expect(reasons.map((r) => r.reason).filter((r) => !/^(malformed_|multiple_methods|unsupported_authorization|assertion_replayed)/.test(r))).toEqual([]);

    // The canonical form of the same credentials works, with a lower-case scheme too (RFC 7235).
    for (const authorization of [good, `basic ${encoded}`]) {
      const ok = await handleTokenRequest(tokenRequest(base, exchange, { authorization }));
      expect(ok.status).toBe(200);
      const okResolve = await handleResolve(resolveRequest(base, { subject_token: subjectToken, provider: "notes" }, { authorization }));
      expect(okResolve.status).toBe(200);
    }
    const { flushAudit } = await import("@/lib/audit/append");
    await flushAudit();
  }, 120_000);
});
