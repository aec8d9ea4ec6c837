// A throwaway PostgreSQL cluster for tests: initdb into a temp folder, start on a free port
// on 127.0.0.1, stop and delete afterwards. Used when TEST_DATABASE_URL is not given.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";

export interface PostgresCluster {
  /** Connection URL of the `postgres` maintenance database. */
  adminUrl: string;
  port: number;
  /** Stops the server, keeping its data (fault tests: a database outage). Asynchronous: load keeps flowing. */
  pause(mode?: "fast" | "immediate"): Promise<void>;
  /** Starts a paused server again on the same port; resolves once it accepts connections. */
  resume(): Promise<void>;
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

/**
 * Starts a server on a port freePort found free, trying again (on new ports) up to three times when
 * the port was taken before the server bound it, by another server or by the local end of an
 * outgoing connection: `start` must fail with the server's EADDRINUSE in its error.
 */
export async function withFreePortRetry<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= 3 || !/EADDRINUSE/.test(String(error))) throw error;
    }
  }
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = findPostgresBin();
  const dir = mkdtempSync(path.join(os.tmpdir(), "frontdesk-pg-"));
  const dataDir = path.join(dir, "data");
  const isRoot = process.getuid?.() === 0;
  // PostgreSQL refuses to run as root; as root, run its binaries as the `postgres` user.
  const command = (cmd: string, args: string[]): [string, string[]] => {
    const full = path.join(bin, cmd);
    return isRoot ? ["runuser", ["-u", "postgres", "--", full, ...args]] : [full, args];
  };
  const runAsync = (cmd: string, args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const [file, argv] = command(cmd, args);
      execFile(file, argv, { timeout: 300_000 }, (error) => (error ? reject(error) : resolve()));
    });
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = command(cmd, args);
    // The timeout only ends a hang: on a loaded machine initdb alone can take a minute.
    return execFileSync(file, argv, { stdio: ["ignore", "pipe", "pipe"], timeout: 300_000 });
  };
  if (isRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    chownSync(dir, uid, gid);
  }
  run("initdb", ["-D", dataDir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  const port = await freePort();
  // -w waits for the server to accept connections (an event, polled by pg_ctl); -t only ends a hang.
  const startArgs = [
    "-D", dataDir, "-w", "-t", "300", "-l", path.join(dir, "log"),
    "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
    "start",
  ];
  run("pg_ctl", startArgs);
  let stopped = false;
  return {
    adminUrl: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    pause(mode = "fast") {
      return runAsync("pg_ctl", ["-D", dataDir, "-m", mode, "-w", "-t", "300", "stop"]);
    },
    resume() {
      return runAsync("pg_ctl", startArgs);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      const args = ["-D", dataDir, "-m", "immediate", "-w", "stop"];
      const full = path.join(bin, "pg_ctl");
      spawnSync(isRoot ? "runuser" : full, isRoot ? ["-u", "postgres", "--", full, ...args] : args, { timeout: 300_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
