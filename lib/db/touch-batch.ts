// "Last used" / "last seen" columns without a write per call: marks are collected in memory and
// written in one statement per table at most once a second. Losing the last second on a crash is
// acceptable; this is attribution metadata, not audit (every use is in the audit log already).
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
export function touchBatchSql(spec: Pick<TouchBatchSpec<Record<string, string>>, "table" | "columns" | "set" | "where">): string {
  const table = quote(spec.table);
  const columns = ["id text", ...Object.entries(spec.columns).map(([name, type]) => `${quote(name)} ${type}`)].join(", ");
  // `at` values travel as ISO strings ending in Z; the cast to timestamp (without zone) keeps the
  // UTC wall time, which is how Prisma stores DateTime (as in lib/audit/chain.ts).
  return `
  WITH u AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS u(${columns})),
  locked AS (SELECT t.id FROM ${table} t WHERE t.id IN (SELECT id FROM u) ORDER BY t.id FOR UPDATE SKIP LOCKED)
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
