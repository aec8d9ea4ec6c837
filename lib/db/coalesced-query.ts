// Identical reads that are still waiting for a pooled connection share one statement. In a burst
// (a refresh storm: hundreds of resolves of one user's grant arriving together) the hot-path
// pool's few connections would otherwise run the same user+grant read once per request, one
// after another, and the last request would wait for all of them before joining the refresh.
//
// Only a read that has not been sent yet is joined: every caller sharing a result asked before
// the statement reached the database, so what it reads is at least as recent as its own arrival
// (a revoke or a disable committed on any instance before a request arrived is seen by it, as
// with a statement of its own). Callers share the result's row objects and must not mutate them.
import type pg from "pg";

const waiting = new Map<string, Promise<pg.QueryResult>>();

export function coalescedQuery<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  query: { name: string; text: string; values: unknown[] },
): Promise<pg.QueryResult<R>> {
  const key = `${query.name}\u0000${JSON.stringify(query.values)}`;
  const queued = waiting.get(key);
  if (queued) return queued as Promise<pg.QueryResult<R>>;
  const result = run<R>(pool, query, () => waiting.delete(key));
  waiting.set(key, result);
  return result;
}

async function run<R extends pg.QueryResultRow>(pool: pg.Pool, query: pg.QueryConfig, sent: () => void): Promise<pg.QueryResult<R>> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } finally {
    // From here on the statement is on its way: later callers start their own.
    sent();
  }
  try {
    const result = await client.query<R>(query);
    client.release();
    return result;
  } catch (error) {
    // As pool.query does: a connection that failed is closed, not reused.
    client.release(error instanceof Error ? error : true);
    throw error;
  }
}
