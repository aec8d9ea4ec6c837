// A small pg pool for the gateway API's per-request statements: the user+grant read of every
// resolve and token exchange, and the grouped client-assertion jti inserts (lib/gateways/replay.ts).
// Through Prisma a single statement cost about 13% of a resolve's CPU (the query compiler's WASM
// and the client runtime, in `npm run bench` profiles); on a plain pg connection, as a named
// prepared statement, it is a fraction of that. Same driver and URL as Prisma's adapter. On the
// embedded database (no DATABASE_URL) there is no pool and callers use Prisma. Keep what runs here
// short: one committing insert per request on 4 connections queued behind each other's WAL
// flushes and halved token-exchange throughput, so commits here are grouped (one per batch).
import pg from "pg";
import { env } from "@/lib/env";
import { log } from "@/lib/log";
import { registerPool } from "@/lib/observability/metrics";

// On globalThis like the Prisma client (lib/db/client.ts), for the dev server: `next dev`
// (Turbopack) gives instrumentation, route handlers and server actions each their own copy of lib/
// and re-evaluates modules on edits; a production build has one copy per process
// (scripts/lib-modules.mjs), where this is a plain module variable in effect.
const holder = globalThis as typeof globalThis & { __frontdeskHotPool?: { pool: pg.Pool; url: string } };

export function getHotPool(): pg.Pool | null {
  const url = env().DATABASE_URL;
  if (!url) return null;
  const current = holder.__frontdeskHotPool;
  if (current && current.url === url) return current.pool;
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    idleTimeoutMillis: 10_000,
    // An idle connection must not keep a CLI command or a test process alive.
    allowExitOnIdle: true,
    statement_timeout: 10_000,
    // While the database is down a request must fail fast (a 503), not wait for a connection.
    connectionTimeoutMillis: 3_000,
    query_timeout: 12_000,
    application_name: "frontdesk-hot-path",
  });
  // Errors of idle connections are reported here; without a listener they crash the process.
  pool.on("error", (error) => log.warn("hot path connection error", { error: error.message }));
  registerPool("hot_path", pool);
  holder.__frontdeskHotPool = { pool, url };
  return pool;
}
