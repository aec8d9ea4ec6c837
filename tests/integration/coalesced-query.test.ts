// Identical hot-path reads waiting for a connection share one statement; a read already sent is
// never joined (a later caller must see what was committed before it asked).
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { coalescedQuery } from "@/lib/db/coalesced-query";
import { useTestDatabase } from "../helpers/test-db";

let pool: pg.Pool;
let url: string;

beforeAll(async () => {
  url = await useTestDatabase({ migrated: false });
  pool = new pg.Pool({ connectionString: url, max: 1 });
  await pool.query("CREATE SEQUENCE reads");
});
afterAll(() => pool.end());

// Each statement that really runs takes the next number; callers sharing one statement see the same.
const read = (who: string) => coalescedQuery<{ n: string }>(pool, { name: "next-read", text: "SELECT nextval('reads')::text AS n, $1::text AS who", values: [who] }).then((r) => r.rows[0]!.n);

describe("coalescedQuery", () => {
  it("runs identical reads queued behind a busy pool once, different ones each", async () => {
    const busy = await pool.connect();
    const queued = [read("alice"), read("alice"), read("alice"), read("bob")];
    busy.release();
    const [a1, a2, a3, b] = await Promise.all(queued);
    expect(a2).toBe(a1);
    expect(a3).toBe(a1);
    expect(b).not.toBe(a1);
  });

  it("does not join a read that has already been sent", async () => {
    // Another session holds a lock the read waits for, so the read stays sent and unanswered
    // until the later caller has queued (no timing involved).
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock(4242)");
      const text = "SELECT nextval('reads')::text AS n, pg_advisory_xact_lock_shared(4242)::text, $1::text AS who";
      const slow = coalescedQuery<{ n: string }>(pool, { name: "slow-read", text, values: ["carol"] });
      // The only connection is taken: the statement is on its way to the database.
      await vi.waitFor(() => expect(pool.idleCount + pool.waitingCount).toBe(0), { timeout: 10_000 });
      const later = coalescedQuery<{ n: string }>(pool, { name: "slow-read", text, values: ["carol"] });
      await vi.waitFor(() => expect(pool.waitingCount).toBe(1), { timeout: 10_000 });
      await holder.query("SELECT pg_advisory_unlock(4242)");
      const [first, second] = await Promise.all([slow, later]);
      expect(second.rows[0]!.n).not.toBe(first.rows[0]!.n);
    } finally {
      await holder.end();
    }
  });

  it("hands a failed statement's error to every caller that shared it, and serves the next read", async () => {
    const busy = await pool.connect();
    const failing = [0, 1].map(() => coalescedQuery(pool, { name: "bad-read", text: "SELECT 1/0 AS n, $1::text AS who", values: ["dave"] }));
    busy.release();
    for (const f of failing) await expect(f).rejects.toThrow(/division by zero/);
    expect(await read("erin")).toMatch(/^\d+$/);
  });
});
