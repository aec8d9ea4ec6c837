// The admin CLI against real PostgreSQL: `db migrate` on a fresh database, `audit verify` on an
// intact and a tampered chain, and the real entry points (CLI and server start-up) in child
// processes, failing closed on a bad or missing key-encryption key.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { appendAuditMany } from "@/lib/audit/append";
import { runCli } from "@/lib/cli/main";
import { getDb } from "@/lib/db/client";
import { withClient } from "../helpers/databases";
import { copyPgliteTemplate } from "../helpers/pglite-template";
import { useTestDatabase } from "../helpers/test-db";

const url = await useTestDatabase({ migrated: false });
const root = path.resolve(import.meta.dirname, "../..");
const tmp = mkdtempSync(path.join(os.tmpdir(), "frontdesk-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs node with tsx in the project, with exactly the given environment (plus PATH/HOME). */
function runNode(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", ...args],
      { cwd: root, timeout: 150_000, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", NODE_ENV: "test", ...env } },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr }),
    );
  });
}
const cli = (argv: string[], env: Record<string, string>) => runNode(["lib/cli/main.ts", ...argv], env);
const START = `const { startFrontdesk } = await import("./lib/startup.ts"); await startFrontdesk(); const { closeDb } = await import("./lib/db/client.ts"); await closeDb();`;
const startServer = (env: Record<string, string>) => runNode(["--input-type=module", "-e", START], env);

const goodKey = `v1:${randomBytes(32).toString("base64")}`;
const badKeyMaterial = randomBytes(16).toString("base64");

