// `gateway` and `policy` CLI commands against real PostgreSQL: the secret is shown once and
// stored hashed, rotation invalidates the old secret, disable stops authentication, and policy
// rules are created for gateways and users.
import { describe, expect, it } from "vitest";
import { runCli } from "@/lib/cli/main";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();
process.env.FRONTDESK_URL = "http://frontdesk.test";

const run = async (argv: string[]) => {
  const out = await runCli([...argv, "--json"]);
  return { code: out.exitCode, data: out.exitCode === 0 ? JSON.parse(out.stdout) : null, stderr: out.stderr };
};

describe("gateway and policy commands", () => {
  it("add shows the secret once, stores a hash; rotate and disable take effect for authentication", async () => {
    const { authenticateGateway } = await import("@/lib/gateways/authenticate");
    const { getDb } = await import("@/lib/db/client");
    const added = await run(["gateway", "add", "edge-proxy"]);
    expect(added.code).toBe(0);
    expect(added.data.clientId).toMatch(/^gw_/);
    expect(added.data.clientSecret).toMatch(/^fdgs_/);
    const row = await (await getDb()).gateway.findUniqueOrThrow({ where: { id: added.data.clientId }, omit: { secretHash: false } });
    expect(row.secretHash).toMatch(/^sha256:/);
    expect(row.secretHash).not.toContain(added.data.clientSecret);
    const basic = (id: string, s: string) => `Basic ${Buffer.from(`${id}:${s}`).toString("base64")}`;
    await expect(authenticateGateway({ authorization: basic(added.data.clientId, added.data.clientSecret) })).resolves.toMatchObject({ id: added.data.clientId });

    const listed = await run(["gateway", "list"]);
    expect(JSON.stringify(listed.data)).not.toContain(added.data.clientSecret);
    expect(listed.data).toEqual([expect.objectContaining({ name: "edge-proxy", authMethod: "client_secret_basic", status: "active" })]);

    const rotated = await run(["gateway", "rotate-secret", "edge-proxy"]);
    expect(rotated.data.clientSecret).not.toBe(added.data.clientSecret);
    await expect(authenticateGateway({ authorization: basic(added.data.clientId, added.data.clientSecret) })).rejects.toMatchObject({ code: "invalid_client" });
    await expect(authenticateGateway({ authorization: basic(added.data.clientId, rotated.data.clientSecret) })).resolves.toBeTruthy();

    expect((await run(["gateway", "disable", added.data.clientId])).data.status).toBe("disabled");
    await expect(authenticateGateway({ authorization: basic(added.data.clientId, rotated.data.clientSecret) })).rejects.toMatchObject({
      details: expect.objectContaining({ reason: "gateway_disabled" }),
    });
    expect((await run(["gateway", "add", "edge-proxy"])).code).not.toBe(0);
    expect((await run(["gateway", "add", "keys", "--auth", "private_key_jwt"])).code).not.toBe(0);
  });

  it("policy allow creates gateway and user rules; list and remove", async () => {
    const { createProvider } = await import("@/lib/providers/create");
    await createProvider({ slug: "vault", displayName: "Vault", kind: "api_key", apiKeyHeader: "X-Vault-Token" });
    await run(["gateway", "add", "mcp-gw"]);
    const gw = await run(["policy", "allow", "vault", "--gateway", "mcp-gw", "--scopes", "read,write"]);
    expect(gw.code).toBe(0);
    expect(gw.data).toMatchObject({ scopes: ["read", "write"], gatewayId: expect.stringMatching(/^gw_/) });
    const users = await run(["policy", "allow", "vault", "--groups", "engineering"]);
    expect(users.data).toMatchObject({ gatewayId: null, groups: ["engineering"], scopes: ["*"] });
    expect((await run(["policy", "allow", "nope"])).code).not.toBe(0);
    expect((await run(["policy", "list"])).data).toHaveLength(2);
    expect((await run(["policy", "remove", gw.data.id])).code).toBe(0);
    expect((await run(["policy", "list"])).data).toHaveLength(1);
    expect((await run(["policy", "remove", gw.data.id])).code).not.toBe(0);
  });
});
