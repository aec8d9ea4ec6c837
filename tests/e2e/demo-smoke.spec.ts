// The README's run command path: after the build, `npm start` runs dist/launch.js, which (with no
// identity provider and no database configured, as in a fresh clone) runs demo/start.ts, which
// brings up the whole demo.
// This starts the launcher exactly so, on free ports and an empty data folder, checks that the
// home page walks through the demo, runs the printed `demo/client.ts alice` command through the
// whole flow, calls Team Notes through the gateway as alice (cross-app access: no consent step)
// and as bob (refused by the IdP's policy, as the admin audit log shows), and stops everything with SIGTERM.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { distDir } from "../helpers/frontdesk-server";
import { freePort } from "../helpers/postgres-cluster";

const TSX = path.join("node_modules", ".bin", "tsx");

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/**
 * A base port with five consecutive free ports (the demo's IdP, Notes, gateway, MCP server, Team Notes),
 * below Linux's ephemeral range (32768+) so that other processes' outgoing connections cannot
 * take one between this check and the launcher's bind.
 */
async function freeBasePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await Promise.all([0, 1, 2, 3, 4].map((n) => isFree(base + n)));
    if (free.every(Boolean)) return base;
  }
  throw new Error("no five consecutive free ports");
}

function waitForOutput(child: ChildProcessWithoutNullStreams, output: () => string, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = pattern.exec(output());
      if (m) {
        cleanup();
        resolve(m);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`process exited (${code}) before printing ${pattern}:\n${output()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${pattern}:\n${output()}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout.off("data", check);
      child.stderr.off("data", check);
      child.off("exit", onExit);
    };
    child.stdout.on("data", check);
    child.stderr.on("data", check);
    child.once("exit", onExit);
    check();
  });
}

let launcher: ChildProcessWithoutNullStreams;
let output = "";
let dataDir: string;
let port: number;
let base: number;
let env: NodeJS.ProcessEnv;

test.beforeAll(async () => {
  test.setTimeout(150_000);
  dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), "frontdesk-demo-")), "data");
  port = await freePort();
  base = await freeBasePort();
  // What a fresh clone has: no database, no identity provider, no keys or secrets.
  env = {
    ...process.env,
    DATABASE_URL: "",
    OIDC_ISSUER: "",
    FRONTDESK_KEYS: "",
    AUTH_SECRET: "",
    FRONTDESK_URL: "",
    FRONTDESK_DEMO: "",
    SUBJECT_TOKEN_AUDIENCES: "",
    FRONTDESK_INSECURE_HTTP_ISSUERS: "",
    FRONTDESK_DATA_DIR: dataDir,
    FRONTDESK_DIST_DIR: distDir(),
    PORT: String(port),
    FRONTDESK_DEMO_BASE_PORT: String(base),
  };
  launcher = spawn(process.execPath, ["dist/launch.js"], { env, stdio: ["pipe", "pipe", "pipe"] });
  launcher.stdout.on("data", (d: Buffer) => (output += d.toString()));
  launcher.stderr.on("data", (d: Buffer) => (output += d.toString()));
  await waitForOutput(launcher, () => output, /Press Ctrl-C to stop\./, 120_000);
});

test.afterAll(async () => {
  if (launcher && launcher.exitCode === null) {
    launcher.kill("SIGKILL");
  }
  rmSync(path.dirname(dataDir), { recursive: true, force: true });
});

test("the launcher prints every URL and the command to try", () => {
  expect(output).toContain(`Frontdesk (portal)      http://localhost:${port}`);
  for (const n of [0, 1, 2, 4]) expect(output).toContain(`http://localhost:${base + n}`);
  expect(output).toContain(`http://localhost:${base + 3}/mcp`);
  expect(output).toContain("npx tsx demo/client.ts alice");
});

