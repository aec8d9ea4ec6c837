// Last use / last seen batching (lib/db/touch-batch.ts behind markGrantUsed / markAgentSeen):
// several rows' marks are written by one statement, with the exact time and gateway, a grant's
// updatedAt is not touched by use, and a batch never waits for a row lock (so two instances
// flushing overlapping rows in opposite orders cannot deadlock, and a long transaction holding a
// row does not stall the flush), nor moves a time backwards.
import pg from "pg";
import { describe, expect, it, vi } from "vitest";
import { useTestDatabase } from "../helpers/test-db";

const url = await useTestDatabase();

async function seedGrants(db: Awaited<ReturnType<typeof import("@/lib/db/client").getDb>>, prefix: string, count: number) {
  await db.provider.upsert({ where: { id: "prv_touch" }, create: { id: "prv_touch", slug: "touch", displayName: "Touch", kind: "oauth2" }, update: {} });
  const ns = Array.from({ length: count }, (_, i) => i + 1);
  await db.user.createMany({ data: ns.map((n) => ({ id: `usr_${prefix}${n}`, issuer: "https://idp.test", subject: `${prefix}${n}` })) });
  await db.grant.createMany({ data: ns.map((n) => ({ id: `grt_${prefix}${n}`, userId: `usr_${prefix}${n}`, providerId: "prv_touch", scopes: ["read"] })) });
}

