import { defineConfig } from "@playwright/test";

// Real headless Chromium from Debian (/usr/bin/chromium); nothing downloads a browser.
// Each spec file starts its own Frontdesk, IdP and upstream (tests/helpers/e2e-environment.ts)
// on 127.0.0.1; PostgreSQL is one throwaway cluster for the run (global setup).
export default defineConfig({
  testDir: "tests/e2e",
  globalSetup: "./tests/helpers/playwright-global-setup.ts",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  // Timeouts only end hangs: the specs wait on events, and on a busy machine (CI sharing its two
  // cores, a load average of 20) one flow with several axe scans takes well over a minute.
  timeout: 300_000,
  expect: { timeout: 30_000 },
  reporter: process.env.CI ? [["list"]] : [["list"]],
  use: {
    browserName: "chromium",
    headless: true,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
});
