// "Last used" / "last seen" columns without a write per call: marks are collected in memory and
// written in one statement per table at most once a second. Losing the last second on a crash is
// acceptable; this is attribution metadata, not audit (every use is in the audit log already).
// With a `resolution`, a row is written only when its stored time is that much older than the
// mark: a grant in constant use is written once a minute, not once a second. Each write is a
// row lock and a new row version (with an entry in every index of the table once its page is
// full), so writing 1,000 active grants every second cost PostgreSQL more than the resolves
// themselves on a 100,000-grant table (bench growth scenario, BENCH_PG_STATEMENTS=1).
//
// Several instances flush overlapping rows at the same time, and other transactions (revoke,
// rename, disable) hold row locks too. A plain UPDATE ... FROM locks rows in whatever order the
// join yields, so two batches touching the same rows in different orders deadlock (40P01), and a
// batch waits behind any long transaction holding one of its rows. So every batch locks its rows
// in id order with SKIP LOCKED: it never waits, and a row locked right now is skipped (whoever
// holds it is writing it; the next use marks it again). The `set` expressions use GREATEST or a
// guard so that a late batch from another instance never moves a time backwards.
import { getDb } from "@/lib/db/client";
import { log } from "@/lib/log";

const FLUSH_MS = 1_000;

/**
 * How far a stored "last used" / "last seen" time may lag behind the last use: it is attribution
 * (who used a connection, which agent is active, roughly when); every use is in the audit log to
 * the millisecond.
 */
export const USE_RESOLUTION_SECONDS = 60;

type ColumnType = "text" | "timestamp(3)";

export interface TouchBatchSpec<Row extends Record<string, string | Date>> {
  /** Table name as Prisma creates it (quoted here). */
  table: string;
  /** Columns of a mark besides `id`, with their SQL types. */
  columns: { [K in keyof Row]: ColumnType };
  /** SET list; `t` is the table row, `u` the mark. */
  set: string;
  /** Optional extra condition on t and u (e.g. only newer marks). */
  where?: string;
  /**
   * Rows whose `column` is less than `seconds` older than the mark's `at` are neither locked nor
   * written, unless `orWhen` (a condition on t and u, e.g. another gateway) holds.
   */
  resolution?: { column: string; seconds: number; orWhen?: string };
  /** Names the batch in the warning logged when a flush fails. */
  what: string;
}

export interface TouchBatch<Row> {
  /** Records a mark for row `id`; the latest mark per row wins. */
  mark(id: string, row: Row): void;
  /** Writes the pending marks now (also called by the timer). */
  flush(): Promise<void>;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The lock-ordered, non-waiting UPDATE for one batch; $1 is a JSON array of {id, ...columns}. */
export function touchBatchSql(spec: Pick<TouchBatchSpec<Record<string, string>>, "table" | "columns" | "set" | "where" | "resolution">): string {
  const table = quote(spec.table);
  const columns = ["id text", ...Object.entries(spec.columns).map(([name, type]) => `${quote(name)} ${type}`)].join(", ");
  // `at` values travel as ISO strings ending in Z; the cast to timestamp (without zone) keeps the
  // UTC wall time, which is how Prisma stores DateTime (as in lib/audit/chain.ts).
  const r = spec.resolution;
  const stale = r
    ? `t.${quote(r.column)} IS NULL OR t.${quote(r.column)} <= u.at - make_interval(secs => ${Number(r.seconds)})${r.orWhen ? ` OR (${r.orWhen})` : ""}`
    : null;
  // A row filtered out here costs an index lookup; locking it would cost a WAL record and a
  // dirtied page even before the UPDATE.
  const locked = stale
    ? `SELECT t.id FROM ${table} t JOIN u ON u.id = t.id WHERE ${stale} ORDER BY t.id FOR UPDATE OF t SKIP LOCKED`
    : `SELECT t.id FROM ${table} t WHERE t.id IN (SELECT id FROM u) ORDER BY t.id FOR UPDATE SKIP LOCKED`;
  return `
  WITH u AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS u(${columns})),
  locked AS (${locked})
  UPDATE ${table} AS t SET ${spec.set}
  FROM u, locked
  WHERE t.id = u.id AND t.id = locked.id${spec.where ? ` AND (${spec.where})` : ""}`;
}

export function createTouchBatch<Row extends Record<string, string | Date>>(spec: TouchBatchSpec<Row>): TouchBatch<Row> {
  const sql = touchBatchSql(spec as unknown as TouchBatchSpec<Record<string, string>>);
  const pending = new Map<string, Row>();
  let timer: NodeJS.Timeout | undefined;

  async function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.size === 0) return;
    // JSON.stringify writes a Date as its ISO string.
    const rows = JSON.stringify([...pending.entries()].map(([id, row]) => ({ ...row, id })));
    pending.clear();
    try {
      const db = await getDb();
      // One statement for every row marked in the last second: a Prisma update per row cost
      // ~0.5 ms of CPU each, i.e. up to half a core with 1,000 active grants (npm run bench).
      await db.$executeRawUnsafe(sql, rows);
    } catch (e) {
      log.warn(`recording ${spec.what} failed`, { reason: e instanceof Error ? e.message : "unknown" });
    }
  }

  return {
    mark(id, row) {
      pending.set(id, row);
      if (!timer) {
        timer = setTimeout(() => void flush(), FLUSH_MS);
        timer.unref();
      }
    },
    flush,
  };
}
