import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  deleteEvents,
  hashAt,
  insertForgedEvent,
  rehashEvent,
  shiftSeqs,
  swapEvents,
  updateEvent,
} from "../helpers/audit-tamper";
import { useTestDatabase } from "../helpers/test-db";

const url = await useTestDatabase();

const { appendAudit, appendAuditMany, flushAudit } = await import("@/lib/audit/append");
const { verifyAuditChain } = await import("@/lib/audit/verify");
const { getDb } = await import("@/lib/db/client");

const CHAIN = 30;
const FLIP_DECISION = `decision = (CASE decision WHEN 'allow' THEN 'deny' ELSE 'allow' END)::"Decision"`;
// Small batches, so that breaks are found across batch boundaries too.
const opts = { batchSize: 7 };
let sql: pg.Client;

beforeAll(async () => {
  sql = new pg.Client({ connectionString: url });
  await sql.connect();
});
afterAll(async () => {
  await flushAudit();
  await sql.end();
});

beforeEach(async () => {
  await flushAudit();
  await sql.query(`TRUNCATE "AuditEvent"`);
  // Several batches and single appends, with varied fields, make the chain.
  for (let b = 0; b < 3; b++) {
    await appendAuditMany(
      Array.from({ length: 8 }, (_, i) => ({
        actorType: "gateway" as const,
        actorId: `gw_${b}`,
        userId: `usr_${i % 3}`,
        gatewayId: `gw_${b}`,
        providerId: "prv_github",
        action: "resolve",
        decision: i % 4 === 0 ? ("deny" as const) : ("allow" as const),
        reason: i % 4 === 0 ? "policy" : null,
        context: { tool: "create_issue", n: i, labels: { team: "a", ok: true } },
        requestId: `req_${b}_${i}`,
      })),
    );
  }
  for (let i = 25; i <= CHAIN; i++) await appendAudit({ actorType: "admin", actorId: "usr_admin", action: "admin.gateway.disabled", decision: "info" });
});