test("the demo home page walks through the flow and shows the demo accounts", async ({ page }) => {
  await page.goto(`http://localhost:${port}/`);
  await expect(page.getByRole("heading", { level: 1, name: "Frontdesk" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Try the demo" })).toBeVisible();
  const accounts = page.getByRole("table", { name: "Demo accounts" });
  await expect(accounts.getByRole("row", { name: /alice wonderland/ })).toBeVisible();
  await expect(accounts.getByRole("row", { name: /bob canwefixit/ })).toBeVisible();
  await expect(page.getByText(`http://localhost:${base + 3}/mcp`)).toBeVisible();
  await expect(page.getByText("npx tsx demo/client.ts alice")).toBeVisible();
  // It says which MCP revision the client speaks (the current one by default).
  await expect(page.getByText(/speaks MCP revision 2026-07-28 \(the current one\)/)).toBeVisible();
});

test("the printed client command runs the whole flow against the running demo", async ({ page }) => {
  test.setTimeout(120_000);
  const client = spawn(TSX, ["demo/client.ts", "alice"], { env, stdio: ["pipe", "pipe", "pipe"] });
  let clientOutput = "";
  client.stdout.on("data", (d: Buffer) => (clientOutput += d.toString()));
  client.stderr.on("data", (d: Buffer) => (clientOutput += d.toString()));
  try {
    const [link] = await waitForOutput(client, () => clientOutput, /http:\/\/localhost:\d+\/connect\/eli_[A-Za-z0-9_-]+/, 60_000);
    await page.goto(link);
    await page.getByRole("button", { name: /^Sign in with/ }).click();
    await page.locator("#login").fill("alice");
    await page.locator("#password").fill("wonderland");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Approve and continue to Notes" }).click();
    await page.locator("#login").fill("alice");
    await page.locator("#password").fill("wonderland");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Authorize" }).click();
    await expect(page.getByText(/return to your agent/i).first()).toBeVisible();
    await waitForOutput(client, () => clientOutput, /Follow the white rabbit/, 30_000);
    const code = await new Promise<number | null>((resolve) => (client.exitCode !== null ? resolve(client.exitCode) : client.once("exit", resolve)));
    expect(code).toBe(0);
    expect(clientOutput).toContain("Notes of alice:");
    expect(clientOutput).toContain("protocol revision 2026-07-28.");
  } finally {
    if (client.exitCode === null) client.kill("SIGKILL");
  }
});

test("cross-app access: alice gets her Team Notes through the gateway with no consent step; bob is refused by the IdP's policy, as the admin audit log shows", async ({ page }) => {
  test.setTimeout(90_000);
  const idToken = (user: "alice" | "bob") => readFileSync(path.join(dataDir, "demo", `${user}-id-token.jwt`), "utf8").trim();
  // The command the launcher prints, run as it says.
  const printed = /curl -H "Authorization: Bearer \$\(cat (\S+alice-id-token\.jwt)\)" (http:\/\/localhost:\d+\/team-notes\/notes)/.exec(output);
  expect(printed, output).not.toBeNull();
  const gatewayUrl = printed![2]!;
  expect(gatewayUrl).toBe(`http://localhost:${base + 2}/team-notes/notes`);

  const alice = await page.request.get(gatewayUrl, { headers: { authorization: `Bearer ${idToken("alice")}` } });
  expect(alice.status(), await alice.text()).toBe(200);
  const notes = (await alice.json()) as { owner: string; notes: string[] };
  expect(notes.owner).toBe("alice");
  expect(notes.notes).toContain("Follow the white rabbit");
  // Served again from the stored connection.
  expect((await page.request.get(gatewayUrl, { headers: { authorization: `Bearer ${idToken("alice")}` } })).status()).toBe(200);

  const bob = await page.request.get(gatewayUrl, { headers: { authorization: `Bearer ${idToken("bob")}` } });
  expect(bob.status()).toBe(403);
  expect(await bob.text()).not.toContain("/connect/");

  // The admin's view: the provider's audit log names both decisions.
  await page.goto(`http://localhost:${port}/admin/audit?provider=team-notes`);
  await page.getByRole("button", { name: /^Sign in with/ }).click();
  await page.locator("#login").fill("admin");
  await page.locator("#password").fill("frontdesk-admin");
  await page.getByRole("button", { name: "Sign in" }).click();
  // Sign-in lands on the dashboard; then the provider's audit log.
  await expect(page).toHaveURL(`http://localhost:${port}/admin`);
  await page.goto(`http://localhost:${port}/admin/audit?provider=team-notes`);
  const rows = page.locator("tbody tr");
  await expect(rows.filter({ hasText: "cross_app_access:invalid_grant" }).first()).toBeVisible();
  await expect(rows.filter({ hasText: "alice@example.test" }).filter({ hasText: "allow" }).first()).toBeVisible();
  // alice's allow row says how the connection was obtained.
  await rows.filter({ hasText: "alice@example.test" }).filter({ hasText: "allow" }).last().getByRole("link").first().click();
  await expect(page.getByText(/cross_app_access/).first()).toBeVisible();
});

test("SIGTERM stops every demo service", async () => {
  test.setTimeout(60_000);
  const exited = new Promise<number | null>((resolve) => launcher.once("exit", (code) => resolve(code)));
  launcher.kill("SIGTERM");
  expect(await exited).toBe(0);
  for (const p of [port, base, base + 1, base + 2, base + 3, base + 4]) {
    await expect.poll(() => isFree(p), { timeout: 15_000, message: `port ${p} is still in use` }).toBe(true);
  }
  // By now the server has used its keys (the client flow sealed and opened Notes' tokens): the
  // local-key warning was printed exactly once for the whole demo.
  expect(output.match(/LOCAL USE ONLY/g) ?? []).toHaveLength(1);
});
