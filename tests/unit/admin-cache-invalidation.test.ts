// Regression: disabling a gateway in the dashboard did not fail its next call. Next.js bundled
// server actions and route handlers separately (still so under `next dev`; a production build
// requires one compiled copy, scripts/lib-modules.mjs), so each had its own lib/gateways/ttl-cache;
// the admin action invalidated its copy while the gateway route kept serving the cached row.
// Two module instances stand in for the two bundles here.
import { describe, expect, it, vi } from "vitest";

async function freshCopy() {
  vi.resetModules();
  return import("@/lib/gateways/ttl-cache");
}

describe("config caches across bundle copies", () => {
  it("an invalidate in one copy makes every other copy reload", async () => {
    const routeCopy = await freshCopy();
    const actionCopy = await freshCopy();
    expect(routeCopy.TtlCache).not.toBe(actionCopy.TtlCache);
    const routeCache = new routeCopy.TtlCache<string>(60_000);
    const actionCache = new actionCopy.TtlCache<string>(60_000);
    let loads = 0;
    const load = async () => `status-${++loads}`;
    expect(await routeCache.get("gw_1", load)).toBe("status-1");
    expect(await routeCache.get("gw_1", load)).toBe("status-1");

    actionCache.invalidate("gw_1");
    expect(await routeCache.get("gw_1", load)).toBe("status-2");

    // A plain delete (e.g. not caching a miss) stays local and does not flush other caches.
    actionCache.delete("gw_1");
    expect(await routeCache.get("gw_1", load)).toBe("status-2");
    actionCache.clear();
    expect(await routeCache.get("gw_1", load)).toBe("status-3");
  });
});
