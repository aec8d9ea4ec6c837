// Audit records of failures by callers nobody authenticated (a wrong gateway secret, a callback
// without a session, an anonymous admin request) are folded: one hash-chained event per action,
// reason, source and one-minute window records the first failure, and a counter row beside it
// (AuditFailureWindow) counts them all. Every failed request used to write an ~800-byte chained
// row, so an anonymous flood grew the table without bound (about 30 GB a day from one client);
// now it adds at most one event and one counter row per (action, reason, source) and minute.
// Authenticated callers keep one event per decision (appendAudit).
//
// The count is advisory: it lives outside the hash chain (a chained row cannot be updated).
// Increments after the first are added in memory and written about once a second per key, so a
// flood costs this instance one small UPSERT per key and second, not one per request.
import { getDb } from "@/lib/db/client";
import { sourceKey } from "@/lib/http-edge/client-address";
import { log } from "@/lib/log";
import { appendAudit, type AuditEventInput } from "./append";

export const FAILURE_WINDOW_MS = 60_000;
const FLUSH_MS = 1_000;

const UPSERT_SQL = `
  INSERT INTO "AuditFailureWindow" (action, reason, source, "windowStart", count, "lastAt")
  VALUES ($1, $2, $3, $4::timestamp(3), $5, now())
  ON CONFLICT (action, reason, source, "windowStart")
  DO UPDATE SET count = "AuditFailureWindow".count + EXCLUDED.count, "lastAt" = now()
  RETURNING count`;

interface Pending {
  action: string;
  reason: string;
  source: string;
  windowStart: number;
  count: number;
}

const state: { known: Map<string, number>; pending: Map<string, Pending>; timer: NodeJS.Timeout | null } = { known: new Map(), pending: new Map(), timer: null };

function keyOf(p: Omit<Pending, "count">): string {
  return `${p.action}\n${p.reason}\n${p.source}\n${p.windowStart}`;
}

async function upsert(p: Pending): Promise<number> {
  const db = await getDb();
  const rows = await db.$queryRawUnsafe<{ count: number }[]>(UPSERT_SQL, p.action, p.reason, p.source, new Date(p.windowStart).toISOString(), p.count);
  return Number(rows[0]?.count ?? 0);
}

/**
 * Records one failure of an unauthenticated caller. The first of its window (across all
 * instances: the counter row decides) is appended to the chain with the window in its context;
 * the rest only count. Rejects like appendAudit when the chained event cannot be written.
 */
export async function appendUnauthenticatedFailure(event: AuditEventInput & { reason: string }, sourceAddress: string, now = Date.now()): Promise<void> {
  const windowStart = Math.floor(now / FAILURE_WINDOW_MS) * FAILURE_WINDOW_MS;
  const key = { action: event.action, reason: event.reason, source: sourceKey(sourceAddress), windowStart };
  const id = keyOf(key);
  if (state.known.has(id)) {
    const pending = state.pending.get(id) ?? { ...key, count: 0 };
    pending.count++;
    state.pending.set(id, pending);
    state.timer ??= setTimeout(() => void flushFailureWindows(), FLUSH_MS).unref();
    return;
  }
  const count = await upsert({ ...key, count: 1 });
  for (const [k, w] of state.known) if (w < windowStart) state.known.delete(k);
  state.known.set(id, windowStart);
  if (count !== 1) return;
  await appendAudit({
    ...event,
    context: { ...event.context, source: key.source, aggregated: { windowStart: new Date(windowStart).toISOString(), windowSeconds: FAILURE_WINDOW_MS / 1000 } },
  });
}

// Flushes run one after another: the timer's may still be writing when a caller (shutdown, a
// test) flushes, and that flush must not resolve before those counts are written. A drained
// server flushes before it exits (lib/startup.ts flushBeforeExit); a killed one loses at most the
// last second of these advisory counts.
let flushing: Promise<void> = Promise.resolve();

/** Writes the counts added in memory (on a timer, before exit, in tests); resolves once every earlier flush has written too. */
export function flushFailureWindows(): Promise<void> {
  flushing = flushing.then(writePending);
  return flushing;
}

async function writePending(): Promise<void> {
  state.timer = null;
  const batch = [...state.pending.values()];
  state.pending.clear();
  for (const p of batch) {
    try {
      await upsert(p);
    } catch (e) {
      log.warn("audit failure count failed", { action: p.action, error: e instanceof Error ? e.message : "unknown" });
    }
  }
}

/** How many failures a window counted (the admin audit detail shows it next to the event). */
export async function countInFailureWindow(action: string, reason: string, source: string, windowStart: Date): Promise<number | null> {
  const db = await getDb();
  const row = await db.auditFailureWindow.findUnique({
    where: { action_reason_source_windowStart: { action, reason, source, windowStart } },
    select: { count: true },
  });
  return row?.count ?? null;
}
