// A throwaway PostgreSQL cluster for tests: initdb into a temp folder, start on a free port
// on 127.0.0.1, stop and delete afterwards. Used when TEST_DATABASE_URL is not given.
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";

export interface PostgresCluster {
  /** Connection URL of the `postgres` maintenance database. */
  adminUrl: string;
  port: number;
  stop(): void;
}

export const INSTALL_HINT =
  "PostgreSQL server binaries not found. Install them with: sudo apt-get install -y postgresql (or set TEST_DATABASE_URL)";

export function findPostgresBin(): string {
  const base = "/usr/lib/postgresql";
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const bin = path.join(base, v, "bin");
    if (existsSync(path.join(bin, "initdb"))) return bin;
  }
  throw new Error(INSTALL_HINT);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = findPostgresBin();
  const dir = mkdtempSync(path.join(os.tmpdir(), "frontdesk-pg-"));
  const dataDir = path.join(dir, "data");
  const isRoot = process.getuid?.() === 0;
  // PostgreSQL refuses to run as root; as root, run its binaries as the `postgres` user.
  const run = (cmd: string, args: string[]) => {
    const full = path.join(bin, cmd);
    const [file, argv] = isRoot ? ["runuser", ["-u", "postgres", "--", full, ...args]] : [full, args];
    return execFileSync(file, argv, { stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
  };
  if (isRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    chownSync(dir, uid, gid);
  }
  run("initdb", ["-D", dataDir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  const port = await freePort();
  run("pg_ctl", [
    "-D", dataDir, "-w", "-t", "30", "-l", path.join(dir, "log"),
    "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
    "start",
  ]);
  let stopped = false;
  return {
    adminUrl: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop() {
      if (stopped) return;
      stopped = true;
      const args = ["-D", dataDir, "-m", "immediate", "-w", "stop"];
      const full = path.join(bin, "pg_ctl");
      spawnSync(isRoot ? "runuser" : full, isRoot ? ["-u", "postgres", "--", full, ...args] : args, { timeout: 30_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
