// Applies the committed SQL migrations in prisma/migrations, in order, once each.
// It keeps Prisma's own `_prisma_migrations` bookkeeping, so `prisma migrate deploy` and
// `prisma migrate status` agree with it; unlike the CLI it also runs on embedded PGlite.
import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type pg from "pg";

/** The two things the migrator needs from a connection (pg.Client or PGlite). */
export interface SqlRunner {
  /** Runs a script that may hold several statements. */
  script(sql: string): Promise<void>;
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
}

// Any fixed 64-bit number; serializes concurrent migrators on one PostgreSQL.
const MIGRATION_LOCK_KEY = 7_252_150_001;

export function migrationsDir(): string {
  return path.join(process.cwd(), "prisma", "migrations");
}

async function listMigrations(dir: string): Promise<{ name: string; sql: string; checksum: string }[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const bad = names.find((n) => !/^[A-Za-z0-9_-]+$/.test(n));
  if (bad) throw new Error(`Migration folder name not allowed: ${bad}`);
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    }),
  );
}

/** Names of the committed migrations, in order (readiness compares them with the database's). */
export async function committedMigrationNames(dir = migrationsDir()): Promise<string[]> {
  return (await listMigrations(dir)).map((m) => m.name);
}

export async function applyMigrations(runner: SqlRunner, opts: { dir?: string; lock?: boolean } = {}): Promise<MigrationResult> {
  const migrations = await listMigrations(opts.dir ?? migrationsDir());
  if (opts.lock !== false) await runner.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
  try {
    await runner.script(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" VARCHAR(36) PRIMARY KEY NOT NULL,
      "checksum" VARCHAR(64) NOT NULL,
      "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL,
      "logs" TEXT,
      "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
      "applied_steps_count" INTEGER NOT NULL DEFAULT 0
    )`);
    const done = await runner.query<{ migration_name: string; checksum: string }>(
      `SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    const doneByName = new Map(done.map((d) => [d.migration_name, d.checksum]));
    const applied: string[] = [];
    for (const m of migrations) {
      const previous = doneByName.get(m.name);
      if (previous !== undefined) {
        if (previous !== m.checksum) {
          throw new Error(`Migration ${m.name} was changed after it was applied (checksum mismatch)`);
        }
        continue;
      }
      // Each migration and its bookkeeping row commit together or not at all.
      const record = `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ('${randomUUID()}', '${m.checksum}', now(), '${m.name}', 1);`;
      await runner.script(`BEGIN;\n${m.sql}\n;\n${record}\nCOMMIT;`).catch(async (e: unknown) => {
        await runner.script("ROLLBACK").catch(() => undefined);
        throw new Error(`Migration ${m.name} failed: ${e instanceof Error ? e.message : String(e)}`);
      });
      applied.push(m.name);
    }
    return { applied, alreadyApplied: doneByName.size };
  } finally {
    if (opts.lock !== false) await runner.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
  }
}

export function pgliteRunner(pglite: PGlite): SqlRunner {
  return {
    script: async (sql) => {
      await pglite.exec(sql);
    },
    query: async <T>(sql: string, params?: unknown[]) => (await pglite.query<T>(sql, params)).rows,
  };
}

export function pgRunner(client: pg.Client): SqlRunner {
  return {
    script: async (sql) => {
      await client.query(sql);
    },
    query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
  };
}

