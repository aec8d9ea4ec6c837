import { describe, expect, it } from "vitest";
import { describeScope, formatScopeDescriptions, parseScopeDescriptions } from "@/lib/providers/scope-descriptions";
import { presetDefaults, presetNames } from "@/lib/providers/presets";

describe("scope descriptions", () => {
  it("prefers the provider's line, falls back to the standard OIDC ones, else nothing", () => {
    const own = { "notes:read": "Read your notes", email: "See your work e-mail" };
    expect(describeScope("notes:read", own)).toBe("Read your notes");
    expect(describeScope("email", own)).toBe("See your work e-mail");
    expect(describeScope("openid", own)).toBe("Confirm who you are");
    expect(describeScope("notes:write", own)).toBeUndefined();
    expect(describeScope("notes:read", "not an object")).toBeUndefined();
  });

  it("round-trips the admin form's text and names the bad line", () => {
    const parsed = parseScopeDescriptions("notes:read = Read your notes\n\n  repo = Read and change your repositories = all of them \n");
    expect(parsed).toEqual({ ok: true, value: { "notes:read": "Read your notes", repo: "Read and change your repositories = all of them" } });
    expect(parseScopeDescriptions(formatScopeDescriptions(parsed.ok ? parsed.value : {}))).toEqual(parsed);
    expect(parseScopeDescriptions("notes:read = fine\nno equals sign")).toEqual({ ok: false, message: expect.stringContaining("line 2") });
    expect(parseScopeDescriptions("= nameless")).toMatchObject({ ok: false });
    expect(parseScopeDescriptions(`s = ${"x".repeat(201)}`)).toMatchObject({ ok: false });
  });

  it("every preset describes every scope its request rules name", () => {
    for (const name of presetNames) {
      const preset = presetDefaults(name, { tenant: "example.onmicrosoft.com" });
      const scopes = [...Object.keys(preset.requestRules ?? {}), ...(preset.defaultScopes ?? [])].filter((s) => s !== "*");
      for (const scope of scopes) expect(describeScope(scope, preset.scopeDescriptions), `${name}: ${scope}`).toBeTruthy();
    }
  });
});
