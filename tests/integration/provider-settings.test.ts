// A provider's settings beyond its endpoints, through the admin library the provider page's
// server action calls and through the CLI, on real PostgreSQL. Each validates with the provider
// schema and audits the names of what changed:
// - egress (issue 14): the request rules per scope and allowPrivateNetwork (lib/providers/input.ts
//   -> lib/egress/request-rules.ts), `frontdesk provider add|egress`; they reach the egress
//   proxy's provider cache at once;
// - the refresh-token reuse grace (Provider.refreshReuseGraceSeconds, used by
//   lib/grants/refresh-recovery.ts): whole seconds from 0 to a day, `frontdesk provider add
//   --refresh-reuse-grace` / `provider refresh-grace`.
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { RequestRules } from "@/lib/egress/request-rules";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();
process.env.FRONTDESK_URL = "https://frontdesk.example.test";

const { runCli } = await import("@/lib/cli/main");
const { getDb } = await import("@/lib/db/client");
const { updateProvider } = await import("@/lib/admin/providers");
const { createProvider } = await import("@/lib/providers/create");
const { findProviderBySlugCached } = await import("@/lib/gateway-api/providers");
const { parseRequestRules, checkRequestRules } = await import("@/lib/egress/request-rules");
const { jsonText, seconds } = await import("@/lib/admin/form-fields");
const { requestRulesSchema } = await import("@/lib/egress/request-rules");

const actor = { type: "admin" as const, id: "usr_admin" };
const dir = mkdtempSync(path.join(os.tmpdir(), "frontdesk-egress-cli-"));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
const READ_ONLY: RequestRules = { "wiki:read": [{ methods: ["GET", "HEAD"], paths: ["/pages", "/pages/*"] }] };

async function auditsOf(providerId: string) {
  const { flushAudit } = await import("@/lib/audit/append");
  await flushAudit();
  const db = await getDb();
  return db.auditEvent.findMany({ where: { providerId, action: "admin.provider_updated" }, orderBy: { seq: "asc" } });
}

/** Who changed which fields of the provider, in order (its admin.provider_updated audit rows). */
async function changesOf(providerId: string) {
  return (await auditsOf(providerId)).map((e) => ({ actor: e.actorId, changed: (e.context as { changed: string[] }).changed }));
}

describe("egress settings: admin edit (the provider page's action calls this)", () => {
  it("sets request rules and allowPrivateNetwork, audits the changed names, and the proxy's cache sees them at once", async () => {
    const p = await createProvider({ slug: "wiki", displayName: "Wiki", kind: "api_key", apiKeyHeader: "X-Api-Key", resourceUrls: ["https://wiki.example/api"] }, actor);
    const cachedBefore = await findProviderBySlugCached("wiki");
    expect(checkRequestRules(parseRequestRules(cachedBefore!.requestRules).rules, ["wiki:read"], "GET", "/pages").allowed).toBe(false);

    const { changed } = await updateProvider(p.id, { requestRules: READ_ONLY, allowPrivateNetwork: true }, actor);
    expect(changed.sort()).toEqual(["allowPrivateNetwork", "requestRules"]);
    const cached = await findProviderBySlugCached("wiki");
    expect(cached?.allowPrivateNetwork).toBe(true);
    const rules = parseRequestRules(cached!.requestRules).rules;
    expect(checkRequestRules(rules, ["wiki:read"], "GET", "/pages/home").allowed).toBe(true);
    expect(checkRequestRules(rules, ["wiki:read"], "DELETE", "/pages/home").allowed).toBe(false);
    expect((await auditsOf(p.id)).map((e) => e.context)).toEqual([{ changed: ["requestRules", "allowPrivateNetwork"] }]);
    // Saving the same values changes nothing; other edits keep them.
    expect((await updateProvider(p.id, { requestRules: READ_ONLY }, actor)).changed).toEqual([]);
    expect((await updateProvider(p.id, { displayName: "Team wiki" }, actor)).provider).toMatchObject({ allowPrivateNetwork: true, requestRules: READ_ONLY });
  });

  it("refuses malformed rules with the field named, and stores nothing", async () => {
    const p = (await findProviderBySlugCached("wiki"))!;
    const bad: unknown[] = [
      { "wiki:read": [{ methods: ["FETCH"], paths: ["/pages"] }] },
      { "wiki:read": [{ methods: ["GET"], paths: ["pages"] }] },
      { "wiki:read": { methods: ["GET"] } },
    ];
    for (const rules of bad) {
      await expect(updateProvider(p.id, { requestRules: rules as never }, actor)).rejects.toMatchObject({ code: "invalid_body", message: expect.stringContaining("requestRules") });
    }
    const db = await getDb();
    expect((await db.provider.findUniqueOrThrow({ where: { id: p.id } })).requestRules).toEqual(READ_ONLY);
  });

  it("the form field: empty clears, text must be JSON in the rules' shape", () => {
    const field = jsonText(64 * 1024, requestRulesSchema);
    expect(field.parse("")).toBeUndefined();
    expect(field.parse(JSON.stringify(READ_ONLY))).toEqual(READ_ONLY);
    expect(field.safeParse("{ not json").error?.issues[0]?.message).toBe("not valid JSON");
    expect(field.safeParse('{"wiki:read": [{"methods": ["GET"], "paths": ["relative"]}]}').success).toBe(false);
    expect(field.safeParse("x".repeat(64 * 1024 + 1)).success).toBe(false);
  });
});

