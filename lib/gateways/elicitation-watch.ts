// Long-poll support for elicitation status (interface E). Completion may happen on any instance:
//   - an in-process settle (notifyElicitationSettled) wakes local waiters at once;
//   - every transaction that moves an elicitation out of `pending` also sends a PostgreSQL
//     NOTIFY on ELICITATION_CHANNEL (announceElicitationChange; delivered at commit, so never
//     before the change is visible), and each instance keeps one LISTEN connection while anyone
//     waits (reconnecting with backoff), which wakes waiters on every instance within a round trip;
//   - a shared poller per process checks every waiting id in one query as the fallback (a
//     notification lost while the listener reconnects, the embedded database): every 200 ms
//     while the listener is down, every second while it is up.
import pg from "pg";
import { type AuditTx } from "@/lib/audit/chain";
import { getDb } from "@/lib/db/client";
import { env } from "@/lib/env";
import { onShutdown } from "@/lib/health/lifecycle";
import { log } from "@/lib/log";

export const POLL_INTERVAL_MS = 200;
/** The fallback poll's interval while the LISTEN connection is up. */
export const LISTENING_POLL_INTERVAL_MS = 1_000;
export const ELICITATION_CHANNEL = "frontdesk_elicitation";
export const MAX_WAITERS = 5_000;

// Process-wide: the portal settles elicitations and wakes the waiters of the long-polls. On
// globalThis for the dev server only, where the portal's copy of this module is not the long-poll
// route's (a completion would otherwise wait for the next database poll): `next dev` (Turbopack)
// gives instrumentation, route handlers and server actions each their own copy of lib/ and
// re-evaluates modules on edits; a production build has one copy per process
// (scripts/lib-modules.mjs), where this is a plain module variable in effect.
interface WatchState {
  waiters: Map<string, Set<() => void>>;
  timer: NodeJS.Timeout | undefined;
  polling: boolean;
  lastPollAt: number;
  listener: { client: pg.Client | null; listening: boolean; connecting: boolean; retryMs: number; url: string };
}
const shared = globalThis as typeof globalThis & { __frontdeskElicitationWatch?: WatchState };
const state: WatchState = (shared.__frontdeskElicitationWatch ??= {
  waiters: new Map(),
  timer: undefined,
  polling: false,
  lastPollAt: 0,
  listener: { client: null, listening: false, connecting: false, retryMs: 250, url: "" },
});
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

/**
 * Inside the transaction that moves elicitation `id` out of `pending`: tells every instance's
 * listener, at commit. (pg_notify with the same payload twice in one transaction sends it once.)
 */
export async function announceElicitationChange(tx: AuditTx, id: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_notify(${ELICITATION_CHANNEL}, ${id})`;
}

const MAX_LISTEN_RETRY_MS = 5_000;

/** Opens this process's LISTEN connection if it is not open (or opening); PostgreSQL only. */
function ensureListener(): void {
  const url = env().DATABASE_URL;
  const l = state.listener;
  if (!url || l.client || l.connecting) return;
  l.connecting = true;
  l.url = url;
  const client = new pg.Client({ connectionString: url, application_name: "frontdesk-listen", connectionTimeoutMillis: 5_000, keepAlive: true });
  let lost = false;
  const onLost = (reason: string) => {
    if (lost) return;
    lost = true;
    if (l.client === client) l.client = null;
    l.listening = false;
    l.connecting = false;
    client.end().catch(() => undefined);
    log.warn("elicitation listener lost; polling meanwhile", { reason });
    // Reconnect while anyone waits (the poll covers the gap); otherwise the next waiter reopens it.
    const retry = setTimeout(() => {
      if (waiters.size > 0) ensureListener();
    }, l.retryMs);
    retry.unref();
    l.retryMs = Math.min(l.retryMs * 2, MAX_LISTEN_RETRY_MS);
  };
  client.on("error", (e) => onLost(e.message));
  client.on("end", () => onLost("connection ended"));
  client.on("notification", (msg) => {
    if (msg.channel === ELICITATION_CHANNEL && msg.payload) wake(msg.payload);
  });
  client
    .connect()
    .then(() => client.query(`LISTEN ${ELICITATION_CHANNEL}`))
    .then(() => {
      if (lost) return;
      // The listener must not keep a CLI command or a test process alive on its own.
      (client as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.();
      l.client = client;
      l.listening = true;
      l.connecting = false;
      l.retryMs = 250;
      // Changes committed before LISTEN took effect sent their notifications to nobody.
      void pollOnce();
    })
    .catch((e: unknown) => onLost(e instanceof Error ? e.message : "connect failed"));
}

/** Whether this process's LISTEN connection is up (tests, health). */
export function isElicitationListenerUp(): boolean {
  return state.listener.listening;
}

/** Closes the LISTEN connection (tests, shutdown); the next waiter opens it again. */
export async function closeElicitationListener(): Promise<void> {
  const client = state.listener.client;
  state.listener.client = null;
  state.listener.listening = false;
  if (client) {
    client.removeAllListeners("end");
    client.removeAllListeners("error");
    client.on("error", () => undefined);
    await client.end().catch(() => undefined);
  }
}

async function pollOnce(): Promise<void> {
  if (state.polling || waiters.size === 0) return;
  state.polling = true;
  state.lastPollAt = Date.now();
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
    if (!state.listener.listening) ensureListener();
    else if (Date.now() - state.lastPollAt < LISTENING_POLL_INTERVAL_MS - POLL_INTERVAL_MS / 2) return;
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
    ensureListener();
    ensureTimer();
  });
}
