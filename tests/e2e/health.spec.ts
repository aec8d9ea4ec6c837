// A production build starts on the embedded default (no DATABASE_URL, no keys, empty data
// folder: what a fresh clone has) and serves its health check and home page.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { startFrontdesk, type FrontdeskServer } from "../helpers/frontdesk-server";

let server: FrontdeskServer;
let dataDir: string;

test.beforeAll(async () => {
  dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), "frontdesk-fresh-")), "data");
  server = await startFrontdesk({
    env: { DATABASE_URL: "", FRONTDESK_KEYS: "", AUTH_SECRET: "", OIDC_ISSUER: "", FRONTDESK_DATA_DIR: dataDir },
  });
});

test.afterAll(async () => {
  await server?.stop();
  rmSync(path.dirname(dataDir), { recursive: true, force: true });
});

test("health answers 200 with the embedded database", async ({ request }) => {
  const res = await request.get(`${server.url}/api/health`);
  expect(res.status()).toBe(200);
  expect(await res.json()).toEqual({ status: "ok", database: "ok" });
  // The embedded database lives in the data folder.
  expect(statSync(path.join(dataDir, "pglite")).isDirectory()).toBe(true);
});

test("the home page says what Frontdesk is", async ({ page }) => {
  await page.goto(server.url);
  await expect(page.getByRole("heading", { level: 1, name: "Frontdesk" })).toBeVisible();
  await expect(page.getByText("never hold them")).toBeVisible();
});
