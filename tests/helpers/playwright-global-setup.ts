// Playwright global setup: checks the browser is there, and starts one throwaway PostgreSQL
// cluster (unless TEST_DATABASE_URL is given) with a migrated template database.
// Spec files create their own database from it (see e2e-environment.ts).
import { existsSync } from "node:fs";
import { createTemplate } from "./databases";
import { startPostgresCluster } from "./postgres-cluster";

export default async function globalSetup() {
  const chromium = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
  if (!existsSync(chromium)) {
    throw new Error(`Chromium not found at ${chromium}. Install it with: sudo apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  const given = process.env.TEST_DATABASE_URL;
  const cluster = given ? undefined : await startPostgresCluster();
  const adminUrl = given ?? cluster!.adminUrl;
  await createTemplate(adminUrl);
  process.env.E2E_PG_ADMIN_URL = adminUrl;
  return () => cluster?.stop();
}
