// The hot-path configuration cache: concurrent misses share one load, entries expire, local
// invalidation is immediate, failed loads are not cached.
import { describe, expect, it } from "vitest";
import { TtlCache } from "@/lib/gateways/ttl-cache";

describe("TtlCache", () => {
  it("shares one load between concurrent misses and serves hits until the TTL", async () => {
    const cache = new TtlCache<number>(50);
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 10));
      return loads;
    };
    const values = await Promise.all(Array.from({ length: 20 }, () => cache.get("k", load)));
    expect(new Set(values)).toEqual(new Set([1]));
    expect(await cache.get("k", load)).toBe(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(await cache.get("k", load)).toBe(2);
  });

  it("forgets on delete, and does not keep a failed load", async () => {
    const cache = new TtlCache<string>(10_000);
    expect(await cache.get("k", async () => "a")).toBe("a");
    cache.delete("k");
    expect(await cache.get("k", async () => "b")).toBe("b");
    await expect(cache.get("x", async () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    expect(await cache.get("x", async () => "up")).toBe("up");
  });
});
