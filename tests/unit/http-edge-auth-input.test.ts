// lib/http-edge/auth-input.ts against the real Auth.js (@auth/core, as next-auth runs it): every
// callback-url cookie or callbackUrl parameter that makes Auth.js answer 500 is dropped (cookie)
// or refused (parameter) by the edge, and what the edge lets through never gets a 500. Over a
// running server: tests/integration/bad-input-corpus.test.ts.
import { Auth, type AuthConfig } from "@auth/core";
import { describe, expect, it } from "vitest";
import { dropTamperedAuthCookies, hasUnusableAuthCallbackUrl, isUsableCallbackUrl } from "@/lib/http-edge/auth-input";
import { checkRequestEdge } from "@/lib/http-edge/check-request";

const ORIGIN = "http://localhost:3000";
const config: AuthConfig = {
  secret: "s".repeat(32),
  trustHost: true,
  basePath: "/api/auth",
  providers: [{ id: "idp", name: "IdP", type: "oidc", issuer: "https://idp.example", clientId: "c", clientSecret: "s" }],
  // Auth.js logs the configuration error it answers 500 for; the test reads the status.
  logger: { error: () => undefined, warn: () => undefined, debug: () => undefined },
};

async function authStatus(path: string, cookie?: string): Promise<number> {
  const response = await Auth(new Request(`${ORIGIN}${path}`, { headers: cookie ? { cookie } : {} }), config);
  return response.status;
}

const CALLBACK_VALUES = [
  "%ZZ",
  "%",
  "%E0%A4%A",
  "javascript:alert(1)",
  "javascript%3Aalert(1)",
  "data:text/html,x",
  "http://[",
  "evil.example",
  "%00",
  "/ok",
  "/%ZZ",
  "//evil.example",
  "%2F%2Fevil.example",
  "https%3A%2F%2Fevil.example%2F",
  "http://localhost:3000/connections",
];
const AUTH_ROUTES = ["/api/auth/session", "/api/auth/providers", "/api/auth/csrf"];

describe("next-auth inputs at the edge", () => {
  it("Auth.js answers 500 for some callback-url cookies; with the edge's Cookie header none of them does", async () => {
    let fiveHundreds = 0;
    for (const route of AUTH_ROUTES) {
      for (const value of CALLBACK_VALUES) {
        for (const name of ["authjs.callback-url", "__Secure-authjs.callback-url"]) {
          const cookie = `theme=dark; ${name}=${value}; other=1`;
          const before = await authStatus(route, cookie);
          if (before >= 500) fiveHundreds++;
          const after = dropTamperedAuthCookies(cookie);
          // Dropped whenever Auth.js would fail (also a malformed escape it would read raw, "/%ZZ").
          if (before >= 500) expect(after, `${value} dropped`).not.toBeNull();
          expect(await authStatus(route, after ?? cookie), `${route} ${cookie}`).toBeLessThan(500);
          if (after !== null) expect(after).toBe("theme=dark; other=1");
        }
      }
    }
    // The edge exists for these: the library still answers 500 without it.
    expect(fiveHundreds).toBeGreaterThan(0);
  });

  it("drops any next-auth cookie with a malformed percent-escape, and only those", () => {
    expect(dropTamperedAuthCookies("authjs.csrf-token=%ZZ%7C%ZZ; a=%ZZ")).toBe("a=%ZZ");
    expect(dropTamperedAuthCookies("__Host-authjs.csrf-token=%; frontdesk.session-token=%E0%A4%A")).toBe("");
    expect(dropTamperedAuthCookies("__Host-frontdesk.session-token=%C3%28")).toBe("");
    expect(dropTamperedAuthCookies("authjs.csrf-token=abc%7Cdef; authjs.callback-url=http%3A%2F%2Flocalhost%3A3000%2F")).toBeNull();
    expect(dropTamperedAuthCookies("a=b; a=c; =; ;;")).toBeNull();
    expect(dropTamperedAuthCookies("session=%ZZ")).toBeNull(); // not next-auth's: left to its reader
    expect(dropTamperedAuthCookies("authjs.callback-url=")).toBeNull();
  });

  it("refuses an /api/auth/* callbackUrl Auth.js cannot use, and only there", async () => {
    for (const value of CALLBACK_VALUES) {
      const query = `callbackUrl=${encodeURIComponent(value)}`;
      const before = await authStatus(`/api/auth/session?${query}`);
      expect(hasUnusableAuthCallbackUrl("/api/auth/session", query), value).toBe(before >= 500);
      expect(isUsableCallbackUrl(value)).toBe(before < 500);
    }
    expect(hasUnusableAuthCallbackUrl("/api/auth/callback/idp", "callbackUrl=/ok&callbackUrl=javascript:alert(1)")).toBe(true);
    expect(hasUnusableAuthCallbackUrl("/api/auth/callback/idp", "callbackUrl=")).toBe(false);
    expect(hasUnusableAuthCallbackUrl("/sign-in", "callbackUrl=javascript:alert(1)")).toBe(false);

    const verdict = checkRequestEdge({ method: "GET", url: "/api/auth/callback/idp?callbackUrl=javascript:alert(1)", rawHeaders: ["Host", "localhost:3000"] });
    expect(verdict).toMatchObject({ ok: false, rejection: { status: 400, code: "invalid_request" } });
    expect(checkRequestEdge({ method: "GET", url: "/api/auth/signin?callbackUrl=%2Fconnections", rawHeaders: ["Host", "localhost:3000"] })).toMatchObject({ ok: true });
  });
});
