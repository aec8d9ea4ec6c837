// The audit chain on the embedded default (PGlite: one connection, advisory locks available).
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { freshEmbeddedDataDir } from "../helpers/pglite-template";

const dataDir = await freshEmbeddedDataDir("frontdesk-audit-pglite-");
delete process.env.DATABASE_URL;
process.env.FRONTDESK_DATA_DIR = dataDir;

const { appendAudit, appendAuditMany, flushAudit, getAuditWriteStats } = await import("@/lib/audit/append");
const { verifyAuditChain } = await import("@/lib/audit/verify");
const { listAuditEvents } = await import("@/lib/audit/query");
const { closeDb, getDb, isEmbedded } = await import("@/lib/db/client");

afterAll(async () => {
  await flushAudit();
  await closeDb();
  rmSync(dataDir, { recursive: true, force: true });
});

const event = (i: number) => ({ actorType: "user" as const, userId: "https://idp.test|alice", action: "grant.revoked", decision: "info" as const, context: { i } });

describe("audit on embedded PGlite", () => {
  it("group-commits concurrent appends, honours caller transactions and verifies", async () => {
    expect(isEmbedded()).toBe(true);
    const db = await getDb();
    const before = getAuditWriteStats();
    const appended = await Promise.all(Array.from({ length: 50 }, (_, i) => appendAudit(event(i))));
    expect(appended.map((a) => a.seq).sort((a, b) => Number(a - b))).toEqual(Array.from({ length: 50 }, (_, i) => BigInt(i + 1)));
    expect(getAuditWriteStats().batches - before.batches).toBeLessThan(50);

    await expect(
      db.$transaction(async (tx) => {
        await appendAuditMany([event(100), event(101)], tx);
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    const committed = await db.$transaction((tx) => appendAudit(event(102), tx));
    expect(committed.seq).toBe(51n);

    expect(await verifyAuditChain({ batchSize: 16 })).toEqual({ ok: true, count: 51 });
    const page = await listAuditEvents({ userId: "https://idp.test|alice", limit: 5 });
    expect(page.events.map((e) => e.seq)).toEqual([51n, 50n, 49n, 48n, 47n]);

    await db.$executeRawUnsafe(`UPDATE "AuditEvent" SET decision = 'allow' WHERE seq = 20`);
    expect(await verifyAuditChain()).toMatchObject({ ok: false, kind: "modified", firstBadSeq: 20n, count: 19 });
  });
});
