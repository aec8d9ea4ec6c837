// server.ts serves long-polls from its own copy of lib/, while the portal settles elicitations
// inside Next's bundle: both copies live in one process, so a settle in one must wake the
// long-polls waiting in the other at once (not at the next database poll).
import { describe, expect, it, vi } from "vitest";

describe("elicitation waiters are process-wide", () => {
  it("a wake from another copy of the module reaches this copy's waiters at once", async () => {
    const served = await import("@/lib/gateways/elicitation-watch");
    vi.resetModules();
    const bundled = await import("@/lib/gateways/elicitation-watch");
    expect(bundled).not.toBe(served);
    const started = performance.now();
    // Shorter than the poll interval: only a direct wake can end the wait early.
    const waiting = served.waitForElicitationChange("eli_shared_watch_test", 150);
    bundled.wakeElicitationWaiters("eli_shared_watch_test");
    expect(await waiting).toBe(true);
    expect(performance.now() - started).toBeLessThan(100);
  });
});
