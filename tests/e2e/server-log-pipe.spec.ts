// The production server outlives the reader of its logs. When the pipe behind stdout and stderr
// closes (a log shipper restarts, a supervisor's pipe goes away), every write fails with EPIPE.
// Unhandled, that error became an uncaught exception, which Next's handler logged to the same
// broken pipe, and so on: one core busy for good (an orphaned bench instance spun at 83% CPU for
// 10 minutes). The server must keep serving, and stay idle when nothing asks it anything.
// No browser; a build is needed, hence e2e.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { createTestDatabase, withClient } from "../helpers/databases";
import { distDir, spawnProductionServer } from "../helpers/frontdesk-server";
import { freePort, withFreePortRetry } from "../helpers/postgres-cluster";

/** Write system calls the process has made so far (/proc/<pid>/io, Linux). */
function writeCalls(pid: number): number {
  return Number(/^syscw: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"))![1]);
}

/** Resolves when the server says it listens; rejects, with its output, if it exits first. */
function untilListening(server: ReturnType<typeof spawnProductionServer>): Promise<void> {
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes("Frontdesk listening")) resolve();
    };
    server.stdout.on("data", onData);
    server.stderr.on("data", onData);
    server.once("exit", (code) => reject(new Error(`exited ${code} during start-up:\n${output}`)));
  });
}

let child: ReturnType<typeof spawnProductionServer> | undefined;

// In a hook, not a finally: Playwright runs hooks after a test timed out, and the server is
// detached (its own process group), so nothing else would stop it.
test.afterEach(() => {
  try {
    if (child?.pid) process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
});

test.beforeAll(() => {
  expect(existsSync(path.join(distDir(), "BUILD_ID")), `a next build in ${distDir()}`).toBe(true);
});

test("with its log pipe closed, the server keeps answering and does not spin on EPIPE", async () => {
  const adminUrl = process.env.E2E_PG_ADMIN_URL!;
  const databaseUrl = await createTestDatabase(adminUrl);
  // Started on a free port, again on another if that one was taken before the server bound it
  // (the server then exits 1 with EADDRINUSE in its output).
  const { server, port } = await withFreePortRetry(async () => {
    const port = await freePort();
    const server = spawnProductionServer(port, { DATABASE_URL: databaseUrl, FRONTDESK_KEYS: `v1:${randomBytes(32).toString("base64")}` });
    child = server;
    await untilListening(server);
    return { server, port };
  });
  const base = `http://127.0.0.1:${port}`;
  const live = async () => expect((await fetch(`${base}/api/health/live`)).status).toBe(200);

  // The reader goes away: both pipes are closed on this side.
  server.stdout.destroy();
  server.stderr.destroy();
  // Make the server log: its database disappears (its connections are terminated), and a
  // gateway call then fails on it and is answered 503 with a warning logged.
  await withClient(adminUrl, (c) => c.query(`DROP DATABASE "${new URL(databaseUrl).pathname.slice(1)}" WITH (FORCE)`));
  const resolve = await fetch(`${base}/api/v1/resolve`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Basic ${Buffer.from("gw:secret").toString("base64")}` },
    body: JSON.stringify({ subject: "alice", provider: "notes" }),
    // Only ends a hang: in the EPIPE loop the server answered nothing at all.
    signal: AbortSignal.timeout(60_000),
  });
  expect(resolve.status).toBe(503);
  expect(resolve.headers.get("retry-after")).not.toBeNull();

  // Still serving; and over 100 sequential health checks the process writes about once per
  // answer (and per failed log line), not the thousands of writes of an EPIPE loop.
  await live();
  const before = writeCalls(server.pid!);
  for (let i = 0; i < 100; i++) await live();
  const writes = writeCalls(server.pid!) - before;
  expect(writes).toBeLessThan(400);
  expect(server.exitCode).toBeNull();
});
