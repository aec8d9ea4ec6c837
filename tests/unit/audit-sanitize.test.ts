import { describe, expect, it } from "vitest";
import { prepareAuditEvent } from "@/lib/audit/append";
import { LIMITS, REDACTED, sanitizeContext, scrubText } from "@/lib/audit/sanitize";

const JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsImF1ZCI6Imd3In0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
const JWE = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ";

describe("sanitizeContext", () => {
  it("redacts values under secret-looking keys at any depth, keeping the key", () => {
    const out = sanitizeContext({
      access_token: "at-1",
      refreshToken: "rt-1",
      clientSecret: "cs-1",
      password: "pw-1",
      Authorization: "Basic dXNlcjpwYXNz",
      cookie: "a=b",
      client_assertion: JWT,
      code: "auth-code-1",
      codeVerifier: "v-1",
      apiKey: "k-1",
      nested: { deeper: [{ id_token: "it-1" }], sessionToken: "st-1", tool: "create_issue" },
    });
    const text = JSON.stringify(out);
    for (const secret of ["at-1", "rt-1", "cs-1", "pw-1", "dXNlcjpwYXNz", "a=b", JWT, "auth-code-1", "v-1", "k-1", "it-1", "st-1"]) {
      expect(text).not.toContain(secret);
    }
    expect(out.access_token).toBe(REDACTED);
    expect(out.nested).toEqual({ deeper: [{ id_token: REDACTED }], sessionToken: REDACTED, tool: "create_issue" });
  });

  it("redacts JWTs, JWEs, bearer credentials and known token formats inside any string", () => {
    const out = sanitizeContext({
      note: `got ${JWT} back`,
      encrypted: JWE,
      header: `Bearer opaque.token-value_123`,
      list: ["gho_16C7e42F292c6912E7710c838347Ae178B4a", "xoxb-1234567890-abcdefghij", "ya29.a0AfH6SMBx-abcdefghij", "sk-abcdefghijklmnop1234"],
      aws: "AKIAIOSFODNN7EXAMPLE",
      url: "https://user:hunter2@api.example.test/cb?code=abc&state=xyz&page=2",
    });
    const text = JSON.stringify(out);
    for (const secret of [JWT, JWE.slice(0, 40), "opaque.token-value_123", "gho_16C7", "xoxb-1234567890", "ya29.a0AfH6", "sk-abcdef", "AKIAIOSFODNN7EXAMPLE", "hunter2", "code=abc", "state=xyz"]) {
      expect(text).not.toContain(secret);
    }
    expect(out.header).toBe("Bearer [redacted]");
    expect(out.url).toBe("https://[redacted]@api.example.test/cb?code=[redacted]&state=[redacted]&page=2");
  });

  it("keeps ordinary context intact", () => {
    const ctx = { agentId: "agent-7", sessionId: "ses_1", elicitationId: "eli_1", mcpServer: "github", tool: "create_issue", scopes: ["repo", "read:org"], labels: { team: "infra" }, n: 3, ok: true, none: null };
    expect(sanitizeContext(ctx)).toEqual(ctx);
  });

  it("bounds depth, keys, array length, string length and total size", () => {
    const deep = sanitizeContext({ a: { b: { c: { d: { e: { f: 1 } } } } } });
    expect(JSON.stringify(deep)).toContain("[truncated:depth]");
    const wide = sanitizeContext(Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i])));
    expect(Object.keys(wide)).toHaveLength(LIMITS.keysPerObject + 1);
    const long = sanitizeContext({ list: Array.from({ length: 100 }, (_, i) => i), text: "x".repeat(10_000) });
    expect(long.list).toHaveLength(LIMITS.arrayItems + 1);
    expect((long.text as string).length).toBeLessThan(LIMITS.stringLength + 20);
    const huge = sanitizeContext(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, "y".repeat(500)])));
    expect(Buffer.byteLength(JSON.stringify(huge))).toBeLessThanOrEqual(LIMITS.contextBytes);
    expect(Object.keys(huge)).toEqual(["[truncated]"]);
  });

  it("turns non-JSON values into storable ones and cannot be tricked by __proto__ or cycles", () => {
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    const out = sanitizeContext({
      big: 12345678901234567890n,
      when: new Date("2026-01-02T03:04:05.678Z"),
      nan: Number.NaN,
      fn: () => 1,
      undef: undefined,
      err: new Error("boom Bearer abcdefgh"),
      map: new Map([["a", 1]]),
      cyclic,
      ...JSON.parse('{"__proto__": {"polluted": true}}'),
    });
    expect(out.big).toBe("12345678901234567890");
    expect(out.when).toBe("2026-01-02T03:04:05.678Z");
    expect(out.nan).toBeNull();
    expect("fn" in out || "undef" in out).toBe(false);
    expect(out.err).toEqual({ name: "Error", message: "boom Bearer [redacted]" });
    expect(out.map).toBe("[unsupported]");
    expect(JSON.stringify(out.cyclic)).toContain("[truncated:depth]");
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("makes strings storable in PostgreSQL: no NUL, no lone surrogates", () => {
    expect(scrubText("a\u0000b")).toBe("ab");
    expect(scrubText("x\ud800y")).toBe("x\ufffdy");
    expect(sanitizeContext({ "k\u0000": "\udc00" })).toEqual({ k: "\ufffd" });
  });
});

describe("prepareAuditEvent", () => {
  it("scrubs the reason and ids, and gives every event its own evt_ id", () => {
    const a = prepareAuditEvent({
      actorType: "gateway",
      actorId: JWT,
      action: "resolve",
      decision: "deny",
      reason: `upstream 401 for Bearer ${"z".repeat(40)}`,
    });
    const b = prepareAuditEvent({ actorType: "system", action: "resolve", decision: "info" });
    expect(a.reason).toBe("upstream 401 for Bearer [redacted]");
    expect(a.actorId).toBe("[redacted:jwt]");
    expect(a.id).toMatch(/^evt_/);
    expect(a.id).not.toBe(b.id);
    expect(b).toMatchObject({ actorId: null, userId: null, reason: null, context: {} });
  });

  it("rejects malformed events", () => {
    expect(() => prepareAuditEvent({ actorType: "system", action: "", decision: "info" })).toThrow(/action/);
    expect(() => prepareAuditEvent({ actorType: "system", action: "Resolve", decision: "info" })).toThrow(/action/);
    expect(() => prepareAuditEvent({ actorType: "system", action: "a..b", decision: "info" })).toThrow(/action/);
    expect(() => prepareAuditEvent({ actorType: "root" as never, action: "a", decision: "info" })).toThrow(/actorType/);
  });
});
