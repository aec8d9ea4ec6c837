// The benchmark's PostgreSQL: a throwaway cluster with PostgreSQL's default durability settings
// (fsync and synchronous_commit on, unlike the test cluster), or a fresh database inside the
// server named by BENCH_DATABASE_URL. Either way the benchmark gets a new, migrated database
// and removes it afterwards.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { applyMigrations, pgRunner } from "@/lib/db/migrate";
import { findPostgresBin, freePort } from "@/tests/helpers/postgres-cluster";

export interface BenchDatabase {
  url: string;
  /** Where it runs, for the report. */
  describe: string;
  /** The postmaster's pid (throwaway cluster only). */
  pid: number | null;
  close(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** One short-lived client for a few statements (bench set-up and statistics). */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function startThrowawayCluster(statements: boolean): Promise<{ adminUrl: string; describe: string; pid: number; stop(): void }> {
  const bin = findPostgresBin();
  const dir = mkdtempSync(path.join(os.tmpdir(), "frontdesk-bench-pg-"));
  const dataDir = path.join(dir, "data");
  const isRoot = process.getuid?.() === 0;
  const exec = (cmd: string, args: string[]) => {
    const full = path.join(bin, cmd);
    const [file, argv] = isRoot ? ["runuser", ["-u", "postgres", "--", full, ...args]] : [full, args];
    return execFileSync(file, argv, { stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 }).toString();
  };
  if (isRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    chownSync(dir, uid, gid);
  }
  exec("initdb", ["-D", dataDir, "-A", "trust", "-U", "postgres", "-E", "UTF8"]);
  const port = await freePort();
  // Default durability (fsync, synchronous_commit, full_page_writes): a commit is on disk before
  // the response, as in production. Only the connection limit and shared buffers are raised.
  exec("pg_ctl", [
    "-D", dataDir, "-w", "-t", "60", "-l", path.join(dir, "log"),
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=256MB` +
      (statements ? " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all -c track_io_timing=on" : ""),
    "start",
  ]);
  const version = exec("postgres", ["--version"]).trim();
  const pid = Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  let stopped = false;
  return {
    adminUrl: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    pid,
    describe: `throwaway cluster (${version}, default fsync/synchronous_commit, shared_buffers=256MB)`,
    stop() {
      if (stopped) return;
      stopped = true;
      const full = path.join(bin, "pg_ctl");
      const args = ["-D", dataDir, "-m", "fast", "-w", "stop"];
      spawnSync(isRoot ? "runuser" : full, isRoot ? ["-u", "postgres", "--", full, ...args] : args, { timeout: 60_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `statements`: load pg_stat_statements into the throwaway cluster (BENCH_PG_STATEMENTS=1, see
 * bench/lib/pg-stats.ts); ignored with an external server.
 */
export async function startBenchDatabase(externalUrl: string | undefined, opts: { statements?: boolean } = {}): Promise<BenchDatabase> {
  const cluster = externalUrl ? null : await startThrowawayCluster(opts.statements === true);
  const adminUrl = externalUrl ?? cluster!.adminUrl;
  const name = `frontdesk_bench_${randomBytes(4).toString("hex")}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = withDatabase(adminUrl, name);
  await withClient(url, (c) => applyMigrations(pgRunner(c)));
  if (cluster && opts.statements) await withClient(url, (c) => c.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"));
  return {
    url,
    describe: cluster ? cluster.describe : `database ${name} on BENCH_DATABASE_URL`,
    pid: cluster?.pid ?? null,
    async close() {
      if (cluster) return cluster.stop();
      await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch(() => undefined);
    },
  };
}
