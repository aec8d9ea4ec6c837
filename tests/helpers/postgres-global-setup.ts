// Vitest global setup for integration tests: a real PostgreSQL (TEST_DATABASE_URL, or a
// throwaway cluster) with a migrated template database. Test files read the admin URL from
// the provided context and create their own database with createTestDatabase().
import type { TestProject } from "vitest/node";
import { createTemplate } from "./databases";
import { startPostgresCluster } from "./postgres-cluster";

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const given = process.env.TEST_DATABASE_URL;
  const cluster = given ? undefined : await startPostgresCluster();
  const adminUrl = given ?? cluster!.adminUrl;
  await createTemplate(adminUrl);
  project.provide("pgAdminUrl", adminUrl);
  return () => cluster?.stop();
}
