import { describe, expect, it } from "vitest";
import { matchesResourcePrefix } from "@/lib/providers/find";
import { providerInputSchema } from "@/lib/providers/input";
import { isPresetName, normalizeSlackTokenResponse, presetDefaults, presetNames, presetQuirks } from "@/lib/providers/presets";

const secrets = { clientId: "client", clientSecret: "secret-value" };

describe("provider input", () => {
  it("cross-app access is off by default, needs an issuer (the ID-JAG's audience) and an OAuth provider", () => {
    expect(providerInputSchema.parse({ slug: "a", displayName: "A", kind: "oidc", issuer: "https://x.example", ...secrets })).toMatchObject({ crossAppAccess: "off", crossAppAccessFallback: "deny" });
    const noIssuer = providerInputSchema.safeParse({
      slug: "a", displayName: "A", kind: "oauth2", authorizationEndpoint: "https://x.example/a", tokenEndpoint: "https://x.example/t", crossAppAccess: "always", ...secrets,
    });
    expect(noIssuer.success).toBe(false);
    const apiKey = providerInputSchema.safeParse({ slug: "a", displayName: "A", kind: "api_key", apiKeyHeader: "X-Key", crossAppAccess: "when_advertised" });
    expect(apiKey.success).toBe(false);
    expect(providerInputSchema.safeParse({ slug: "a", displayName: "A", kind: "oidc", issuer: "https://x.example", crossAppAccess: "sometimes", ...secrets }).success).toBe(false);
  });
  it("accepts an oidc provider and fills defaults", () => {
    const p = providerInputSchema.parse({ slug: "notes", displayName: "Notes", kind: "oidc", issuer: "https://notes.example", ...secrets });
    expect(p).toMatchObject({ tokenEndpointAuth: "client_secret_basic", defaultScopes: [], scopeSeparator: " ", allowInsecureHttp: false });
  });

  it("names what each kind is missing", () => {
    const oidc = providerInputSchema.safeParse({ slug: "a", displayName: "A", kind: "oidc", ...secrets });
    expect(oidc.error?.issues.map((i) => i.path.join("."))).toEqual(["issuer"]);
    const oauth2 = providerInputSchema.safeParse({ slug: "a", displayName: "A", kind: "oauth2", clientId: "c", clientSecret: "s" });
    expect(oauth2.error?.issues.map((i) => i.path.join(".")).sort()).toEqual(["authorizationEndpoint", "tokenEndpoint"]);
    const apiKey = providerInputSchema.safeParse({ slug: "a", displayName: "A", kind: "api_key" });
    expect(apiKey.error?.issues.map((i) => i.path.join("."))).toEqual(["apiKeyHeader"]);
    const noSecret = providerInputSchema.safeParse({ slug: "a", displayName: "A", kind: "oidc", issuer: "https://x.example", clientId: "c" });
    expect(noSecret.error?.issues.map((i) => i.path.join("."))).toEqual(["clientSecret"]);
    expect(providerInputSchema.safeParse({ slug: "a", displayName: "A", kind: "oidc", issuer: "https://x.example", clientId: "c", tokenEndpointAuth: "none" }).success).toBe(true);
  });

  it("refuses plain http unless explicitly allowed", () => {
    const base = { slug: "dev", displayName: "Dev", kind: "oidc", issuer: "http://localhost:9000", ...secrets } as const;
    const refused = providerInputSchema.safeParse(base);
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.message).toMatch(/https/);
    expect(providerInputSchema.safeParse({ ...base, allowInsecureHttp: true }).success).toBe(true);
  });

  it("is strict about unknown fields and slugs", () => {
    expect(providerInputSchema.safeParse({ slug: "a", displayName: "A", kind: "api_key", apiKeyHeader: "X-Key", extra: 1 }).success).toBe(false);
    for (const slug of ["", "-a", "A", "a_b", "a/b", "x".repeat(64)]) {
      expect(providerInputSchema.safeParse({ slug, displayName: "A", kind: "api_key", apiKeyHeader: "X-Key" }).success).toBe(false);
    }
  });
});

