// Reads waiting for a connection share one statement; a read already sent is never joined (a
// later caller must see what was committed before it asked).
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { groupedStatement } from "@/lib/db/grouped-statement";
import { useTestDatabase } from "../helpers/test-db";

let pool: pg.Pool;
let url: string;

beforeAll(async () => {
  url = await useTestDatabase({ migrated: false });
  pool = new pg.Pool({ connectionString: url, max: 1 });
  await pool.query("CREATE SEQUENCE reads");
});
afterAll(() => pool.end());

type Row = { n: string; who: string };

// `n` is taken once per statement that really runs: callers of one statement see the same.
const readWho = (text = "", maxKeys = 64) =>
  groupedStatement<string, Row>(() => pool, {
    name: `read-${text.length}-${maxKeys}`,
    maxKeys,
    toJson: (who) => ({ who }),
    text: `SELECT k.i, (SELECT nextval('reads'))::text AS n, k.who ${text} FROM jsonb_to_recordset($1::jsonb) AS k(i int, who text)`,
  });
const read = readWho();

describe("groupedStatement", () => {
  it("reads every key queued behind a busy pool in one statement, each caller its own key's rows", async () => {
    const busy = await pool.connect();
    const queued = [read("alice"), read("bob"), read("alice"), read("carol")];
    busy.release();
    const rows = await Promise.all(queued);
    expect(rows.map((r) => r.map((x) => x.who))).toEqual([["alice"], ["bob"], ["alice"], ["carol"]]);
    expect(new Set(rows.map((r) => r[0]!.n)).size).toBe(1);
    // Identical keys are read once and share their rows.
    expect(rows[2]![0]).toBe(rows[0]![0]);
  });

  it("does not join a read that has already been sent", async () => {
    // Another session holds a lock the read waits for, so the read stays sent and unanswered
    // until the later caller has queued (no timing involved).
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock(4242)");
      const slowRead = readWho(", pg_advisory_xact_lock_shared(4242)::text AS locked");
      const slow = slowRead("dave");
      // The statement has reached the database: it waits there for the lock.
      await vi.waitFor(async () => {
        const { rows } = await holder.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
        expect(rows[0]!.n).toBe(1);
      }, { timeout: 10_000 });
      const later = slowRead("dave");
      await vi.waitFor(() => expect(pool.waitingCount).toBe(1), { timeout: 10_000 });
      await holder.query("SELECT pg_advisory_unlock(4242)");
      const [first, second] = await Promise.all([slow, later]);
      expect(second[0]!.n).not.toBe(first[0]!.n);
    } finally {
      await holder.end();
    }
  });

  it("splits a batch over maxKeys into several statements", async () => {
    const small = readWho("", 2);
    const busy = await pool.connect();
    const queued = ["a", "b", "c", "d", "e"].map((who) => small(who));
    busy.release();
    const rows = await Promise.all(queued);
    expect(rows.map((r) => r[0]!.who)).toEqual(["a", "b", "c", "d", "e"]);
    expect(new Set(rows.map((r) => r[0]!.n)).size).toBe(3);
  });

  it("hands a failed statement's error to every caller in it, and serves the next read", async () => {
    const failingRead = groupedStatement<string, Row>(() => pool, { name: "bad-read", maxKeys: 64, toJson: (who) => ({ who }), text: "SELECT k.i, 1/0 AS n FROM jsonb_to_recordset($1::jsonb) AS k(i int, who text)" });
    const busy = await pool.connect();
    const failing = [failingRead("erin"), failingRead("frank")];
    busy.release();
    for (const f of failing) await expect(f).rejects.toThrow(/division by zero/);
    expect((await read("grace"))[0]!.n).toMatch(/^\d+$/);
  });
});
