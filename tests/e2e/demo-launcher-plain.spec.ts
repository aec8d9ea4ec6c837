// `npm start` on a configured installation: with an identity provider configured, the launcher
// (dist/launch.js, compiled from launch.ts) runs only Frontdesk, as plain node in its own process
// (no tsx, no child process), with no demo services, no demo walkthrough and no demo passwords,
// and stops on SIGTERM.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { distDir } from "../helpers/frontdesk-server";
import { freePort } from "../helpers/postgres-cluster";

test("with OIDC_ISSUER configured, npm start's launcher runs only Frontdesk", async ({ page }) => {
  test.setTimeout(120_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), "frontdesk-plain-"));
  const port = await freePort();
  const child = spawn(process.execPath, ["dist/launch.js"], {
    env: {
      ...process.env,
      DATABASE_URL: "",
      FRONTDESK_DEMO: "",
      FRONTDESK_KEYS: "",
      AUTH_SECRET: "",
      FRONTDESK_URL: "",
      // An organization IdP that is configured but never contacted by this test.
      OIDC_ISSUER: "https://idp.example.test",
      OIDC_CLIENT_ID: "frontdesk",
      OIDC_CLIENT_SECRET: "not-used-by-this-test-0123456789",
      FRONTDESK_DATA_DIR: path.join(dir, "data"),
      FRONTDESK_DIST_DIR: distDir(),
      PORT: String(port),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  try {
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${port}/api/health`).catch(() => null))?.status ?? 0, { timeout: 60_000 })
      .toBe(200);
    // The compiled server runs in the launcher's process: node, no tsx loader, no children.
    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, "utf8").split("\0");
    expect(cmdline.slice(1, 2)).toEqual(["dist/launch.js"]);
    expect(cmdline.join(" ")).not.toContain("tsx");
    const children = readdirSync(`/proc/${child.pid}/task`).flatMap((t) => readFileSync(`/proc/${child.pid}/task/${t}/children`, "utf8").trim().split(" ").filter(Boolean));
    expect(children).toEqual([]);
    await page.goto(`http://localhost:${port}/`);
    await expect(page.getByRole("heading", { level: 1, name: "Frontdesk" })).toBeVisible();
    await expect(page.getByRole("heading", { name: "Try the demo" })).toHaveCount(0);
    expect(await page.content()).not.toContain("wonderland");
    expect(output).not.toContain("Frontdesk demo is running");
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    await exited;
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${port}/api/health`).catch(() => null)) === null, { timeout: 15_000 }).toBe(true);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
