// Invariant 2 (design.md section 7), fail closed at start-up: the PRODUCTION server (server.ts
// over the `next build` output, as `npm start` runs it) refuses to start on PostgreSQL without a
// key-encryption key, or with a malformed one (exit 1), and says which variable is wrong
// without printing key material. tests/integration/cli.test.ts proves the same of
// lib/startup.ts; this proves the production server actually runs it (through Next's
// instrumentation hook). Note: with the missing key, server.ts may already have bound its port
// for a moment when the hook's check ends the process (measured; see docs/security.md).
// No browser; a build is needed, hence e2e.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { createTestDatabase } from "../helpers/databases";
import { distDir } from "../helpers/frontdesk-server";

interface Exit {
  code: number | null;
  output: string;
  listened: boolean;
}

/** Runs server.ts until it exits (or 45 s pass, then it is killed). */
function runServer(env: Record<string, string>): Promise<Exit> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["dist/server.js", "--hostname", "127.0.0.1", "--port", String(port)], {
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
    let output = "";
    const onData = (d: Buffer) => (output += d.toString());
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, 45_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output, listened: /Frontdesk listening/.test(output) });
    });
  });
}

test.beforeAll(() => {
  expect(existsSync(path.join(distDir(), "BUILD_ID")), `a next build in ${distDir()}`).toBe(true);
});

test("with DATABASE_URL and no FRONTDESK_KEYS, or a malformed key, the production server exits 1", async () => {
  test.setTimeout(120_000);
  const databaseUrl = await createTestDatabase(process.env.E2E_PG_ADMIN_URL!);
  const missing = await runServer({ DATABASE_URL: databaseUrl });
  // The checks run before the port opens: not even a moment of listening without a key.
  expect(missing).toMatchObject({ code: 1, listened: false });
  expect(missing.output).toMatch(/Frontdesk cannot start: FRONTDESK_KEYS is required when DATABASE_URL is set/);

  const shortKey = randomBytes(16).toString("base64");
  const malformed = await runServer({ DATABASE_URL: databaseUrl, FRONTDESK_KEYS: `v1:${shortKey}` });
  expect(malformed).toMatchObject({ code: 1, listened: false });
  expect(malformed.output).toMatch(/FRONTDESK_KEYS: key list entry 1 .*exactly 32 bytes/);
  expect(malformed.output).not.toContain(shortKey);
});