describe("grant last use", () => {
  it("records the time and gateway of each used grant, and leaves other grants and updatedAt alone", async () => {
    const { getDb } = await import("@/lib/db/client");
    const { flushGrantUses, markGrantUsed } = await import("@/lib/grants/touch");
    const db = await getDb();
    await seedGrants(db, "touch", 3);
    const before = await db.grant.findMany({ where: { id: { startsWith: "grt_touch" } }, orderBy: { id: "asc" }, select: { id: true, updatedAt: true } });

    markGrantUsed("grt_touch1", "gw_a");
    markGrantUsed("grt_touch2", "gw_a");
    markGrantUsed("grt_touch2", "gw_b"); // the latest use wins
    const markedAt = Date.now();
    await flushGrantUses();

    const after = await db.grant.findMany({ where: { id: { startsWith: "grt_touch" } }, orderBy: { id: "asc" }, select: { id: true, lastUsedAt: true, lastUsedGatewayId: true, updatedAt: true } });
    expect(after.map((g) => [g.id, g.lastUsedGatewayId])).toEqual([
      ["grt_touch1", "gw_a"],
      ["grt_touch2", "gw_b"],
      ["grt_touch3", null],
    ]);
    for (const g of after.slice(0, 2)) expect(Math.abs(g.lastUsedAt!.getTime() - markedAt)).toBeLessThan(2_000);
    expect(after[2]!.lastUsedAt).toBeNull();
    expect(after.map((g) => g.updatedAt.getTime())).toEqual(before.map((g) => g.updatedAt.getTime()));
  });

  it("does not wait for a row another transaction holds: the other rows are written, the held one is skipped", async () => {
    const { getDb } = await import("@/lib/db/client");
    const { flushGrantUses, markGrantUsed } = await import("@/lib/grants/touch");
    const db = await getDb();
    await seedGrants(db, "held", 2);
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query("BEGIN");
      await holder.query(`SELECT id FROM "Grant" WHERE id = 'grt_held1' FOR UPDATE`);
      markGrantUsed("grt_held1", "gw_a");
      markGrantUsed("grt_held2", "gw_a");
      // A plain UPDATE would block here until the holder commits, i.e. forever (the test times out).
      await flushGrantUses();
      const rows = await db.grant.findMany({ where: { id: { startsWith: "grt_held" } }, orderBy: { id: "asc" }, select: { lastUsedGatewayId: true } });
      expect(rows.map((r) => r.lastUsedGatewayId)).toEqual([null, "gw_a"]);
    } finally {
      await holder.query("ROLLBACK");
      await holder.end();
    }
  });

  it("two instances' batches over the same rows in opposite orders never deadlock, and an older mark never wins", async () => {
    const { getDb } = await import("@/lib/db/client");
    const { createTouchBatch, touchBatchSql } = await import("@/lib/db/touch-batch");
    const db = await getDb();
    await seedGrants(db, "race", 3000);
    const ids = Array.from({ length: 3000 }, (_, i) => `grt_race${i + 1}`);
    const spec = {
      table: "Grant",
      columns: { at: "timestamp(3)", gatewayId: "text" },
      set: `"lastUsedAt" = u.at, "lastUsedGatewayId" = u."gatewayId"`,
      where: `t."lastUsedAt" IS NULL OR t."lastUsedAt" <= u.at`,
      resolution: { column: "lastUsedAt", seconds: 60, orWhen: `t."lastUsedGatewayId" IS DISTINCT FROM u."gatewayId"` },
      what: "grant use",
    } as const;
    const newer = new Date();
    const older = new Date(newer.getTime() - 60_000);
    // Each flush runs inside its own transaction on its own connection, as two instances would,
    // with the rows marked in opposite orders; an unordered, waiting UPDATE deadlocks here (40P01).
    for (let round = 0; round < 3; round++) {
      const sql = touchBatchSql(spec);
      const clients = [new pg.Client({ connectionString: url }), new pg.Client({ connectionString: url })];
      await Promise.all(clients.map((c) => c.connect()));
      try {
        const batches = [
          ids.map((id) => ({ id, at: newer.toISOString(), gatewayId: "gw_new" })),
          [...ids].reverse().map((id) => ({ id, at: older.toISOString(), gatewayId: "gw_old" })),
        ];
        // A large Grant table gets a nested-loop plan with index lookups in the batch's order;
        // the test's few rows would get a hash join over one sequential scan, so force the plan.
        for (const c of clients) await c.query("SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_seqscan = off");
        await Promise.all(clients.map((c) => c.query("BEGIN")));
        await Promise.all(clients.map((c, i) => c.query(sql, [JSON.stringify(batches[i])]).then(() => c.query("SELECT pg_sleep(0.05)")).then(() => c.query("COMMIT"))));
      } finally {
        await Promise.all(clients.map((c) => c.end()));
      }
    }
    // Each row got one of the two writes (a row locked by one batch is skipped by the other).
    const raced = await db.grant.findMany({ where: { id: { in: ids } }, select: { lastUsedGatewayId: true } });
    expect(raced.every((r) => r.lastUsedGatewayId === "gw_new" || r.lastUsedGatewayId === "gw_old")).toBe(true);
    // An older mark arriving after a newer one (another instance's late flush) changes nothing.
    const batch = createTouchBatch<{ at: Date; gatewayId: string }>(spec);
    for (const id of ids) batch.mark(id, { at: newer, gatewayId: "gw_new" });
    await batch.flush();
    for (const id of ids) batch.mark(id, { at: older, gatewayId: "gw_old" });
    await batch.flush();
    const rows = await db.grant.findMany({ where: { id: { in: ids } }, select: { lastUsedGatewayId: true, lastUsedAt: true } });
    expect(new Set(rows.map((r) => r.lastUsedGatewayId))).toEqual(new Set(["gw_new"]));
    expect(new Set(rows.map((r) => r.lastUsedAt!.getTime()))).toEqual(new Set([newer.getTime()]));
  });

  it("writes a grant in constant use once per resolution (not even locking it in between), but at once when another gateway uses it", async () => {
    const { getDb } = await import("@/lib/db/client");
    const { flushGrantUses, markGrantUsed } = await import("@/lib/grants/touch");
    const { USE_RESOLUTION_SECONDS } = await import("@/lib/db/touch-batch");
    const db = await getDb();
    await seedGrants(db, "steady", 1);
    const version = async () => {
      const [row] = await db.$queryRaw<{ xmin: string; xmax: string; at: Date | null; gw: string | null }[]>`
        SELECT xmin::text, xmax::text, "lastUsedAt" AS at, "lastUsedGatewayId" AS gw FROM "Grant" WHERE id = 'grt_steady1'`;
      return row!;
    };
    const t0 = Date.now();
    const useAt = async (offsetSeconds: number, gatewayId: string) => {
      vi.useFakeTimers({ toFake: ["Date"], now: t0 + offsetSeconds * 1000 });
      try {
        markGrantUsed("grt_steady1", gatewayId);
      } finally {
        vi.useRealTimers();
      }
      await flushGrantUses();
      return version();
    };
    const first = await useAt(0, "gw_a");
    expect([first.at?.getTime(), first.gw]).toEqual([t0, "gw_a"]);
    // Used again by the same gateway within the resolution: the row is not written, nor locked.
    const again = await useAt(USE_RESOLUTION_SECONDS - 1, "gw_a");
    expect(again).toEqual(first);
    // Another gateway: written at once (admins revoke by the last gateway).
    const other = await useAt(USE_RESOLUTION_SECONDS - 1, "gw_b");
    expect([other.at?.getTime(), other.gw]).toEqual([t0 + (USE_RESOLUTION_SECONDS - 1) * 1000, "gw_b"]);
    // Once the stored time is a resolution old, the next use is written.
    const later = await useAt(2 * USE_RESOLUTION_SECONDS - 1, "gw_b");
    expect([later.at?.getTime(), later.gw]).toEqual([t0 + (2 * USE_RESOLUTION_SECONDS - 1) * 1000, "gw_b"]);
  });

  it("writes an agent seen constantly once per resolution, and its first sighting at once", async () => {
    const { getDb } = await import("@/lib/db/client");
    const { flushAgentSightings, markAgentSeen } = await import("@/lib/agents/touch");
    const { USE_RESOLUTION_SECONDS } = await import("@/lib/db/touch-batch");
    const db = await getDb();
    await db.agent.create({ data: { id: "agt_steady", issuer: "https://ci.test", subject: "steady-agent", displayName: "steady" } });
    const version = async () => {
      const [row] = await db.$queryRaw<{ xmin: string; first: Date | null; last: Date | null }[]>`
        SELECT xmin::text, "firstSeenAt" AS first, "lastSeenAt" AS last FROM "Agent" WHERE id = 'agt_steady'`;
      return row!;
    };
    const t0 = Date.now();
    const seenAt = async (offsetSeconds: number) => {
      vi.useFakeTimers({ toFake: ["Date"], now: t0 + offsetSeconds * 1000 });
      try {
        markAgentSeen("agt_steady");
      } finally {
        vi.useRealTimers();
      }
      await flushAgentSightings();
      return version();
    };
    const first = await seenAt(0);
    expect([first.first?.getTime(), first.last?.getTime()]).toEqual([t0, t0]);
    // Seen again within the resolution: the row is not written.
    expect(await seenAt(USE_RESOLUTION_SECONDS - 1)).toEqual(first);
    // A resolution after the stored time: written, first sighting kept.
    const later = await seenAt(USE_RESOLUTION_SECONDS);
    expect([later.first?.getTime(), later.last?.getTime()]).toEqual([t0, t0 + USE_RESOLUTION_SECONDS * 1000]);
    expect(later.xmin).not.toBe(first.xmin);
  });
});
