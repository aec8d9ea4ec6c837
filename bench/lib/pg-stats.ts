// BENCH_PG_STATEMENTS=1: what PostgreSQL did during a measured run, per request, from
// pg_stat_statements (loaded into the throwaway cluster, bench/lib/postgres.ts), pg_stat_wal,
// the checkpointer and autovacuum. For finding which statement grows with the tables (the growth
// scenario); a full run leaves it off so that the extension's own cost is not measured.
import type pg from "pg";
import { withClient } from "./postgres";

export interface PgSnapshot {
  wal: { records: number; fpi: number; bytes: number };
  checkpoints: number;
  buffersCheckpoint: number;
  vacuums: Record<string, number>;
}

/** Clears the statement statistics and returns the cluster's counters to diff against. */
export function startPgStats(url: string): Promise<PgSnapshot> {
  return withClient(url, async (c) => {
    await c.query("SELECT pg_stat_statements_reset()");
    return snapshot(c);
  });
}

async function snapshot(c: pg.Client): Promise<PgSnapshot> {
  const wal = (await c.query<{ records: string; fpi: string; bytes: string }>(`SELECT wal_records::text AS records, wal_fpi::text AS fpi, wal_bytes::text AS bytes FROM pg_stat_wal`)).rows[0]!;
  const bg = (await c.query<{ checkpoints: string; buffers: string }>(
    `SELECT (checkpoints_timed + checkpoints_req)::text AS checkpoints, buffers_checkpoint::text AS buffers FROM pg_stat_bgwriter`,
  )).rows[0]!;
  const vac = await c.query<{ relname: string; n: string }>(
    `SELECT relname, (autovacuum_count + autoanalyze_count)::text AS n FROM pg_stat_user_tables`,
  );
  return {
    wal: { records: Number(wal.records), fpi: Number(wal.fpi), bytes: Number(wal.bytes) },
    checkpoints: Number(bg.checkpoints),
    buffersCheckpoint: Number(bg.buffers),
    vacuums: Object.fromEntries(vac.rows.map((r) => [r.relname, Number(r.n)])),
  };
}

interface StatementRow {
  query: string;
  calls: string;
  total_exec_time: number;
  shared_blks_hit: string;
  shared_blks_read: string;
  shared_blks_dirtied: string;
  wal_fpi: string;
  wal_bytes: string;
}

/** A text report: the statements by execution time, everything per request of the run. */
export function reportPgStats(url: string, before: PgSnapshot, requests: number, limit = 12): Promise<string> {
  return withClient(url, async (c) => {
    const after = await snapshot(c);
    const { rows } = await c.query<StatementRow>(
      `SELECT regexp_replace(query, '\\s+', ' ', 'g') AS query, calls::text, total_exec_time, shared_blks_hit::text, shared_blks_read::text,
              shared_blks_dirtied::text, wal_fpi::text, wal_bytes::text
         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY total_exec_time DESC LIMIT $1`,
      [limit],
    );
    const per = (x: number | string) => (Number(x) / requests).toFixed(3);
    const lines = [
      `PostgreSQL per request (${requests} requests): WAL ${per(after.wal.bytes - before.wal.bytes)} bytes, ${per(after.wal.records - before.wal.records)} records, ` +
        `${per(after.wal.fpi - before.wal.fpi)} full-page images; checkpoints during the run ${after.checkpoints - before.checkpoints} ` +
        `(${after.buffersCheckpoint - before.buffersCheckpoint} buffers written); autovacuum/analyze runs: ` +
        (Object.entries(after.vacuums)
          .filter(([t, n]) => n !== (before.vacuums[t] ?? 0))
          .map(([t, n]) => `${t} ${n - (before.vacuums[t] ?? 0)}`)
          .join(", ") || "none"),
      "| calls/req | exec ms/req | ms/call | blks hit/req | read/req | dirtied/req | FPI/req | WAL B/req | statement |",
      "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
      ...rows.map(
        (r) =>
          `| ${per(r.calls)} | ${per(r.total_exec_time)} | ${(r.total_exec_time / Math.max(1, Number(r.calls))).toFixed(3)} | ${per(r.shared_blks_hit)} | ${per(r.shared_blks_read)} | ` +
          `${per(r.shared_blks_dirtied)} | ${per(r.wal_fpi)} | ${per(r.wal_bytes)} | ${r.query.slice(0, 140)} |`,
      ),
    ];
    return lines.join("\n");
  });
}
