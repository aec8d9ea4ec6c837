// A built Frontdesk (server.ts over the `next build` output) in a child process on 127.0.0.1 and a free port, with the
// given environment. Waits for /api/health; stop() ends the whole process group. The build
// itself is made once by the test command (`next build`) before the suites run.
import { randomBytes } from "node:crypto";
import { type ChildProcessByStdio, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import { freePort, withFreePortRetry } from "./postgres-cluster";

export interface FrontdeskServer {
  /** Base URL using `localhost` (next-auth callbacks must match it; see toolchain.md). */
  url: string;
  port: number;
  /** Process id of the server, also its process group id (benchmarks sample its RSS). */
  pid: number;
  logs(): string;
  /**
   * SIGTERM to the process group, then waits for it to exit (it drains, lib/server/graceful-shutdown.ts).
   * `killAfterMs` (default 5000) only ends a hang: after it, SIGKILL.
   */
  stop(opts?: { killAfterMs?: number }): Promise<void>;
  /** Sends a signal to the process group (SIGKILL: a crash) and waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

// Only ends a hang: on a loaded machine (load 16+ on 2 cores) start-up has taken over 100 s.
const START_TIMEOUT_MS = 300_000;

export function distDir(): string {
  return process.env.FRONTDESK_DIST_DIR || ".next";
}

/**
 * `node dist/server.js` on 127.0.0.1:`port`, detached (its own process group: kill `-pid`), stdout
 * and stderr piped, for tests of the process itself (start-up checks, exit codes). `env` comes on
 * top of a bare production environment (PATH, HOME, a fresh AUTH_SECRET, this build), not the
 * test runner's.
 */
export function spawnProductionServer(port: number, env: Record<string, string>): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, ["dist/server.js", "--hostname", "127.0.0.1", "--port", String(port)], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      FRONTDESK_URL: `http://localhost:${port}`,
      AUTH_SECRET: randomBytes(32).toString("base64url"),
      FRONTDESK_DIST_DIR: distDir(),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
}

/** Makes a production build in `dir` unless one is there (a suite run alone, without `npm test`'s build). */
export function ensureBuild(dir: string): void {
  if (existsSync(path.join(dir, "BUILD_ID")) && existsSync(path.join("dist", "server.js"))) return;
  execFileSync("npm", ["run", "-s", "build"], {
    env: { ...process.env, FRONTDESK_DIST_DIR: dir, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" },
    stdio: "ignore",
    timeout: 540_000,
  });
}

export async function startFrontdesk(opts: { env: Record<string, string>; distDir?: string; port?: number }): Promise<FrontdeskServer> {
  // The server exits 1 on a port in use (server.ts); a port of freePort's may be taken meanwhile.
  return opts.port === undefined ? withFreePortRetry(() => startFrontdeskOn(opts)) : startFrontdeskOn(opts);
}

async function startFrontdeskOn(opts: { env: Record<string, string>; distDir?: string; port?: number }): Promise<FrontdeskServer> {
  const dir = opts.distDir ?? distDir();
  if (!existsSync(path.join(dir, "BUILD_ID")) || !existsSync(path.join("dist", "server.js"))) {
    throw new Error(`No build in ${dir} and dist/: run \`FRONTDESK_DIST_DIR=${dir} npm run build\` first (npm test builds).`);
  }
  const port = opts.port ?? (await freePort());
  const url = `http://localhost:${port}`;
  // The production server (server.ts: gateway API direct, everything else Next.js), as `npm start` runs it.
  const child = spawn(process.execPath, ["dist/server.js", "--hostname", "127.0.0.1", "--port", String(port)], {
    env: {
      ...process.env,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      FRONTDESK_URL: url,
      PORT: String(port),
      ...opts.env,
      FRONTDESK_DIST_DIR: dir,
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  let exited = false;
  const exitCode = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      exited = true;
      resolve(code);
    }),
  );

  const kill = async (signal: NodeJS.Signals) => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      return;
    }
    await exitCode;
  };
  const stop = async (stopOpts: { killAfterMs?: number } = {}) => {
    if (exited) return;
    const timer = setTimeout(() => void kill("SIGKILL"), stopOpts.killAfterMs ?? 5000);
    await kill("SIGTERM");
    clearTimeout(timer);
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`Frontdesk exited during start-up:\n${output}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/health`);
      if (res.status === 200) return { url, port, pid: child.pid!, logs: () => output, stop, kill, exited: exitCode };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`Frontdesk did not become healthy within ${START_TIMEOUT_MS} ms:\n${output}`);
}
