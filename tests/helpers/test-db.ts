// Per-file database for integration tests: points DATABASE_URL at a fresh migrated database
// before lib/ reads its configuration, and closes the client afterwards.
import { afterAll, inject } from "vitest";
import { createTestDatabase } from "./databases";

export async function useTestDatabase(opts: { migrated?: boolean } = {}): Promise<string> {
  const url = await createTestDatabase(inject("pgAdminUrl"), opts);
  process.env.DATABASE_URL = url;
  afterAll(async () => {
    const { closeDb } = await import("@/lib/db/client");
    await closeDb();
  });
  return url;
}
