// Invariant 9 (design.md section 7), the parts that are pure configuration and code:
// redirects only to same-origin paths (toSameOriginPath and next-auth's redirect callback),
// secure session cookies over https (__Host-, Secure, HttpOnly, SameSite=Lax, Path=/, no
// Domain), and frame-ancestors 'none' on every path. The browser-level checks (the headers on
// a served page, CSRF on real POSTs, the admin role on every admin page) are in the e2e suite.
import { beforeAll, describe, expect, it } from "vitest";

beforeAll(() => {
  process.env.FRONTDESK_URL = "https://frontdesk.example.test";
  process.env.OIDC_ISSUER = "https://idp.example.test";
  process.env.OIDC_CLIENT_ID = "portal";
  process.env.OIDC_CLIENT_SECRET = "portal-secret";
  process.env.AUTH_SECRET = "unit-auth-secret-0123456789abcdef0123456789";
});

// Each is a way to leave the origin (or to smuggle something past a naive prefix check).
const OFF_SITE = [
  "//evil.example/x",
  "///evil.example",
  "/\\evil.example",
  "\\\\evil.example",
  "https://evil.example/",
  "http:evil.example",
  "javascript:alert(1)",
  "data:text/html,x",
  "evil.example",
  "/.//evil.example",
  "/./../..//evil.example",
  "/a/..//evil.example",
  "/%2e//evil.example",
  "/%2E%2E//evil.example",
  "/\t/evil.example",
  "/\n/evil.example",
  "/\r\n//evil.example",
  "/\u0000",
  " /connections",
  "",
  "x".repeat(2001),
];

describe("toSameOriginPath", () => {
  it("keeps same-origin paths with their query and fragment", async () => {
    const { toSameOriginPath } = await import("@/lib/auth/safe-redirect");
    expect(toSameOriginPath("/connect/eli_abc?x=1#y")).toBe("/connect/eli_abc?x=1#y");
    expect(toSameOriginPath("/admin/audit?user=usr_1&page=2")).toBe("/admin/audit?user=usr_1&page=2");
    expect(toSameOriginPath("/a/../connections")).toBe("/connections");
    // Encoded slashes stay encoded: a browser does not read them as an authority.
    expect(toSameOriginPath("/%2F%2Fevil.example")).toBe("/%2F%2Fevil.example");
  });

  it.each(OFF_SITE.map((v) => [JSON.stringify(v).slice(0, 40), v]))("refuses %s", async (_name, value) => {
    const { toSameOriginPath } = await import("@/lib/auth/safe-redirect");
    const result = toSameOriginPath(value);
    expect(result).toBe("/");
  });

  it("never returns something a browser would resolve to another origin, for any input above", async () => {
    const { toSameOriginPath } = await import("@/lib/auth/safe-redirect");
    for (const value of OFF_SITE) {
      const resolved = new URL(toSameOriginPath(value), "https://frontdesk.example.test/some/page");
      expect({ value, origin: resolved.origin }).toEqual({ value, origin: "https://frontdesk.example.test" });
    }
  });

  it("refuses non-strings", async () => {
    const { toSameOriginPath } = await import("@/lib/auth/safe-redirect");
    for (const value of [undefined, null, 42, ["/x"], { href: "/x" }]) expect(toSameOriginPath(value)).toBe("/");
  });
});

describe("next-auth redirect callback", () => {
  it("sends sign-in and sign-out only to paths on Frontdesk's own origin", async () => {
    const { buildAuthConfig } = await import("@/lib/auth/config");
    const redirect = buildAuthConfig().callbacks!.redirect!;
    const baseUrl = "https://frontdesk.example.test";
    const call = (url: string) => redirect({ url, baseUrl }) as string;
    expect(call(`${baseUrl}/connect/eli_x?y=1`)).toBe(`${baseUrl}/connect/eli_x?y=1`);
    expect(call("/connections")).toBe(`${baseUrl}/connections`);
    for (const url of [
      ...OFF_SITE,
      `${baseUrl}.evil.example/x`,
      `${baseUrl}@evil.example/x`,
      `${baseUrl}//evil.example`,
      `${baseUrl}/.//evil.example`,
      `${baseUrl}:8443/x`,
      "https://frontdesk.example.test.evil.example",
    ]) {
      const target = call(url);
      expect({ url, origin: new URL(target).origin }).toEqual({ url, origin: baseUrl });
      expect({ url, target }).toEqual({ url, target: `${baseUrl}/` });
    }
  });
});

describe("session cookie over https", () => {
  it("is __Host-, Secure, HttpOnly, SameSite=Lax, Path=/ and has no Domain; next-auth's other cookies are secure too", async () => {
    const { buildAuthConfig } = await import("@/lib/auth/config");
    const config = buildAuthConfig();
    const session = config.cookies?.sessionToken;
    expect(session?.name).toBe("__Host-frontdesk.session-token");
    expect(session?.options).toEqual({ httpOnly: true, sameSite: "lax", path: "/", secure: true });
    expect(session?.options).not.toHaveProperty("domain");
    // next-auth prefixes its csrf, callback-url, pkce, state and nonce cookies and sets Secure.
    expect(config.useSecureCookies).toBe(true);
    expect(config.session).toMatchObject({ strategy: "database" });
  });
});

describe("framing and other response headers", () => {
  it("every path gets frame-ancestors 'none' and X-Frame-Options DENY (server.ts applies the same list)", async () => {
    const nextConfig = (await import("@/next.config")).default;
    const rules = (await nextConfig.headers!()) ?? [];
    const everyPath = rules.filter((r) => r.source === "/:path*");
    expect(everyPath).toHaveLength(1);
    const headers = Object.fromEntries(everyPath[0]!.headers.map((h) => [h.key.toLowerCase(), h.value]));
    const csp = headers["content-security-policy"]!.split(";").map((d) => d.trim());
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("base-uri 'none'");
    expect(headers["x-frame-options"]).toBe("DENY");
    expect(headers["referrer-policy"]).toBe("no-referrer");
    expect(headers["x-content-type-options"]).toBe("nosniff");
    // No rule for a narrower path overrides these with something weaker.
    for (const r of rules) for (const h of r.headers) if (/frame/i.test(h.key) || /frame-ancestors/.test(h.value)) expect(h.value).toMatch(/DENY|frame-ancestors 'none'/);
  });
});