describe("db migrate", () => {
  it("applies the migrations to a fresh database, then reports it up to date", async () => {
    const migrations = readdirSync(path.join(root, "prisma/migrations"), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(migrations[0]).toMatch(/^\d{14}_init$/);
    const first = await runCli(["db", "migrate"]);
    expect(first.exitCode).toBe(0);
    const plural = migrations.length === 1 ? "migration" : "migrations";
    expect(first.stdout).toBe(`PostgreSQL (DATABASE_URL): applied ${migrations.length} ${plural}:\n${migrations.map((m) => `  ${m}\n`).join("")}`);
    expect(first.stdout).not.toContain(url);
    const tables = await withClient(url, (c) => c.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'Grant'`));
    expect(tables.rows[0].n).toBe(1);
    const again = await runCli(["db", "migrate", "--json"]);
    expect(again.exitCode).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ applied: [], alreadyApplied: migrations.length });
  });
});

describe("audit verify", () => {
  it("exits 0 on an intact chain and prints the head; exits 1 naming the first tampered event", async () => {
    const empty = await runCli(["audit", "verify"]);
    expect(empty).toEqual({ exitCode: 0, stdout: "Audit chain intact: 0 events verified.\n", stderr: "" });

    const events = await appendAuditMany(
      [1, 2, 3, 4].map((i) => ({ actorType: "system" as const, action: "test.event", decision: "info" as const, reason: `event ${i}` })),
    );
    const ok = await runCli(["audit", "verify", "--json"]);
    expect(ok.exitCode).toBe(0);
    const data = JSON.parse(ok.stdout) as { ok: boolean; count: number; head: { seq: string; hash: string } };
    expect(data.ok).toBe(true);
    expect(data.count).toBe(4);
    expect(data.head.seq).toBe(events[3]!.seq.toString());
    const withHead = await runCli(["audit", "verify", "--expect-head", `${data.head.seq}:${data.head.hash}`]);
    expect(withHead.exitCode).toBe(0);
    expect((await runCli(["audit", "verify", "--expect-head", "7:nothex"])).exitCode).toBe(2);

    const db = await getDb();
    await db.auditEvent.update({ where: { seq: events[1]!.seq }, data: { reason: "rewritten" } });
    const broken = await runCli(["audit", "verify"]);
    expect(broken.exitCode).toBe(1);
    expect(broken.stdout).toMatch(new RegExp(`^Audit chain BROKEN at seq ${events[1]!.seq}: modified event`));
    const brokenJson = JSON.parse((await runCli(["audit", "verify", "--json"])).stdout) as { ok: boolean; firstBadSeq: string; kind: string };
    expect(brokenJson).toMatchObject({ ok: false, firstBadSeq: events[1]!.seq.toString(), kind: "modified" });
  });
});

describe("entry points in child processes", () => {
  it("npm run frontdesk's entry point runs: --help exits 0, unknown command exits 2", async () => {
    const help = await cli(["--help"], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("keys rotate");
    const unknown = await cli(["frobnicate"], {});
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
    const generated = await cli(["keys", "generate"], {});
    expect(generated.code).toBe(0);
    expect(generated.stdout).toMatch(/^v1:[A-Za-z0-9+/]{43}=\n$/);
  });

  it("keys rotate fails closed with a malformed or missing key, naming the variable and not the value", async () => {
    const malformed = await cli(["keys", "rotate"], { DATABASE_URL: url, FRONTDESK_KEYS: `v1:${badKeyMaterial}` });
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(/configuration error: .*FRONTDESK_KEYS: key list entry 1 \(version "v1"\) decodes to 16 bytes/s);
    expect(malformed.stderr + malformed.stdout).not.toContain(badKeyMaterial);
    const missing = await cli(["keys", "rotate"], { DATABASE_URL: url });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/FRONTDESK_KEYS is required when DATABASE_URL is set/);
    const good = await cli(["keys", "rotate", "--json"], { DATABASE_URL: url, FRONTDESK_KEYS: goodKey });
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ activeVersion: "v1", failed: 0 });
  });

  it("keys status names the active and decrypt-only keys, counts data keys per version, and walks the rolling order", async () => {
    const v2 = `v2:${randomBytes(32).toString("base64")}`;
    const status = await cli(["keys", "status", "--json"], { DATABASE_URL: url, FRONTDESK_KEYS: `${goodKey},${v2}` });
    expect(status.code).toBe(0);
    const data = JSON.parse(status.stdout) as { activeVersion: string; keys: { version: string; role: string }[]; unknownVersions: string[] };
    expect(data.activeVersion).toBe("v1");
    expect(data.keys.map((k) => [k.version, k.role])).toEqual([["v1", "active"], ["v2", "decrypt-only"]]);
    expect(data.unknownVersions).toEqual([]);
    const text = await cli(["keys", "status"], { DATABASE_URL: url, FRONTDESK_KEYS: `${goodKey},${v2}` });
    expect(text.stdout).toMatch(/1\. Add the new key LAST .*\n2\. .*move it FIRST.*\n3\. .*keys rotate.*\n4\. .*remove the old key/s);
    const generated = await cli(["keys", "generate"], { FRONTDESK_KEYS: goodKey });
    expect(generated.stdout).toMatch(/^v2:/);
    expect(generated.stderr).toMatch(/Add it LAST first \(FRONTDESK_KEYS=v1,v2:\.\.\.\)/);
  });

  it("server start-up exits 1 with a clear message on a malformed or missing key, and starts with a good one", async () => {
    const malformed = await startServer({ DATABASE_URL: url, FRONTDESK_KEYS: `v1:${badKeyMaterial},v2:${randomBytes(32).toString("base64")}` });
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(/^Frontdesk cannot start: Invalid configuration:\n {2}- FRONTDESK_KEYS: key list entry 1 .*exactly 32 bytes/);
    expect(malformed.stderr).not.toContain(badKeyMaterial);
    const duplicate = await startServer({ DATABASE_URL: url, FRONTDESK_KEYS: `${goodKey},${goodKey}` });
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toMatch(/FRONTDESK_KEYS: key list entry 2 repeats key version "v1"/);
    const missing = await startServer({ DATABASE_URL: url });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^Frontdesk cannot start: FRONTDESK_KEYS is required when DATABASE_URL is set/);
    const good = await startServer({ DATABASE_URL: url, FRONTDESK_KEYS: goodKey });
    expect(good.stderr).toBe("");
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/"kekVersion":"v1".*"msg":"frontdesk started"/);
  });

  it("embedded start-up without keys generates a 0600 key file, warns loudly, and reuses it", async () => {
    const dataDir = path.join(tmp, "data");
    // No key file and no migrations yet; the database cluster is a copy of the run's one initdb.
    await copyPgliteTemplate(path.join(dataDir, "pglite"));
    const first = await startServer({ FRONTDESK_DATA_DIR: dataDir });
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/WARNING: .*LOCAL USE ONLY/);
    const file = path.join(dataDir, "frontdesk.key");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const key = readFileSync(file, "utf8");
    expect(first.stderr + first.stdout).not.toContain(key.trim().slice(3));
    const second = await startServer({ FRONTDESK_DATA_DIR: dataDir });
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/Using .*frontdesk\.key/);
    expect(readFileSync(file, "utf8")).toBe(key);
  });
});