describe("egress settings: CLI", () => {
  it("provider add takes --request-rules-file and --allow-private-network, and warns", async () => {
    const out = await runCli([
      "provider",
      "add",
      "onprem",
      "--kind",
      "api_key",
      "--api-key-header",
      "X-Api-Key",
      "--resource",
      "https://intranet.example/api",
      "--request-rules-file",
      file("rules.json", JSON.stringify(READ_ONLY)),
      "--allow-private-network",
    ]);
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toContain("Added provider onprem");
    expect(out.stderr).toMatch(/WARNING: .*private and loopback/);
    const listed = JSON.parse((await runCli(["provider", "list", "--json"])).stdout) as { slug: string }[];
    expect(listed.find((p) => p.slug === "onprem")).toMatchObject({ allowPrivateNetwork: true, requestRules: READ_ONLY });
  });

  it("provider egress shows, replaces, clears and denies; each change audited", async () => {
    const shown = await runCli(["provider", "egress", "onprem"]);
    expect(shown.exitCode).toBe(0);
    expect(shown.stdout).toContain("Private network: allowed");
    expect(shown.stdout).toContain('"wiki:read"');

    const wider = { ...READ_ONLY, "wiki:write": [{ methods: ["POST", "PUT"], paths: ["/pages/**"] }] };
    const set = await runCli(["provider", "egress", "onprem", "--request-rules-file", file("wider.json", JSON.stringify(wider)), "--deny-private-network", "--json"]);
    expect(set.exitCode).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ allowPrivateNetwork: false, requestRules: wider, changed: ["requestRules", "allowPrivateNetwork"] });
    expect(set.stderr).not.toMatch(/private and loopback/);

    const cleared = await runCli(["provider", "egress", "onprem", "--clear-request-rules"]);
    expect(cleared.stdout).toContain("Request rules: none (the egress proxy forwards nothing)");
    const db = await getDb();
    const row = await db.provider.findUniqueOrThrow({ where: { slug: "onprem" } });
    expect(row).toMatchObject({ allowPrivateNetwork: false, requestRules: {} });
    expect((await auditsOf(row.id)).map((e) => (e.context as { changed: string[] }).changed)).toEqual([["requestRules", "allowPrivateNetwork"], ["requestRules"]]);
    expect((await auditsOf(row.id)).every((e) => e.actorType === "admin" && e.actorId === "cli")).toBe(true);
  });

  it("usage errors exit 2 and change nothing", async () => {
    const cases = [
      ["provider", "egress", "nope"],
      ["provider", "egress", "onprem", "--allow-private-network", "--deny-private-network"],
      ["provider", "egress", "onprem", "--request-rules-file", file("r.json", "{}"), "--clear-request-rules"],
      ["provider", "egress", "onprem", "--request-rules-file", file("broken.json", "{ nope")],
      ["provider", "egress", "onprem", "--request-rules-file", path.join(dir, "missing.json")],
      ["provider", "egress", "onprem", "--request-rules-file", file("shape.json", '{"x": [{"methods": ["BREW"], "paths": ["/"]}]}')],
    ];
    for (const args of cases) {
      const out = await runCli(args);
      expect(out.exitCode, args.join(" ")).toBe(2);
    }
    const db = await getDb();
    expect(await db.provider.findUniqueOrThrow({ where: { slug: "onprem" } })).toMatchObject({ allowPrivateNetwork: false, requestRules: {} });
  });
});

