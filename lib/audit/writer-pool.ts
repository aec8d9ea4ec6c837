// The group commit's own PostgreSQL connection. Audit is on the hot path of every decision,
// and through Prisma one batch (BEGIN, lock, tail, insert, COMMIT) costs ~2 ms, almost all of
// it client-side per-statement overhead; on a plain pg connection the same statements go in one
// round trip (commitAuditBatch). So group commit on PostgreSQL uses one dedicated pg connection (one batch is
// in flight per process, so one connection is enough), same driver and URL as Prisma's
// adapter. Caller transactions and the embedded database keep going through Prisma.
import pg from "pg";
import { env } from "@/lib/env";
import { log } from "@/lib/log";
import { registerPool } from "@/lib/observability/metrics";
import { APPEND_BATCH_SQL, type AppendedEvent, type AppendedRow, appendedEvents, batchParam, type PreparedEvent } from "./chain";

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

// A batch in one round trip: one simple-protocol message of several statements,
//   BEGIN; the companion INSERTs; frontdesk_audit_append (lock, tail, hashed INSERT); COMMIT
// whose reply comes after the WAL flush (durable). If a statement fails, PostgreSQL skips the
// rest of the message, so COMMIT never runs and the ROLLBACK below discards the whole batch
// (fail closed). The simple protocol takes no parameters, so each statement's rows travel as
// one escaped string literal (sqlLiteral).

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

/** `sql` with its one parameter ($1) replaced by `param` as a literal. */
function inlined(sql: string, param: string): string {
  // A function replacement: the literal may contain `$&` or `$'`, which a string would expand.
  return sql.replace("$1", () => sqlLiteral(param));
}

/** A connection-level failure (the connection broke), as opposed to an SQL error. */
function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code !== "string" || /^(08|57P)/.test(code);
}

/**
 * Appends `events` to the chain in one transaction on the audit connection (one round trip),
 * with `companions` (rows of other tables the events record) inserted in the same transaction.
 */
export async function commitAuditBatch(pool: pg.Pool, events: readonly PreparedEvent[], companions: readonly { sql: string; rows: unknown[] }[] = []): Promise<AppendedEvent[]> {
  if (events.length === 0) return [];
  const results = await runBatch(pool, [
    "BEGIN ISOLATION LEVEL READ COMMITTED",
    ...companions.map((c) => inlined(c.sql, JSON.stringify(c.rows))),
    inlined(APPEND_BATCH_SQL, batchParam(events)),
    "COMMIT",
  ]);
  return appendedEvents(events, (results[companions.length + 1]?.rows ?? []) as AppendedRow[]);
}

/** Sends a transaction's statements as one message; every statement's result, in order. */
async function runBatch(pool: pg.Pool, statements: string[]): Promise<pg.QueryResult[]> {
  const message = statements.join(";\n");
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    client.on("error", onCheckedOutError);
    let healthy = false;
    try {
      const results = (await client.query(message)) as unknown as pg.QueryResult[];
      healthy = true;
      return results;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      // Once, on a fresh connection, when the connection broke (the server closed an idle one:
      // restart, failover, idle timeout). Should the first attempt have committed after all,
      // the retry cannot store the batch twice: event ids are unique, so it fails instead.
      if (attempt >= 2 || !isConnectionFailure(error)) throw error;
    } finally {
      client.off("error", onCheckedOutError);
      // After a failure the connection's state is unknown: discard it rather than reuse it.
      client.release(!healthy);
    }
  }
}

/** Closes the audit connection (tests, shutdown). */
export async function closeAuditPool(): Promise<void> {
  const pool = holder.pool;
  holder.pool = null;
  await pool?.end();
}
