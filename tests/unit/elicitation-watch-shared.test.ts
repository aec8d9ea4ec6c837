// Under `next dev` the portal's server actions and the long-poll route have their own copies of
// lib/ in one process (a production build has one, scripts/lib-modules.mjs): a settle in one copy
// must wake the long-polls waiting in the other at once (not at the next database poll).
import { setImmediate as realSetImmediate } from "node:timers";
import { describe, expect, it, vi } from "vitest";

describe("elicitation waiters are process-wide", () => {
  it("a wake from another copy of the module reaches this copy's waiters at once", async () => {
    const served = await import("@/lib/gateways/elicitation-watch");
    vi.resetModules();
    const bundled = await import("@/lib/gateways/elicitation-watch");
    expect(bundled).not.toBe(served);
    // The wait's deadline and the fallback poll run on fake timers that never advance: only a
    // direct wake can end the wait, whatever the machine's load.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
    try {
      const waiting = served.waitForElicitationChange("eli_shared_watch_test", 60_000);
      expect(served.hasElicitationWaiters("eli_shared_watch_test")).toBe(true);
      bundled.wakeElicitationWaiters("eli_shared_watch_test");
      // A wake resolves the wait synchronously; the real setImmediate runs after every pending promise job.
      const notWoken = new Promise<string>((resolve) => realSetImmediate(() => resolve("not woken")));
      expect(await Promise.race([waiting, notWoken])).toBe(true);
      expect(served.hasElicitationWaiters("eli_shared_watch_test")).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});
