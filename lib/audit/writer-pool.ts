// The group commit's own PostgreSQL connection. Audit is on the hot path of every decision,
// and through Prisma one batch (BEGIN, lock, tail, insert, COMMIT) costs ~2 ms, almost all of
// it client-side per-statement overhead; on a plain pg connection the same statements go in two
// round trips (commitAuditBatch). So group commit on PostgreSQL uses one dedicated pg connection (one batch is
// in flight per process, so one connection is enough), same driver and URL as Prisma's
// adapter. Caller transactions and the embedded database keep going through Prisma.
import pg from "pg";
import { env } from "@/lib/env";
import { log } from "@/lib/log";
import { registerPool } from "@/lib/observability/metrics";
import { AUDIT_INSERT_SQL, type AppendedEvent, CHAIN_LOCK_SQL, type ChainTail, chainOnto, type PreparedEvent, TAIL_SQL } from "./chain";

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

// A batch in two round trips, each one simple-protocol message of several statements:
//   1. BEGIN; take the chain lock; read the tail (a statement of its own, so READ COMMITTED gives
//      it a snapshot taken after the lock was granted: it sees the previous holder's rows);
//   2. INSERT the hashed events; COMMIT (the reply comes after the WAL flush: durable).
// If the INSERT fails, PostgreSQL skips the rest of the message, so COMMIT never runs and the
// ROLLBACK below discards the whole batch (fail closed). The simple protocol takes no
// parameters, so the events travel as one escaped string literal (sqlLiteral).
const OPEN_BATCH_SQL = `BEGIN ISOLATION LEVEL READ COMMITTED; ${CHAIN_LOCK_SQL}; ${TAIL_SQL}`;

/**
 * `text` as a PostgreSQL string literal, exactly as pg's escapeLiteral writes it (quotes and
 * backslashes doubled; E'' when there is a backslash, so the literal means the same whatever
 * standard_conforming_strings is). pg's loop appends one character at a time, which costs
 * ~20 µs per event of a batch's JSON; replaceAll does the same in ~1 µs.
 */
export function sqlLiteral(text: string): string {
  const quoted = `'${text.replaceAll("'", "''")}'`;
  return text.includes("\\") ? ` E${quoted.replaceAll("\\", "\\\\")}` : quoted;
}

/** A connection-level failure (nothing reached the database), as opposed to an SQL error. */
function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code !== "string" || /^(08|57P)/.test(code);
}

/** Opens a batch's transaction (lock and tail included), retrying once on a fresh connection. */
async function openBatch(pool: pg.Pool): Promise<{ client: pg.PoolClient; tail: ChainTail }> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    client.on("error", onCheckedOutError);
    try {
      const results = (await client.query(OPEN_BATCH_SQL)) as unknown as pg.QueryResult<ChainTail>[];
      const tail = results[results.length - 1]?.rows[0];
      if (!tail) throw new Error("audit chain tail query returned no row");
      return { client, tail };
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      client.off("error", onCheckedOutError);
      client.release(true);
      // Nothing is committed in this step, so retrying is safe; it helps when the server closed
      // the idle connection (restart, failover, idle timeout) and the pool has not noticed yet.
      if (attempt >= 2 || !isConnectionFailure(error)) throw error;
    }
  }
}

/**
 * Appends `events` to the chain in one transaction on the audit connection (two round trips),
 * with `companions` (rows of other tables the events record) inserted in the same transaction.
 */
export async function commitAuditBatch(pool: pg.Pool, events: readonly PreparedEvent[], companions: readonly { sql: string; rows: unknown[] }[] = []): Promise<AppendedEvent[]> {
  if (events.length === 0) return [];
  const { client, tail } = await openBatch(pool);
  let healthy = false;
  try {
    const { rows, appended } = chainOnto(tail, events);
    // A function replacement: the literal may contain `$&` or `$'`, which a string would expand.
    const withRows = (sql: string, data: unknown[]) => sql.replace("$1", () => sqlLiteral(JSON.stringify(data)));
    const statements = [...companions.map((c) => withRows(c.sql, c.rows)), withRows(AUDIT_INSERT_SQL, rows), "COMMIT"];
    await client.query(statements.join(";\n"));
    healthy = true;
    return appended;
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
