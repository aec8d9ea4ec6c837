// `db migrate`: applies the committed migrations to the configured database (PostgreSQL via
// DATABASE_URL, else the embedded PGlite data folder). Safe to run from several machines at
// once: the migrator holds a PostgreSQL advisory lock.
import { defineCommand } from "../registry";

defineCommand({
  path: ["db", "migrate"],
  summary: "Apply pending database migrations (DATABASE_URL, or the embedded database)",
  async run() {
    const { embeddedDataPath, isEmbedded, migrateConfiguredDatabase } = await import("@/lib/db/client");
    // The target is named without its URL: connection strings carry passwords.
    const target = isEmbedded() ? `embedded database at ${embeddedDataPath()}` : "PostgreSQL (DATABASE_URL)";
    const result = await migrateConfiguredDatabase();
    const text =
      result.applied.length === 0
        ? `${target}: up to date (${result.alreadyApplied} migration${result.alreadyApplied === 1 ? "" : "s"} already applied)`
        : [`${target}: applied ${result.applied.length} migration${result.applied.length === 1 ? "" : "s"}:`, ...result.applied.map((m) => `  ${m}`)].join("\n");
    return { exitCode: 0, text, data: { applied: result.applied, alreadyApplied: result.alreadyApplied } };
  },
});
