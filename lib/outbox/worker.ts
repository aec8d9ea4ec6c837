// Delivers outbox events, at least once, from every instance. Claiming is one statement:
// `FOR UPDATE SKIP LOCKED` lets concurrent instances pick disjoint due rows without waiting on
// each other, and the claim moves nextAttemptAt forward by a lease, so while one instance is
// delivering an event no other instance sees it as due. The row lock lasts only for the claim;
// the lease is what survives: an instance killed mid-delivery (kill -9, OOM, power) simply stops
// renewing nothing, and the event becomes due again when the lease ends. Finishing is fenced by
// the attempt number, so a stalled instance that wakes after its lease cannot overwrite the newer
// attempt's result. Receivers deduplicate by the event id (it is the JWT `jti`).
//
// An instance is woken at once by its own commits (wakeOutbox, called after the transaction that
// wrote the event) and polls the table as a fallback (events written by a process without a
// worker, retries that became due, leases that ran out).
import { getDb } from "@/lib/db/client";
import { env } from "@/lib/env";
import { log } from "@/lib/log";
import { getSigningKey } from "@/lib/signing/key";
import { retryDelayMs } from "./backoff";
import { deliverOutboxEvent } from "./deliver";
import { DeliveryError } from "./post";
import { pruneOutbox } from "./prune";
import { setOutboxWaker } from "./wake";

export interface ClaimedEvent {
  id: string;
  kind: string;
  target: string;
  payload: unknown;
  attempts: number;
}

/** Deliveries in flight at once per instance. */
const MAX_IN_FLIGHT = 16;

/** One attempt may take at most this long; always well inside the lease. */
export function deliveryTimeoutMs(): number {
  return Math.min(10_000, Math.floor(env().OUTBOX_LEASE_MS / 2));
}

async function claimDueEvents(limit: number): Promise<ClaimedEvent[]> {
  const db = await getDb();
  const leaseSeconds = env().OUTBOX_LEASE_MS / 1000;
  // Timestamps are stored as UTC wall time (timestamp without time zone), hence AT TIME ZONE.
  return db.$queryRaw<ClaimedEvent[]>`
    UPDATE "OutboxEvent"
       SET "attempts" = "attempts" + 1,
           "nextAttemptAt" = (now() AT TIME ZONE 'UTC') + make_interval(secs => ${leaseSeconds}::double precision)
     WHERE "id" IN (
       SELECT "id" FROM "OutboxEvent"
        WHERE "deliveredAt" IS NULL AND "failedAt" IS NULL AND "nextAttemptAt" <= (now() AT TIME ZONE 'UTC')
        ORDER BY "nextAttemptAt"
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
    RETURNING "id", "kind", "target", "payload", "attempts"`;
}

async function finish(event: ClaimedEvent, outcome: { ok: true; note?: string } | { ok: false; error: DeliveryError }): Promise<void> {
  const db = await getDb();
  const fence = { id: event.id, attempts: event.attempts, deliveredAt: null, failedAt: null };
  if (outcome.ok) {
    await db.outboxEvent.updateMany({ where: fence, data: { deliveredAt: new Date(), lastError: outcome.note ?? null } });
    return;
  }
  const e = env();
  const reason = outcome.error.reason.slice(0, 100);
  if (outcome.error.permanent || event.attempts >= e.OUTBOX_MAX_ATTEMPTS) {
    await db.outboxEvent.updateMany({ where: fence, data: { failedAt: new Date(), lastError: reason } });
    log.error("outbox event given up", { eventId: event.id, kind: event.kind, attempts: event.attempts, reason });
    return;
  }
  const delay = retryDelayMs(event.attempts, e.OUTBOX_RETRY_BASE_MS, e.OUTBOX_RETRY_MAX_MS);
  await db.outboxEvent.updateMany({ where: fence, data: { nextAttemptAt: new Date(Date.now() + delay), lastError: reason } });
  log.warn("outbox delivery failed, will retry", { eventId: event.id, kind: event.kind, attempts: event.attempts, reason, retryInMs: delay });
}

async function deliverAndFinish(event: ClaimedEvent, claimStart: number): Promise<void> {
  let outcome: Parameters<typeof finish>[1];
  try {
    // The whole attempt, from the claim on, stays inside half the lease (see AttemptBudget).
    const result = await deliverOutboxEvent(event, { deadline: claimStart + deliveryTimeoutMs(), minimumMs: deliveryTimeoutMs() / 4 });
    outcome = { ok: true, note: result === "delivered" ? undefined : result };
  } catch (e) {
    outcome = { ok: false, error: e instanceof DeliveryError ? e : new DeliveryError(e instanceof Error ? e.name : "error") };
  }
  try {
    await finish(event, outcome);
  } catch (e) {
    // The database is unreachable: the lease runs out and the event is attempted again (at least once).
    log.warn("outbox: could not record a delivery outcome", { eventId: event.id, reason: e instanceof Error ? e.name : "unknown" });
  }
}

