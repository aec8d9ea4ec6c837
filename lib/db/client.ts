// The one Prisma client of the process: PostgreSQL when DATABASE_URL is set, otherwise an
// embedded PGlite database in the data folder, migrated at first use. Secret columns are
// omitted from every result unless a query asks for them by name.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { env } from "@/lib/env";
import { log } from "@/lib/log";
import { PrismaClient } from "@/lib/generated/prisma/client";
import { applyMigrations, pgliteRunner, pgRunner } from "./migrate";

const secretColumns = {
  grant: { accessTokenCipher: true, refreshTokenCipher: true, apiKeyCipher: true, wrappedKey: true },
  provider: { clientSecretCipher: true, wrappedKey: true },
  oAuthTransaction: { codeVerifierCipher: true, wrappedKey: true },
  gateway: { secretHash: true },
} as const;

function createClient(adapter: PrismaPg | PrismaPGlite) {
  return new PrismaClient({ adapter, omit: secretColumns });
}

export type Db = ReturnType<typeof createClient>;

interface DbState {
  db: Promise<Db>;
  pglite?: PGlite;
}

// On globalThis so that an embedded database is opened once per process and a dev server does not
// open a pool per edit: `next dev` (Turbopack) gives instrumentation, route handlers and server
// actions each their own copy of lib/ and re-evaluates modules on edits; a production build has
// one copy per process (scripts/lib-modules.mjs), where this is a plain module variable in effect.
const holder = globalThis as typeof globalThis & { __frontdeskDb?: DbState };

export function isEmbedded(): boolean {
  return !env().DATABASE_URL;
}

export function embeddedDataPath(): string {
  return path.resolve(env().FRONTDESK_DATA_DIR, "pglite");
}

export function getDb(): Promise<Db> {
  if (!holder.__frontdeskDb) {
    const state: DbState = { db: Promise.resolve(undefined as never) };
    state.db = connect(state);
    // A failed connection must not be cached forever; the next call tries again.
    state.db.catch(() => {
      if (holder.__frontdeskDb === state) holder.__frontdeskDb = undefined;
    });
    holder.__frontdeskDb = state;
  }
  return holder.__frontdeskDb.db;
}

async function connect(state: DbState): Promise<Db> {
  const url = env().DATABASE_URL;
  if (url) {
    return createClient(
      new PrismaPg(
        // Bounded waits: while the database is down, a request fails fast (a 503) instead of
        // queueing behind a connect that never completes.
        { connectionString: url, max: 10, connectionTimeoutMillis: 5_000, idleTimeoutMillis: 10_000 },
        {
          // A terminated connection (restart, failover, pg_terminate_backend) emits "error" on its
          // client; these listeners keep it from becoming an uncaught exception.
          onPoolError: (error) => log.warn("database connection error (idle)", { error: error.message }),
          onConnectionError: (error) => log.warn("database connection error (in transaction)", { error: error.message }),
        },
      ),
    );
  }
  const dir = embeddedDataPath();
  await mkdir(path.dirname(dir), { recursive: true });
  const pglite = await PGlite.create(dir);
  await applyMigrations(pgliteRunner(pglite), { lock: false });
  state.pglite = pglite;
  return createClient(new PrismaPGlite(pglite));
}

export async function closeDb(): Promise<void> {
  const state = holder.__frontdeskDb;
  holder.__frontdeskDb = undefined;
  if (!state) return;
  const db = await state.db.catch(() => undefined);
  await db?.$disconnect();
  await state.pglite?.close();
}

/** Applies pending migrations to the configured database (CLI `db migrate`). */
export async function migrateConfiguredDatabase() {
  const url = env().DATABASE_URL;
  if (!url) {
    const dir = embeddedDataPath();
    await mkdir(path.dirname(dir), { recursive: true });
    const pglite = await PGlite.create(dir);
    try {
      return await applyMigrations(pgliteRunner(pglite), { lock: false });
    } finally {
      await pglite.close();
    }
  }
  const client = new pg.Client({ connectionString: url });
  // A connection terminated mid-migration must reject the migration, not crash the CLI.
  client.on("error", (error) => log.warn("migration connection error", { error: error.message }));
  await client.connect();
  try {
    return await applyMigrations(pgRunner(client));
  } finally {
    await client.end();
  }
}
