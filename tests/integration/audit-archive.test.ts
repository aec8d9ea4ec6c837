// Audit retention (issue 13 "Abuse", invariant 15 with invariant 8): `frontdesk audit archive
// --before <date> --out <file>` writes a verifiable JSON Lines archive, prunes, and records an
// anchor from which the chain left in the table still verifies. Real PostgreSQL, the real CLI.
import { readFileSync, rmSync, statSync, writeFileSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();
const tmp = mkdtempSync(path.join(os.tmpdir(), "frontdesk-archive-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function append(n: number, label: string) {
  const { appendAuditMany } = await import("@/lib/audit/append");
  return appendAuditMany(Array.from({ length: n }, (_, i) => ({ actorType: "system" as const, action: "test.event", decision: "info" as const, reason: `${label} ${i}` })));
}

/** A cut-off strictly between the events appended before and after it (the database clock stamps `at`). */
async function cutoff(): Promise<string> {
  const { getDb } = await import("@/lib/db/client");
  const db = await getDb();
  const clock = async () =>
    new Date((await db.$queryRawUnsafe<{ now: Date }[]>(`SELECT (clock_timestamp() AT TIME ZONE 'UTC')::timestamp(3) AS now`))[0]!.now).getTime();
  const at = (await clock()) + 5;
  // Events appended after this returns must be stamped later than the cut-off: wait until the
  // database clock has passed it (a condition on the clock that stamps `at`, not a sleep).
  while ((await clock()) <= at) await new Promise((r) => setImmediate(r));
  return new Date(at).toISOString();
}

describe("audit archive", () => {
  it("archives, prunes and anchors; the remaining chain and the archive both verify; tampering with either is found", async () => {
    const { runCli } = await import("@/lib/cli/main");
    const { getDb } = await import("@/lib/db/client");
    const db = await getDb();
    await append(5, "old");
    const first = await cutoff();
    await append(3, "new");

    const file = path.join(tmp, "a1.jsonl");
    const run = await runCli(["audit", "archive", "--before", first, "--out", file, "--json"]);
    expect(run.exitCode).toBe(0);
    const result = JSON.parse(run.stdout) as { archived: number; fromSeq: string; toSeq: string; sha256: string; anchor: { seq: string; hash: string } };
    expect(result).toMatchObject({ archived: 5, fromSeq: "1", toSeq: "5" });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8").trim().split("\n")).toHaveLength(6); // header + 5 events
    expect(await db.auditEvent.count()).toBe(3);
    expect((await db.auditAnchor.findMany()).map((a) => [a.seq, a.hash])).toEqual([[5n, result.anchor.hash]]);

    // The table's chain verifies from the anchor, the archive on its own and against the anchor.
    expect(await runCli(["audit", "verify", "--json"]).then((r) => JSON.parse(r.stdout))).toMatchObject({ ok: true, count: 3 });
    const archived = await runCli(["audit", "verify", "--archive", file]);
    expect(archived).toMatchObject({ exitCode: 0 });
    expect(archived.stdout).toMatch(/5 events \(seq 1\.\.5\), anchored in the database/);

    // New events keep linking; a second archive continues from the first anchor.
    await append(2, "later");
    const second = await cutoff();
    await append(1, "tail");
    const file2 = path.join(tmp, "a2.jsonl");
    const run2 = JSON.parse((await runCli(["audit", "archive", "--before", second, "--out", file2, "--json"])).stdout) as { archived: number; fromSeq: string; toSeq: string };
    expect(run2).toMatchObject({ archived: 5, fromSeq: "6", toSeq: "10" });
    const header = JSON.parse(readFileSync(file2, "utf8").split("\n")[0]!) as { archive: { startsAfter: { seq: string; hash: string } } };
    expect(header.archive.startsAfter).toEqual(result.anchor);
    for (const f of [file, file2]) expect((await runCli(["audit", "verify", "--archive", f])).exitCode).toBe(0);
    expect(await runCli(["audit", "verify", "--json"]).then((r) => JSON.parse(r.stdout))).toMatchObject({ ok: true, count: 1 });

    // Archiving everything keeps the newest event (appends link to it).
    const all = await runCli(["audit", "archive", "--before", new Date().toISOString(), "--out", path.join(tmp, "a3.jsonl")]);
    expect(all.stdout).toMatch(/Nothing archived: only the newest event is older/);
    expect(await db.auditEvent.count()).toBe(1);

    // A changed line in the archive is found, and so is a file that is not the recorded one.
    const text = readFileSync(file, "utf8");
    const tampered = path.join(tmp, "tampered.jsonl");
    writeFileSync(tampered, text.replace('"reason":"old 2"', '"reason":"old 9"'));
    const bad = await runCli(["audit", "verify", "--archive", tampered]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout).toMatch(/BROKEN at line 4: event 3 does not match its hash/);
    // A deleted event after the anchor is found in the table.
    await append(2, "more");
    const remaining = await db.auditEvent.findMany({ orderBy: { seq: "asc" } });
    await db.auditEvent.delete({ where: { seq: remaining[1]!.seq } });
    const broken = await runCli(["audit", "verify"]);
    expect(broken.exitCode).toBe(1);
    expect(broken.stdout).toMatch(/BROKEN at seq 12: deleted/);
  });

  it("refuses a missing, malformed or future --before and an existing --out", async () => {
    const { runCli } = await import("@/lib/cli/main");
    for (const before of ["", "yesterday", "2026-13-45", new Date(Date.now() + 86_400_000).toISOString()]) {
      expect((await runCli(["audit", "archive", "--before", before, "--out", path.join(tmp, "x.jsonl")])).exitCode, before).toBe(2);
    }
    expect((await runCli(["audit", "archive", "--before", "2020-01-01"])).exitCode).toBe(2);
    const existing = path.join(tmp, "exists.jsonl");
    writeFileSync(existing, "keep me");
    await append(2, "x");
    const run = await runCli(["audit", "archive", "--before", new Date().toISOString(), "--out", existing]);
    expect(run.exitCode).not.toBe(0);
    expect(readFileSync(existing, "utf8")).toBe("keep me");
  });
});
