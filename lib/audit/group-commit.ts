// Group commit for audit appends made outside a caller transaction. Durable audit must not
// cost one transaction per request: appends that arrive while a batch is being written wait
// in a queue and are written together as the next batch (one transaction, one chain lock,
// one multi-row insert). Every caller's promise settles only after its batch committed or
// failed, so "no audit write -> no credential" still holds: if the batch fails, every caller
// in it rejects and nothing of the batch is stored.
//
// One batch is in flight per process; further batches wait for it (they would wait on the
// chain lock anyway). On PostgreSQL a batch runs on the writer's own connection
// (writer-pool.ts); on the embedded database through the Prisma client. Batches and the
// queue are bounded so that memory stays bounded under overload: a full queue rejects
// immediately (503) instead of growing.
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { log } from "@/lib/log";
import { recordAuditBatch, registerAuditQueue } from "@/lib/observability/metrics";
import { type AppendedEvent, extendChain, type PreparedEvent } from "./chain";
import { commitAuditBatch, getAuditPool } from "./writer-pool";

export const MAX_BATCH_EVENTS = 256;
export const MAX_QUEUED_EVENTS = 10_000;

/**
 * Rows another table receives in the same transaction as a batch's audit events (e.g. the
 * elicitation an `elicitation.created` event records): `sql` is an INSERT reading its rows from
 * one jsonb array parameter ($1), like AUDIT_INSERT_SQL. All rows with the same `sql` in a batch
 * go in one statement. A companion row that fails to insert fails the whole batch (every caller
 * in it gets the retryable 503), so use it only for inserts that cannot fail in normal operation.
 */
export interface CompanionRows {
  sql: string;
  rows: Record<string, unknown>[];
}

interface Waiter {
  events: PreparedEvent[];
  companions: CompanionRows[];
  resolve: (appended: AppendedEvent[]) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitStats {
  /** Transactions committed. */
  batches: number;
  /** Events committed. */
  events: number;
  failedBatches: number;
  largestBatch: number;
}

interface QueueState {
  queue: Waiter[];
  queuedEvents: number;
  draining: Promise<void> | null;
  stats: GroupCommitStats;
}

// One queue per process batches best (several would only contend for the chain lock).
const state: QueueState = {
  queue: [],
  queuedEvents: 0,
  draining: null,
  stats: { batches: 0, events: 0, failedBatches: 0, largestBatch: 0 },
};
registerAuditQueue(() => state.queuedEvents);

/** Queues events to be committed together with concurrent appends; resolves after commit. */
export function commitInGroup(events: PreparedEvent[], companions: CompanionRows[] = []): Promise<AppendedEvent[]> {
  if (state.queuedEvents + events.length > MAX_QUEUED_EVENTS) {
    return Promise.reject(new AppError("service_unavailable", "The audit log is overloaded; try again shortly."));
  }
  const done = new Promise<AppendedEvent[]>((resolve, reject) => state.queue.push({ events, companions, resolve, reject }));
  state.queuedEvents += events.length;
  state.draining ??= drain();
  return done;
}

async function drain(): Promise<void> {
  try {
    // Let appends issued in the same turn of the event loop join the first batch.
    await new Promise((r) => setImmediate(r));
    while (state.queue.length > 0) await writeBatch(takeBatch());
  } finally {
    state.draining = null;
  }
}

/** Takes waiters from the queue head up to MAX_BATCH_EVENTS (always at least one waiter). */
function takeBatch(): Waiter[] {
  const batch: Waiter[] = [];
  let size = 0;
  while (state.queue.length > 0) {
    const next = state.queue[0]!;
    if (batch.length > 0 && size + next.events.length > MAX_BATCH_EVENTS) break;
    state.queue.shift();
    batch.push(next);
    size += next.events.length;
  }
  state.queuedEvents -= size;
  return batch;
}

/**
 * The embedded database has one connection, shared through the Prisma client; its
 * transactions run one at a time, so no other writer can move the tail under a batch.
 */
async function commitThroughPrisma(events: PreparedEvent[], companions: CompanionRows[]): Promise<AppendedEvent[]> {
  const db = await getDb();
  return db.$transaction(
    async (tx) => {
      for (const c of companions) await tx.$executeRawUnsafe(c.sql, JSON.stringify(c.rows));
      return extendChain(tx, events);
    },
    { maxWait: 10_000, timeout: 20_000 },
  );
}

/** The batch's companion rows, one entry per distinct statement. */
function mergeCompanions(batch: Waiter[]): CompanionRows[] {
  const bySql = new Map<string, Record<string, unknown>[]>();
  for (const w of batch) for (const c of w.companions) bySql.set(c.sql, [...(bySql.get(c.sql) ?? []), ...c.rows]);
  return [...bySql].map(([sql, rows]) => ({ sql, rows }));
}

async function writeBatch(batch: Waiter[]): Promise<void> {
  const events = batch.flatMap((w) => w.events);
  const companions = mergeCompanions(batch);
  let appended: AppendedEvent[];
  const started = performance.now();
  try {
    const pool = getAuditPool();
    appended = pool ? await commitAuditBatch(pool, events, companions) : await commitThroughPrisma(events, companions);
  } catch (error) {
    recordAuditBatch(events.length, (performance.now() - started) / 1000, false);
    state.stats.failedBatches++;
    log.error("audit batch failed; its callers are refused", {
      events: events.length,
      error: error instanceof Error ? error.message : String(error),
    });
    // Retryable for the client, and no database internals in what the caller may show.
    const refused = new AppError("service_unavailable", "The decision could not be audited, so it was not carried out; try again.");
    refused.cause = error;
    for (const w of batch) w.reject(refused);
    return;
  }
  recordAuditBatch(events.length, (performance.now() - started) / 1000, true);
  state.stats.batches++;
  state.stats.events += events.length;
  state.stats.largestBatch = Math.max(state.stats.largestBatch, events.length);
  let offset = 0;
  for (const w of batch) {
    w.resolve(appended.slice(offset, offset + w.events.length));
    offset += w.events.length;
  }
}

/** Resolves once every append queued so far has been committed or rejected. */
export async function flushGroupCommit(): Promise<void> {
  while (state.draining) await state.draining;
}

export function getGroupCommitStats(): GroupCommitStats {
  return { ...state.stats };
}
