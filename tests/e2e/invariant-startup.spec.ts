// Invariant 2 (design.md section 7), fail closed at start-up: the PRODUCTION server (server.ts
// over the `next build` output, as `npm start` runs it) refuses to start on PostgreSQL without a
// key-encryption key, or with a malformed one (exit 1), and says which variable is wrong
// without printing key material. tests/integration/cli.test.ts proves the same of
// lib/startup.ts; this proves the production server actually runs it (through Next's
// instrumentation hook). Note: with the missing key, server.ts may already have bound its port
// for a moment when the hook's check ends the process (measured; see docs/security.md).
// No browser; a build is needed, hence e2e.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { createTestDatabase } from "../helpers/databases";
import { distDir, spawnProductionServer } from "../helpers/frontdesk-server";
import { createSoftHsm } from "../helpers/softhsm";

interface Exit {
  code: number | null;
  output: string;
  listened: boolean;
}

/**
 * Runs server.ts until it exits (or 45 s pass, then it is killed). With `whenListening`, that is
 * called once the server listens (its port given), and the server is killed when it returns.
 */
function runServer(env: Record<string, string>, whenListening?: (port: number) => Promise<void>, port = 20_000 + Math.floor(Math.random() * 20_000)): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawnProductionServer(port, env);
    let output = "";
    let called = false;
    const onData = (d: Buffer) => {
      output += d.toString();
      if (whenListening && !called && /Frontdesk listening/.test(output)) {
        called = true;
        void whenListening(port).finally(() => process.kill(-child.pid!, "SIGKILL"));
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, whenListening ? 240_000 : 45_000);
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

test("with the KEKs in a PKCS#11 token (SoftHSM2): token missing or wrong PIN exits 1 before listening; the right PIN serves, ready", async () => {
  test.setTimeout(600_000);
  const hsm = createSoftHsm(["frontdesk"]);
  try {
    const { createTokenKey } = await import("@/lib/crypto/pkcs11-keys");
    await createTokenKey(hsm.config("frontdesk", []), "hsm1");
    const databaseUrl = await createTestDatabase(process.env.E2E_PG_ADMIN_URL!);
    const good = { DATABASE_URL: databaseUrl, ...hsm.env("frontdesk", ["hsm1"]) };
    const pin = hsm.tokens.frontdesk!.pin;
    const missing = await runServer({ ...good, FRONTDESK_PKCS11_TOKEN_LABEL: "unplugged" });
    expect(missing).toMatchObject({ code: 1, listened: false });
    expect(missing.output).toMatch(/Frontdesk cannot start: no token "unplugged" is present in PKCS#11 module/);
    const wrongPin = await runServer({ ...good, FRONTDESK_PKCS11_PIN_FILE: hsm.wrongPinFile });
    expect(wrongPin).toMatchObject({ code: 1, listened: false });
    expect(wrongPin.output).toMatch(/Frontdesk cannot start: cannot log in to token "frontdesk" .*is wrong \(CKR_PIN_INCORRECT\)/);
    let ready: { status: number; body: unknown } | undefined;
    const served = await runServer(good, async (port) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/health/ready`);
      ready = { status: res.status, body: await res.json() };
    });
    expect(served.listened).toBe(true);
    expect(ready).toEqual({ status: 200, body: { status: "ready", database: "ok", migrations: "current", keys: "loaded", shutdown: "no" } });
    expect(served.output).toMatch(/"kekVersion":"hsm1"/);
    for (const run of [missing, wrongPin, served]) expect(run.output).not.toContain(pin);
  } finally {
    hsm.cleanup();
  }
});

test("on a port another process holds, the production server exits 1 at once and says so", async () => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  const port = (holder.address() as { port: number }).port;
  try {
    const databaseUrl = await createTestDatabase(process.env.E2E_PG_ADMIN_URL!);
    // Without the listen error handled, Next's uncaughtException handler kept the process alive,
    // listening nowhere, until runServer's 45 s kill: code null, not 1.
    const taken = await runServer({ DATABASE_URL: databaseUrl, FRONTDESK_KEYS: `v1:${randomBytes(32).toString("base64")}` }, undefined, port);
    expect(taken).toMatchObject({ code: 1, listened: false });
    expect(taken.output).toContain(`Frontdesk cannot start: cannot listen on 127.0.0.1:${port}: listen EADDRINUSE`);
  } finally {
    await new Promise((resolve) => holder.close(resolve));
  }
});
