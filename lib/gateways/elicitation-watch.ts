// Long-poll support for elicitation status (interface E). Completion may happen on any instance,
// so waiters are woken by the database: one shared poller per process checks every waiting id
// in a single query at a short interval (cost independent of the number of waiters), and an
// in-process settle (notifyElicitationSettled) wakes local waiters at once.
//
// Why polling and not LISTEN/NOTIFY: NOTIFY needs either every writer to send it or a trigger in
// the migration, and a dedicated connection per instance outside Prisma's pool; one indexed
// primary-key query every 200 ms per instance (only while someone waits) is cheaper to keep right
// and wakes well within the one-second target.
import { getDb } from "@/lib/db/client";
import { onShutdown } from "@/lib/health/lifecycle";
import { log } from "@/lib/log";

export const POLL_INTERVAL_MS = 200;
export const MAX_WAITERS = 5_000;

// Process-wide, on globalThis: the portal (inside Next's bundle) settles elicitations and wakes
// waiters, while server.ts serves the long-polls from its own copy of lib/ (same process). With
// module-level state each copy would see only its own waiters, and a completion on this instance
// would wait for the next database poll instead of waking the long-poll at once.
interface WatchState {
  waiters: Map<string, Set<() => void>>;
  timer: NodeJS.Timeout | undefined;
  polling: boolean;
}
const shared = globalThis as typeof globalThis & { __frontdeskElicitationWatch?: WatchState };
const state: WatchState = (shared.__frontdeskElicitationWatch ??= { waiters: new Map(), timer: undefined, polling: false });
const waiters = state.waiters;

function wake(id: string): void {
  const set = waiters.get(id);
  if (!set) return;
  waiters.delete(id);
  for (const resolve of set) resolve();
}

/** Wakes local waiters for an elicitation whose status just changed in this process. */
export function wakeElicitationWaiters(id: string): void {
  wake(id);
}

/** Whether a request in this process is waiting on the elicitation (lets tests wait on that, not on a sleep). */
export function hasElicitationWaiters(id: string): boolean {
  return (waiters.get(id)?.size ?? 0) > 0;
}

function countWaiters(): number {
  let n = 0;
  for (const set of waiters.values()) n += set.size;
  return n;
}

async function pollOnce(): Promise<void> {
  if (state.polling || waiters.size === 0) return;
  state.polling = true;
  try {
    const ids = [...waiters.keys()];
    const db = await getDb();
    const changed = await db.elicitation.findMany({
      where: { id: { in: ids }, OR: [{ status: { not: "pending" } }, { expiresAt: { lte: new Date() } }] },
      select: { id: true },
    });
    for (const row of changed) wake(row.id);
  } catch (e) {
    log.warn("elicitation poll failed", { reason: e instanceof Error ? e.message : "unknown" });
  } finally {
    state.polling = false;
  }
}

function ensureTimer(): void {
  if (state.timer) return;
  state.timer = setInterval(() => {
    if (waiters.size === 0) {
      clearInterval(state.timer);
      state.timer = undefined;
      return;
    }
    void pollOnce();
  }, POLL_INTERVAL_MS);
  state.timer.unref();
}

/**
 * Resolves when the elicitation may have changed (then re-read it), at the deadline, or when the
 * signal aborts. Never rejects. Returns false without waiting when the process is at capacity.
 */
export function waitForElicitationChange(id: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  if (countWaiters() >= MAX_WAITERS) return Promise.resolve(false);
  return new Promise((resolve) => {
    let set = waiters.get(id);
    if (!set) {
      set = new Set();
      waiters.set(id, set);
    }
    let unsubscribe = () => {};
    const done = () => {
      clearTimeout(deadline);
      unsubscribe();
      signal?.removeEventListener("abort", done);
      const s = waiters.get(id);
      if (s) {
        s.delete(done);
        if (s.size === 0) waiters.delete(id);
      }
      resolve(true);
    };
    const deadline = setTimeout(done, timeoutMs);
    signal?.addEventListener("abort", done, { once: true });
    set.add(done);
    // A draining instance ends its long-polls at once (the caller answers with the current
    // status, a valid long-poll answer), so the gateway's next poll goes to another instance.
    unsubscribe = onShutdown(done);
    ensureTimer();
  });
}
