// `frontdesk provider add|list|disable|enable` in-process on real PostgreSQL.
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();
process.env.FRONTDESK_URL = "https://frontdesk.example.test";

const { runCli } = await import("@/lib/cli/main");
const { getDb } = await import("@/lib/db/client");
const { openClientSecret } = await import("@/lib/providers/secret");

const secretFile = path.join(mkdtempSync(path.join(os.tmpdir(), "frontdesk-cli-")), "secret");
writeFileSync(secretFile, "github-client-secret-value\n");

describe("provider add", () => {
  it("adds a preset provider with the secret from a file, sealed, and prints its redirect URI", async () => {
    const out = await runCli(["provider", "add", "github", "--preset", "github", "--client-id", "Iv1.abc", "--client-secret-file", secretFile, "--json"]);
    expect(out.exitCode).toBe(0);
    const data = JSON.parse(out.stdout);
    expect(data).toMatchObject({
      slug: "github",
      kind: "oauth2",
      preset: "github",
      authorizationEndpoint: "https://github.com/login/oauth/authorize",
      redirectUri: "https://frontdesk.example.test/api/oauth/callback/github",
    });
    expect(out.stdout).not.toContain("github-client-secret-value");
    const db = await getDb();
    const row = await db.provider.findUnique({ where: { slug: "github" }, select: { id: true, clientSecretCipher: true } });
    expect(row?.clientSecretCipher).not.toContain("github-client-secret-value");
    expect(await openClientSecret(row!.id)).toBe("github-client-secret-value");
    expect(await db.auditEvent.count({ where: { action: "admin.provider_created", providerId: row!.id } })).toBe(1);
  });

  it("adds an API-key provider from options alone", async () => {
    const out = await runCli(["provider", "add", "weather", "--kind", "api_key", "--name", "Weather", "--api-key-header", "X-Api-Key", "--resource", "https://api.weather.example/v1"]);
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toContain("Added provider weather");
    expect(out.stdout).not.toContain("Redirect URI");
  });

  it("explains usage errors with exit code 2", async () => {
    expect((await runCli(["provider", "add", "github", "--preset", "github", "--client-id", "x", "--client-secret-file", secretFile])).exitCode).toBe(2);
    expect((await runCli(["provider", "add", "x", "--preset", "gitlab"])).stderr).toMatch(/unknown preset/);
    expect((await runCli(["provider", "add", "ms", "--preset", "microsoft", "--client-id", "x", "--client-secret-file", secretFile])).stderr).toMatch(/tenant/);
    const insecure = await runCli(["provider", "add", "dev", "--kind", "oidc", "--issuer", "http://localhost:9", "--client-id", "x", "--client-secret-file", secretFile]);
    expect(insecure.exitCode).toBe(2);
    expect(insecure.stderr).toMatch(/https/);
    expect((await runCli(["provider", "add", "nokind"])).exitCode).toBe(2);
  });
});

describe("provider list and disable", () => {
  it("lists providers, disables and enables one", async () => {
    const list = JSON.parse((await runCli(["provider", "list", "--json"])).stdout) as { slug: string; status: string }[];
    expect(list.map((p) => p.slug)).toEqual(["github", "weather"]);
    expect(JSON.stringify(list)).not.toContain("Cipher");
    expect((await runCli(["provider", "disable", "weather"])).stdout).toContain("weather is now disabled");
    expect((await runCli(["provider", "list"])).stdout).toMatch(/weather\s+api_key\s+disabled/);
    expect((await runCli(["provider", "enable", "weather"])).exitCode).toBe(0);
    expect((await runCli(["provider", "disable", "nope"])).exitCode).toBe(2);
  });
});