const oidc = (slug: string) => ({ slug, displayName: slug, kind: "oidc" as const, issuer: "https://idp.example", clientId: "c", clientSecret: "s" });

describe("refresh-token reuse grace", () => {
  it("admin edit: 0 by default, set and audited, out-of-range values refused with the field named", async () => {
    const p = await createProvider(oidc("okta-like"), actor);
    expect(p.refreshReuseGraceSeconds).toBe(0);
    const { changed, provider } = await updateProvider(p.id, { refreshReuseGraceSeconds: 30 }, actor);
    expect(changed).toEqual(["refreshReuseGraceSeconds"]);
    expect(provider.refreshReuseGraceSeconds).toBe(30);
    for (const bad of [-1, 1.5, 86_401]) {
      await expect(updateProvider(p.id, { refreshReuseGraceSeconds: bad }, actor)).rejects.toThrow(/refreshReuseGraceSeconds/);
    }
    expect((await (await getDb()).provider.findUniqueOrThrow({ where: { id: p.id } })).refreshReuseGraceSeconds).toBe(30);
    expect(await changesOf(p.id)).toEqual([{ actor: "usr_admin", changed: ["refreshReuseGraceSeconds"] }]);
  });

  it("the form field: empty is 0, digits are seconds, anything else is refused", () => {
    expect(seconds(86_400).parse("")).toBe(0);
    expect(seconds(86_400).parse("45")).toBe(45);
    for (const bad of ["abc", "-5", "2.5", "86401"]) expect(seconds(86_400).safeParse(bad).success, bad).toBe(false);
  });

  it("CLI: provider add --refresh-reuse-grace, provider refresh-grace shows and sets (audited), usage errors exit 2", async () => {
    const added = await runCli(["provider", "add", "auth0-like", "--kind", "oauth2", "--authorization-endpoint", "https://a.example/authorize", "--token-endpoint", "https://a.example/token", "--client-id", "c", "--token-auth", "none", "--refresh-reuse-grace", "20", "--json"]);
    expect(added.exitCode, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ slug: "auth0-like", refreshReuseGraceSeconds: 20 });

    const shown = await runCli(["provider", "refresh-grace", "auth0-like"]);
    expect(shown.stdout).toContain("Refresh-token reuse grace: 20 s");
    const off = await runCli(["provider", "refresh-grace", "auth0-like", "--seconds", "0"]);
    expect(off.exitCode).toBe(0);
    expect(off.stdout).toContain("Updated auth0-like: refreshReuseGraceSeconds");
    expect(off.stdout).toContain("Refresh-token reuse grace: none");
    const row = await (await getDb()).provider.findUniqueOrThrow({ where: { slug: "auth0-like" } });
    expect(row.refreshReuseGraceSeconds).toBe(0);
    expect(await changesOf(row.id)).toEqual([{ actor: "cli", changed: ["refreshReuseGraceSeconds"] }]);

    for (const args of [
      ["provider", "refresh-grace", "nope", "--seconds", "5"],
      ["provider", "refresh-grace", "auth0-like", "--seconds", "soon"],
      ["provider", "refresh-grace", "auth0-like", "--seconds", "90000"],
      ["provider", "add", "x-like", "--kind", "oidc", "--issuer", "https://x.example", "--client-id", "c", "--token-auth", "none", "--refresh-reuse-grace", "-1"],
    ]) {
      expect((await runCli(args)).exitCode, args.join(" ")).toBe(2);
    }
    expect((await (await getDb()).provider.findUniqueOrThrow({ where: { slug: "auth0-like" } })).refreshReuseGraceSeconds).toBe(0);
  });
});
