// The group commit's own PostgreSQL connection. Audit is on the hot path of every decision,
// and through Prisma one batch (BEGIN, lock, tail, insert, COMMIT) costs ~2 ms, almost all of
// it client-side per-statement overhead; the same five statements on a plain pg connection
// cost ~0.4 ms. So group commit on PostgreSQL uses one dedicated pg connection (one batch is
// in flight per process, so one connection is enough), same driver and URL as Prisma's
// adapter. Caller transactions and the embedded database keep going through Prisma.
import pg from "pg";
import { env } from "@/lib/env";
import { log } from "@/lib/log";
import { registerPool } from "@/lib/observability/metrics";
import type { ChainSql } from "./chain";

const holder = { pool: null as pg.Pool | null, url: "" };

/** The audit writer's pool when DATABASE_URL is set; null on the embedded database. */
export function getAuditPool(): pg.Pool | null {
  const url = env().DATABASE_URL;
  if (!url) return null;
  if (!holder.pool || holder.url !== url) {
    const pool = new pg.Pool({
      connectionString: url,
      max: 1,
      idleTimeoutMillis: 10_000,
      // An idle audit connection must not keep a CLI command or a test process alive.
      allowExitOnIdle: true,
      // Bound every wait (connecting, the chain lock, a silent network) so that a stuck
      // batch fails its callers instead of holding them forever.
      connectionTimeoutMillis: 5_000,
      statement_timeout: 15_000,
      lock_timeout: 10_000,
      query_timeout: 20_000,
      application_name: "frontdesk-audit",
    });
    // Errors of idle connections are reported here; without a listener they crash the process.
    pool.on("error", (error) => log.warn("audit connection error", { error: error.message }));
    registerPool("audit", pool);
    holder.pool = pool;
    holder.url = url;
  }
  return holder.pool;
}

// The pool listens for errors only on idle clients: a connection terminated while checked out
// (database restart, pg_terminate_backend) emits "error" on its client, and without a listener
// that is an uncaught exception. The pending query rejects as well, so logging is all it needs.
function onCheckedOutError(error: Error) {
  log.warn("audit connection error (checked out)", { error: error.message });
}

/** A pooled client on which BEGIN succeeded, retrying once on a fresh connection. */
async function beginTransaction(pool: pg.Pool): Promise<pg.PoolClient> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    client.on("error", onCheckedOutError);
    try {
      await client.query("BEGIN ISOLATION LEVEL READ COMMITTED");
      return client;
    } catch (error) {
      client.off("error", onCheckedOutError);
      client.release(true);
      // Nothing was sent yet, so retrying is safe: typically the server closed the idle
      // connection (restart, failover, idle timeout) and the pool has not noticed yet.
      if (attempt >= 2) throw error;
    }
  }
}

/** Runs `fn` in a READ COMMITTED transaction on the audit connection. */
export async function inAuditTransaction<T>(pool: pg.Pool, fn: (sql: ChainSql) => Promise<T>): Promise<T> {
  const client = await beginTransaction(pool);
  let healthy = false;
  try {
    const result = await fn({
      execute: (text, param) => client.query(text, param === undefined ? [] : [param]),
      query: async <R>(text: string) => (await client.query(text)).rows as R[],
    });
    await client.query("COMMIT");
    healthy = true;
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.off("error", onCheckedOutError);
    // After a failure the connection's state is unknown: discard it rather than reuse it.
    client.release(!healthy);
  }
}

/** Closes the audit connection (tests, shutdown). */
export async function closeAuditPool(): Promise<void> {
  const pool = holder.pool;
  holder.pool = null;
  await pool?.end();
}