describe("verifyAuditChain", () => {
  it("accepts an untouched chain and counts every event", async () => {
    expect(await verifyAuditChain(opts)).toEqual({ ok: true, count: CHAIN });
    expect(await verifyAuditChain()).toEqual({ ok: true, count: CHAIN });
    expect(await verifyAuditChain({ expectedHead: { seq: BigInt(CHAIN), hash: await hashAt(sql, CHAIN) } })).toEqual({
      ok: true,
      count: CHAIN,
    });
  });

  it("accepts an empty log", async () => {
    await sql.query(`TRUNCATE "AuditEvent"`);
    expect(await verifyAuditChain()).toEqual({ ok: true, count: 0 });
  });

  const cases: { name: string; tamper: () => Promise<void>; kind: string; seq: number }[] = [
    { name: "a decision flipped", tamper: () => updateEvent(sql, 12, FLIP_DECISION), kind: "modified", seq: 12 },
    { name: "a context value changed", tamper: () => updateEvent(sql, 5, `context = jsonb_set(context, '{tool}', '"delete_repo"')`), kind: "modified", seq: 5 },
    { name: "a time changed by one millisecond", tamper: () => updateEvent(sql, 20, `at = at + interval '1 millisecond'`), kind: "modified", seq: 20 },
    { name: "a stored hash overwritten", tamper: () => updateEvent(sql, 7, `hash = repeat('a', 64)`), kind: "modified", seq: 7 },
    { name: "the last event changed", tamper: () => updateEvent(sql, CHAIN, `"actorId" = 'usr_someone_else'`), kind: "modified", seq: CHAIN },
    {
      name: "an event changed and rehashed to cover it",
      tamper: async () => {
        await updateEvent(sql, 9, `"userId" = 'usr_other'`);
        await rehashEvent(await getDb(), sql, 9);
      },
      kind: "modified",
      seq: 9,
    },
    { name: "an event deleted", tamper: () => deleteEvents(sql, 14), kind: "deleted", seq: 14 },
    { name: "the first event deleted", tamper: () => deleteEvents(sql, 1), kind: "deleted", seq: 1 },
    { name: "a range of events deleted", tamper: () => deleteEvents(sql, 10, 12), kind: "deleted", seq: 10 },
    {
      name: "an event deleted and later seqs renumbered to hide the gap",
      tamper: async () => {
        await deleteEvents(sql, 10);
        await shiftSeqs(sql, 11, -1);
      },
      kind: "deleted",
      seq: 10,
    },
    {
      name: "an event inserted mid-chain with a correctly forged hash",
      tamper: async () => {
        await shiftSeqs(sql, 15, 1);
        await insertForgedEvent(sql, 15, { forgeHash: true });
      },
      kind: "inserted",
      seq: 15,
    },
    {
      name: "an event inserted mid-chain with a garbage hash",
      tamper: async () => {
        await shiftSeqs(sql, 15, 1);
        await insertForgedEvent(sql, 15, { forgeHash: false });
      },
      kind: "inserted",
      seq: 15,
    },
    {
      name: "an event appended at the end claiming an old predecessor",
      tamper: async () => insertForgedEvent(sql, CHAIN + 1, { prevHash: await hashAt(sql, 19), forgeHash: true }),
      kind: "inserted",
      seq: CHAIN + 1,
    },
    { name: "two adjacent events swapped", tamper: () => swapEvents(sql, 17, 18), kind: "reordered", seq: 17 },
    { name: "two distant events swapped", tamper: () => swapEvents(sql, 4, 25), kind: "reordered", seq: 4 },
    { name: "the first two events swapped", tamper: () => swapEvents(sql, 1, 2), kind: "reordered", seq: 1 },
  ];

  for (const c of cases) {
    it(`reports ${c.kind} at seq ${c.seq}: ${c.name}`, async () => {
      await c.tamper();
      const result = await verifyAuditChain(opts);
      expect(result).toMatchObject({ ok: false, kind: c.kind, firstBadSeq: BigInt(c.seq) });
      // Everything before the break was verified.
      expect(result.count).toBe(Math.min(c.seq - 1, CHAIN));
      if (!result.ok) expect(result.detail).toMatch(/\d/);
      // The default batch size finds the same break.
      expect(await verifyAuditChain()).toEqual(result);
    });
  }

  it("detects a truncated tail only against an expected head recorded elsewhere", async () => {
    const head = { seq: BigInt(CHAIN), hash: await hashAt(sql, CHAIN) };
    await deleteEvents(sql, 28, CHAIN);
    // A chain alone cannot know it was longer...
    expect(await verifyAuditChain(opts)).toEqual({ ok: true, count: 27 });
    // ...the recorded head can.
    expect(await verifyAuditChain({ ...opts, expectedHead: head })).toMatchObject({ ok: false, kind: "deleted", firstBadSeq: 28n, count: 27 });
  });

  it("detects a rewritten chain against an expected head recorded elsewhere", async () => {
    const head = { seq: 20n, hash: await hashAt(sql, 20) };
    // An attacker rewrites an event and recomputes every later hash: the chain is consistent...
    await updateEvent(sql, 18, FLIP_DECISION);
    const db = await getDb();
    for (let s = 18; s <= CHAIN; s++) {
      if (s > 18) await updateEvent(sql, s, `"prevHash" = '${await hashAt(sql, s - 1)}'`);
      await rehashEvent(db, sql, s);
    }
    expect(await verifyAuditChain(opts)).toEqual({ ok: true, count: CHAIN });
    // ...but no longer reaches the head recorded before the rewrite.
    expect(await verifyAuditChain({ ...opts, expectedHead: head })).toMatchObject({ ok: false, kind: "modified", firstBadSeq: 20n });
  });

  it("reports progress per batch", async () => {
    const seen: number[] = [];
    await verifyAuditChain({ batchSize: 10, onProgress: (n) => seen.push(n) });
    expect(seen).toEqual([10, 20, 30]);
  });
});
