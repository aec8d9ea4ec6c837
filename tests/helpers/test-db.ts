// Per-file database for integration tests: points DATABASE_URL at a fresh migrated database
// before lib/ reads its configuration, and closes the client afterwards.
import { randomBytes } from "node:crypto";
import { afterAll, inject } from "vitest";
import { createTestDatabase } from "./databases";

export async function useTestDatabase(opts: { migrated?: boolean } = {}): Promise<string> {
  const url = await createTestDatabase(inject("pgAdminUrl"), opts);
  process.env.DATABASE_URL = url;
  // With DATABASE_URL set, sealing data needs a configured key-encryption key (fail closed);
  // give the file a random one unless the test brings its own.
  process.env.FRONTDESK_KEYS ||= `test:${randomBytes(32).toString("base64")}`;
  afterAll(async () => {
    const { closeDb } = await import("@/lib/db/client");
    await closeDb();
  });
  return url;
}