class OutboxPump {
  private inFlight = new Set<Promise<void>>();
  private pumping = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  /** Claims and starts due events until none are due or the in-flight limit is reached. */
  wake(): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.pump().finally(() => {
      this.pumping = false;
    });
  }

  private async pump(): Promise<void> {
    do {
      this.again = false;
      const room = MAX_IN_FLIGHT - this.inFlight.size;
      if (room <= 0) return;
      let claimed: ClaimedEvent[];
      let claimStart: number;
      try {
        // Taken before the claim: the lease starts at the database's clock during the claim, so
        // every attempt's deadline counted from here ends before its lease does.
        claimStart = Date.now();
        claimed = await claimDueEvents(room);
      } catch (e) {
        // Database outage: the poll tries again later; nothing is lost, events stay in the table.
        log.warn("outbox: claiming events failed", { reason: e instanceof Error ? e.name : "unknown" });
        return;
      }
      for (const event of claimed) {
        const flight = deliverAndFinish(event, claimStart).finally(() => {
          this.inFlight.delete(flight);
          // A full claim may have left due events behind: look again when a slot frees.
          if (claimed.length === room) this.wake();
        });
        this.inFlight.add(flight);
      }
      if (claimed.length === room) this.again = true;
    } while (this.again);
  }

  start(pollMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.wake(), pollMs);
    this.timer.unref();
    // Load the signing key before the first claim, so that a starting instance's first attempts
    // do not spend their budget on it (AttemptBudget); the poll covers a failure here.
    void getSigningKey()
      .catch(() => undefined)
      .finally(() => {
        if (this.timer) this.wake();
      });
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Resolves once nothing is due and nothing is in flight (tests, CLI). */
  async drain(): Promise<void> {
    for (;;) {
      while (this.pumping) await new Promise((r) => setTimeout(r, 5));
      if (this.inFlight.size > 0) {
        await Promise.all(this.inFlight);
        continue;
      }
      const claimStart = Date.now();
      const claimed = await claimDueEvents(MAX_IN_FLIGHT);
      if (claimed.length === 0 && this.inFlight.size === 0 && !this.pumping) return;
      await Promise.all(claimed.map((event) => deliverAndFinish(event, claimStart)));
    }
  }
}

// On globalThis for the dev server only, so every copy wakes the one worker: `next dev`
// (Turbopack) gives instrumentation, route handlers and server actions each their own copy of lib/
// and re-evaluates modules on edits; a production build has one copy per process
// (scripts/lib-modules.mjs), where this is a plain module variable in effect.
const holder = globalThis as typeof globalThis & { __frontdeskOutbox?: { pump: OutboxPump; started: boolean; pruner?: NodeJS.Timeout } };

function state() {
  holder.__frontdeskOutbox ??= { pump: new OutboxPump(), started: false };
  return holder.__frontdeskOutbox;
}

const PRUNE_EVERY_MS = 3_600_000;

async function pruneQuietly(): Promise<void> {
  try {
    const { deleted } = await pruneOutbox();
    if (deleted > 0) log.info("outbox: pruned ended events", { deleted, retentionDays: env().OUTBOX_RETENTION_DAYS });
  } catch (e) {
    log.warn("outbox: pruning failed", { reason: e instanceof Error ? e.name : "unknown" });
  }
}

/** Starts this process's delivery worker (idempotent: one per process however often called). */
export function startOutboxWorker(): void {
  const s = state();
  if (s.started) return;
  s.started = true;
  setOutboxWaker(() => s.pump.wake());
  s.pump.start(env().OUTBOX_POLL_MS);
  // Retention: delivered and given-up events go after OUTBOX_RETENTION_DAYS (lib/outbox/prune.ts).
  s.pruner = setInterval(() => void pruneQuietly(), PRUNE_EVERY_MS);
  s.pruner.unref();
  void pruneQuietly();
}

export function stopOutboxWorker(): void {
  const s = state();
  s.started = false;
  setOutboxWaker(undefined);
  s.pump.stop();
  clearInterval(s.pruner);
  s.pruner = undefined;
}

/** Delivers everything that is due now, in this process, and waits for it (tests, CLI). */
export function drainOutbox(): Promise<void> {
  return state().pump.drain();
}
