// The per-provider circuit breaker's state machine (lib/grants/upstream-breaker.ts): closed until
// `failureThreshold` consecutive failures, open (fail fast) for `openMs`, then exactly one trial
// call (half-open) whose outcome closes or re-opens it. Times are passed in, not waited for.
import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "@/lib/grants/upstream-breaker";

const opts = { failureThreshold: 3, openMs: 1_000 };

describe("upstream circuit breaker", () => {
  it("stays closed below the threshold, and a success resets the count", () => {
    const b = new CircuitBreaker("p", opts);
    b.recordFailure(0);
    b.recordFailure(0);
    b.recordSuccess();
    b.recordFailure(0);
    b.recordFailure(0);
    expect(b.status).toBe("closed");
    expect(b.tryAcquire(0)).toEqual({ allowed: true });
  });

  it("opens at the threshold and fails fast until the open period ends", () => {
    const b = new CircuitBreaker("p", opts);
    for (let i = 0; i < 3; i++) b.recordFailure(100);
    expect(b.status).toBe("open");
    expect(b.tryAcquire(100)).toEqual({ allowed: false, retryInMs: 1_000 });
    expect(b.tryAcquire(1_099)).toEqual({ allowed: false, retryInMs: 1 });
  });

  it("half-open lets exactly one trial through; its success closes the breaker", () => {
    const b = new CircuitBreaker("p", opts);
    for (let i = 0; i < 3; i++) b.recordFailure(0);
    expect(b.tryAcquire(1_000)).toEqual({ allowed: true });
    expect(b.status).toBe("half_open");
    expect(b.tryAcquire(1_001).allowed).toBe(false);
    b.recordSuccess();
    expect(b.status).toBe("closed");
    expect(b.tryAcquire(1_002)).toEqual({ allowed: true });
  });

  it("a failed trial opens it again for a full period", () => {
    const b = new CircuitBreaker("p", opts);
    for (let i = 0; i < 3; i++) b.recordFailure(0);
    expect(b.tryAcquire(1_000).allowed).toBe(true);
    b.recordFailure(1_000);
    expect(b.status).toBe("open");
    expect(b.tryAcquire(1_500)).toEqual({ allowed: false, retryInMs: 500 });
    expect(b.tryAcquire(2_000).allowed).toBe(true);
  });

  it("a trial that ended without the provider's answer lets the next caller try at once", () => {
    const b = new CircuitBreaker("p", opts);
    for (let i = 0; i < 3; i++) b.recordFailure(0);
    expect(b.tryAcquire(1_000).allowed).toBe(true);
    b.abandonTrial(1_000);
    expect(b.tryAcquire(1_000).allowed).toBe(true);
  });
});
