// Group commit for audit appends made outside a caller transaction. Durable audit must not
// cost one transaction per request: appends that arrive while a batch is being written wait
// in a queue and are written together as the next batch (one transaction, one chain lock,
// one multi-row insert). Every caller's promise settles only after its batch committed or
// failed, so "no audit write -> no credential" still holds: if the batch fails, every caller
// in it rejects and nothing of the batch is stored.
//
// One batch is in flight per process; further batches wait for it (they would wait on the
// chain lock anyway). Batches and the queue are bounded so that memory stays bounded under
// overload: a full queue rejects immediately (503) instead of growing.
import { type Db, getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { Prisma } from "@/lib/generated/prisma/client";
import { type AppendedEvent, extendChain, type PreparedEvent } from "./chain";

export const MAX_BATCH_EVENTS = 256;
export const MAX_QUEUED_EVENTS = 10_000;

interface Waiter {
  events: PreparedEvent[];
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

const state = {
  queue: [] as Waiter[],
  queuedEvents: 0,
  draining: null as Promise<void> | null,
  stats: { batches: 0, events: 0, failedBatches: 0, largestBatch: 0 } as GroupCommitStats,
};

/** Queues events to be committed together with concurrent appends; resolves after commit. */
export function commitInGroup(events: PreparedEvent[]): Promise<AppendedEvent[]> {
  if (state.queuedEvents + events.length > MAX_QUEUED_EVENTS) {
    return Promise.reject(new AppError("service_unavailable", "The audit log is overloaded; try again shortly."));
  }
  const done = new Promise<AppendedEvent[]>((resolve, reject) => state.queue.push({ events, resolve, reject }));
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

// The chain needs each statement to see rows committed while it waited for the lock, i.e.
// READ COMMITTED. Asking for it on every transaction costs Prisma an extra round trip, so the
// server's default is checked once per client and the level is set only where it differs.
const READ_COMMITTED = Prisma.TransactionIsolationLevel.ReadCommitted;
const defaultIsolation = new WeakMap<Db, Promise<boolean>>();

function hasReadCommittedDefault(db: Db): Promise<boolean> {
  let known = defaultIsolation.get(db);
  if (!known) {
    known = db
      .$queryRawUnsafe<{ level: string }[]>("SELECT current_setting('transaction_isolation') AS level")
      .then((rows) => rows[0]?.level === "read committed");
    known.catch(() => defaultIsolation.delete(db));
    defaultIsolation.set(db, known);
  }
  return known;
}

async function writeBatch(batch: Waiter[]): Promise<void> {
  const events = batch.flatMap((w) => w.events);
  let appended: AppendedEvent[];
  try {
    const db = await getDb();
    const isolation = (await hasReadCommittedDefault(db)) ? {} : { isolationLevel: READ_COMMITTED };
    appended = await db.$transaction((tx) => extendChain(tx, events), { ...isolation, maxWait: 10_000, timeout: 20_000 });
  } catch (error) {
    state.stats.failedBatches++;
    for (const w of batch) w.reject(error);
    return;
  }
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
