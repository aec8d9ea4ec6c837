// Concurrent statements of one kind (the user+grant read of every resolve, the client-assertion
// jti inserts) that are still waiting to be sent share one statement. Every
// statement sent to PostgreSQL costs its client a socket write that wakes the server (in the
// bench's profiles of a resolve, the write of its user+grant read alone was 15% of the CPU) plus
// the driver's per-statement work; a call that arrives while another batch is being collected
// joins it, and the batch is one statement over all their parameters. Several batches may be in
// flight at once (one per pool connection): a call never waits for another batch's answer, only
// for a connection.
//
// Only a read that has not been sent yet is joined: every caller of a
// batch asked before its statement reached the database, so what it reads is at least as recent
// as its own arrival (a revoke or a disable committed before a request arrived is seen by it).
// Identical parameters in one batch are sent once and share their rows (callers must not
// mutate them), so a refresh storm's identical reads still cost one lookup. A statement that
// writes sees each key once per batch: see lib/gateways/replay.ts for what that means there.
import type pg from "pg";

/** A statement over every key of a batch: `$1` is a jsonb array of the keys, each with its position `i` (0-based); each row answers the key in its `i` column. */
export interface GroupedStatement<K> {
  name: string;
  text: string;
  /** Largest number of distinct keys per statement. */
  maxKeys: number;
  /** The key's fields as they go into the jsonb array (`i` is added). */
  toJson(key: K): Record<string, unknown>;
}

interface Pending<R> {
  resolve(rows: R[]): void;
  reject(error: unknown): void;
}

type Batch<R> = Map<string, { json: Record<string, unknown>; waiters: Pending<R>[] }>;

export function groupedStatement<K, R extends pg.QueryResultRow>(getPool: () => pg.Pool, statement: GroupedStatement<K>): (key: K) => Promise<R[]> {
  // The batch waiting for a connection: keys by their JSON (identical keys share one entry).
  let collecting: Batch<R> | null = null;

  async function send(batch: Batch<R>, pool: pg.Pool): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      if (collecting === batch) collecting = null;
      for (const e of batch.values()) for (const w of e.waiters) w.reject(error);
      return;
    }
    // From here on the statement is on its way: later callers collect a batch of their own.
    if (collecting === batch) collecting = null;
    const entries = [...batch.values()];
    // Over the limit (a huge burst), the rest goes as a batch of its own.
    const rest = entries.splice(statement.maxKeys);
    if (rest.length > 0) void send(new Map(rest.map((e, n) => [String(n), e])), pool);
    let rows: (R & { i: number })[];
    try {
      const keys = entries.map((e, i) => ({ ...e.json, i }));
      rows = (await client.query<R & { i: number }>({ name: statement.name, text: statement.text, values: [JSON.stringify(keys)] })).rows;
      client.release();
    } catch (error) {
      // As pool.query does: a connection that failed is closed, not reused.
      client.release(error instanceof Error ? error : true);
      for (const e of entries) for (const w of e.waiters) w.reject(error);
      return;
    }
    // Each key's rows by filter, not pushed into arrays made by a literal: V8 may pretenure that
    // literal's allocation site, and an old-space array keeps the young rows it holds (and what
    // they reference) alive through every young-generation collection until the next major one:
    // 1.1 KB promoted per request for rows of six 200-character columns, 0.17 KB by filter.
    entries.forEach((e, n) => {
      const own = rows.filter((row) => row.i === n);
      for (const w of e.waiters) w.resolve(own);
    });
  }

  return (key) => {
    const pool = getPool();
    const json = statement.toJson(key);
    const id = JSON.stringify(json);
    return new Promise<R[]>((resolve, reject) => {
      const waiter = { resolve, reject };
      if (collecting === null) {
        const batch: Batch<R> = new Map();
        collecting = batch;
        // Reads issued in the same turn of the event loop (requests read from sockets in one
        // poll) join this batch, as in the audit group commit, even when a connection is free.
        setImmediate(() => void send(batch, pool));
      }
      const entry = collecting.get(id);
      if (entry) entry.waiters.push(waiter);
      else collecting.set(id, { json, waiters: [waiter] });
    });
  };
}
