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
  timeout: 90_000,
  expect: { timeout: 10_000 },
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
