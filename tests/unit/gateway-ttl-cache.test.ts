// The hot-path configuration cache: concurrent misses share one load, entries expire, local
// invalidation is immediate, failed loads are not cached.
import { describe, expect, it, vi } from "vitest";
import { TtlCache } from "@/lib/gateways/ttl-cache";

describe("TtlCache", () => {
  it("shares one load between concurrent misses and serves hits until the TTL", async () => {
    // The clock is the test's (only Date is faked): a busy machine cannot age an entry.
    vi.useFakeTimers({ toFake: ["Date"], now: 1_000_000 });
    try {
      const cache = new TtlCache<number>(50);
      let loads = 0;
      let finish!: () => void;
      const loaded = new Promise<void>((resolve) => (finish = resolve));
      const load = async () => {
        loads++;
        await loaded;
        return loads;
      };
      const all = Promise.all(Array.from({ length: 20 }, () => cache.get("k", load)));
      finish();
      expect(new Set(await all)).toEqual(new Set([1]));
      vi.setSystemTime(1_000_049);
      expect(await cache.get("k", load)).toBe(1);
      vi.setSystemTime(1_000_050);
      expect(await cache.get("k", load)).toBe(2);
    } finally {
      vi.useRealTimers();
    }
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