describe("presets", () => {
  it("every preset is a valid registration once a client id and secret are added", () => {
    for (const name of presetNames) {
      const defaults = presetDefaults(name, { tenant: "contoso.onmicrosoft.com" });
      const parsed = providerInputSchema.safeParse({ slug: name, ...defaults, ...secrets });
      expect(parsed.success, `${name}: ${parsed.error?.message}`).toBe(true);
      expect(defaults.preset).toBe(name);
      expect(isPresetName(name)).toBe(true);
    }
    expect(isPresetName("gitlab")).toBe(false);
  });

  it("carry each provider's quirks", () => {
    expect(presetDefaults("github").revocationEndpoint).toBeUndefined();
    expect(presetDefaults("google").extraAuthParams).toMatchObject({ access_type: "offline", prompt: "consent" });
    expect(presetDefaults("atlassian").extraAuthParams).toMatchObject({ audience: "api.atlassian.com", prompt: "consent" });
    expect(presetDefaults("atlassian").defaultScopes).toContain("offline_access");
    expect(presetDefaults("microsoft", { tenant: "1b2c3d4e-0000-4000-8000-000000000000" }).issuer).toBe(
      "https://login.microsoftonline.com/1b2c3d4e-0000-4000-8000-000000000000/v2.0",
    );
    expect(presetQuirks("slack").scopeParam).toBe("user_scope");
    expect(presetQuirks("github").scopeParam).toBe("scope");
    expect(presetQuirks(null).normalizeTokenResponse).toBeUndefined();
  });

  it("microsoft needs a specific tenant: the multi-tenant issuers never match an ID token's iss", () => {
    expect(() => presetDefaults("microsoft")).toThrow(/tenant/);
    for (const tenant of ["common", "organizations", "consumers", "a/b", "x".repeat(101)]) {
      expect(() => presetDefaults("microsoft", { tenant })).toThrow(/tenant/);
    }
  });

  it("lifts Slack's nested user token and maps ok:false to an OAuth error", () => {
    expect(
      normalizeSlackTokenResponse({
        ok: true,
        app_id: "A1",
        authed_user: { id: "U1", scope: "users:read,chat:write", access_token: "xoxp-1", token_type: "user", refresh_token: "xoxe-1", expires_in: 43200 },
        team: { id: "T1" },
      }),
    ).toEqual({ scope: "users:read,chat:write", access_token: "xoxp-1", token_type: "Bearer", refresh_token: "xoxe-1", expires_in: 43200 });
    expect(normalizeSlackTokenResponse({ ok: false, error: "invalid_code" })).toEqual({ error: "invalid_code" });
    const botOnly = { ok: true, access_token: "xoxb-1", token_type: "bot" };
    expect(normalizeSlackTokenResponse(botOnly)).toBe(botOnly);
  });
});

describe("resource prefixes", () => {
  it("match on the same origin at a path boundary only", () => {
    expect(matchesResourcePrefix("https://api.example.com/v1/notes", "https://api.example.com/v1")).toBe(true);
    expect(matchesResourcePrefix("https://api.example.com/v1", "https://api.example.com/v1/")).toBe(true);
    expect(matchesResourcePrefix("https://api.example.com/anything", "https://api.example.com/")).toBe(true);
    expect(matchesResourcePrefix("https://api.example.com/v10", "https://api.example.com/v1")).toBe(false);
    expect(matchesResourcePrefix("https://api.example.com.evil.test/v1", "https://api.example.com")).toBe(false);
    expect(matchesResourcePrefix("http://api.example.com/v1", "https://api.example.com/v1")).toBe(false);
    expect(matchesResourcePrefix("https://api.example.com:8443/v1", "https://api.example.com/v1")).toBe(false);
    expect(matchesResourcePrefix("not a url", "https://api.example.com")).toBe(false);
  });
});
