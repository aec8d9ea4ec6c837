// A circuit breaker per provider for token refreshes: when a provider's token endpoint keeps
// failing (5xx, network errors, timeouts, or calls slower than the resolve deadline), further
// refreshes for it fail fast for a while instead of each one holding a refresh slot, a pooled
// connection and the gateway's request until the HTTP timeout. After the open period one trial
// refresh goes through (half-open): success closes the breaker, failure opens it again.
//
// Per process on purpose: each instance learns of an outage from its own calls within a few
// requests, and sharing the state through PostgreSQL would put a write on every failure of a
// path that is already degraded. `invalid_grant` is an answer, not an outage: it never counts.
import { log } from "@/lib/log";

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long it stays open before a trial call. */
  openMs: number;
}

export type BreakerDecision = { allowed: true } | { allowed: false; retryInMs: number };

type State = { kind: "closed"; failures: number } | { kind: "open"; until: number } | { kind: "half_open" };

export class CircuitBreaker {
  private state: State = { kind: "closed", failures: 0 };

  constructor(
    private readonly name: string,
    private readonly opts: BreakerOptions,
  ) {}

  /** May a call go to the upstream now? In half-open state only the first caller gets through. */
  tryAcquire(now = Date.now()): BreakerDecision {
    const s = this.state;
    if (s.kind === "closed") return { allowed: true };
    if (s.kind === "open") {
      if (now < s.until) return { allowed: false, retryInMs: s.until - now };
      this.state = { kind: "half_open" };
      return { allowed: true };
    }
    // A trial is under way: the others wait for its verdict without calling.
    return { allowed: false, retryInMs: this.opts.openMs };
  }

  recordSuccess(): void {
    if (this.state.kind !== "closed") log.info("upstream breaker closed", { provider: this.name });
    this.state = { kind: "closed", failures: 0 };
  }

  recordFailure(now = Date.now()): void {
    const s = this.state;
    if (s.kind === "closed" && s.failures + 1 < this.opts.failureThreshold) {
      this.state = { kind: "closed", failures: s.failures + 1 };
      return;
    }
    if (s.kind !== "open") log.warn("upstream breaker open", { provider: this.name, openMs: this.opts.openMs });
    this.state = { kind: "open", until: now + this.opts.openMs };
  }

  /** A trial that ended without an answer from the upstream (e.g. the database failed first): let the next caller try. */
  abandonTrial(now = Date.now()): void {
    if (this.state.kind === "half_open") this.state = { kind: "open", until: now };
  }

  get status(): "closed" | "open" | "half_open" {
    return this.state.kind;
  }
}

const breakers = new Map<string, CircuitBreaker>();

/** The breaker of one provider (by id), created on first use. */
export function breakerFor(providerId: string, opts: BreakerOptions): CircuitBreaker {
  let b = breakers.get(providerId);
  if (!b) {
    b = new CircuitBreaker(providerId, opts);
    breakers.set(providerId, b);
  }
  return b;
}
