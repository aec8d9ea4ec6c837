// Setting a provider's refresh-token reuse grace (Provider.refreshReuseGraceSeconds, used by
// lib/grants/refresh-recovery.ts): through the admin library the provider page's action calls, the
// form field, and `frontdesk provider add --refresh-reuse-grace` / `provider refresh-grace`, on
// real PostgreSQL. Whole seconds from 0 to a day, validated by the provider schema, audited.
import { describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();
process.env.FRONTDESK_URL = "https://frontdesk.example.test";

const { runCli } = await import("@/lib/cli/main");
const { getDb } = await import("@/lib/db/client");
const { updateProvider } = await import("@/lib/admin/providers");
const { createProvider } = await import("@/lib/providers/create");
const { seconds } = await import("@/lib/admin/form-fields");

const actor = { type: "admin" as const, id: "usr_admin" };
const oidc = (slug: string) => ({ slug, displayName: slug, kind: "oidc" as const, issuer: "https://idp.example", clientId: "c", clientSecret: "s" });

async function changes(providerId: string) {
  const { flushAudit } = await import("@/lib/audit/append");
  await flushAudit();
  const rows = await (await getDb()).auditEvent.findMany({ where: { providerId, action: "admin.provider_updated" }, orderBy: { seq: "asc" } });
  return rows.map((e) => ({ actor: e.actorId, changed: (e.context as { changed: string[] }).changed }));
}

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
    expect(await changes(p.id)).toEqual([{ actor: "usr_admin", changed: ["refreshReuseGraceSeconds"] }]);
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
    expect(await changes(row.id)).toEqual([{ actor: "cli", changed: ["refreshReuseGraceSeconds"] }]);

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
