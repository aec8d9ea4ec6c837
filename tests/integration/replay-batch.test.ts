// Client-assertion jti single use with grouped inserts: among concurrent uses of the same jti
// (in one batch or across batches) exactly one is fresh, a later use is a replay, and the row
// is stored with its expiry.
import { describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();

describe("consumeAssertionId", () => {
  it("accepts each jti exactly once, within a batch, across batches and later", async () => {
    const { consumeAssertionId } = await import("@/lib/gateways/replay");
    const { getDb } = await import("@/lib/db/client");
    const expiresAt = new Date(Date.now() + 300_000);
    const jtis = Array.from({ length: 40 }, (_, i) => `jti-${i % 10}`); // each jti four times, concurrently
    const results = await Promise.all(jtis.map((jti) => consumeAssertionId("gw_replay", jti, expiresAt)));
    const freshPerJti = new Map<string, number>();
    jtis.forEach((jti, i) => freshPerJti.set(jti, (freshPerJti.get(jti) ?? 0) + (results[i] ? 1 : 0)));
    expect([...freshPerJti.values()]).toEqual(Array(10).fill(1));
    // Later, one at a time: replays; a new jti and another gateway's same jti are fresh.
    expect(await consumeAssertionId("gw_replay", "jti-3", expiresAt)).toBe(false);
    expect(await consumeAssertionId("gw_replay", "jti-new", expiresAt)).toBe(true);
    expect(await consumeAssertionId("gw_other", "jti-3", expiresAt)).toBe(true);
    const rows = await (await getDb()).replayNonce.findMany({ where: { key: { startsWith: "jti:gw_replay:" } } });
    expect(rows).toHaveLength(11);
    for (const r of rows) expect(Math.abs(r.expiresAt.getTime() - expiresAt.getTime())).toBeLessThan(1_000);
  });
});
