// Last use of grants (markGrantUsed / flushGrantUses): several grants' uses are written by one
// statement, with the exact time and gateway, and a grant's updatedAt is not touched by use.
import { describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();

describe("grant last use", () => {
  it("records the time and gateway of each used grant, and leaves other grants and updatedAt alone", async () => {
    const { getDb } = await import("@/lib/db/client");
    const { flushGrantUses, markGrantUsed } = await import("@/lib/grants/touch");
    const db = await getDb();
    await db.provider.create({ data: { id: "prv_touch", slug: "touch", displayName: "Touch", kind: "oauth2" } });
    for (const n of [1, 2, 3]) {
      await db.user.create({ data: { id: `usr_touch${n}`, issuer: "https://idp.test", subject: `touch${n}` } });
      await db.grant.create({ data: { id: `grt_touch${n}`, userId: `usr_touch${n}`, providerId: "prv_touch", scopes: ["read"] } });
    }
    const before = await db.grant.findMany({ orderBy: { id: "asc" }, select: { id: true, updatedAt: true } });

    markGrantUsed("grt_touch1", "gw_a");
    markGrantUsed("grt_touch2", "gw_a");
    markGrantUsed("grt_touch2", "gw_b"); // the latest use wins
    const markedAt = Date.now();
    await flushGrantUses();

    const after = await db.grant.findMany({ orderBy: { id: "asc" }, select: { id: true, lastUsedAt: true, lastUsedGatewayId: true, updatedAt: true } });
    expect(after.map((g) => [g.id, g.lastUsedGatewayId])).toEqual([
      ["grt_touch1", "gw_a"],
      ["grt_touch2", "gw_b"],
      ["grt_touch3", null],
    ]);
    for (const g of after.slice(0, 2)) expect(Math.abs(g.lastUsedAt!.getTime() - markedAt)).toBeLessThan(2_000);
    expect(after[2]!.lastUsedAt).toBeNull();
    expect(after.map((g) => g.updatedAt.getTime())).toEqual(before.map((g) => g.updatedAt.getTime()));
  });
});
