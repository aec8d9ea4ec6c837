// Fixed-window hit counters in PostgreSQL, shared by every instance: one UPSERT adds hits to
// several keys at once and returns each key's count in its current window. A window that has
// passed is restarted by the first hit after it (no sweeper needed for correctness); rows of
// keys that went quiet are deleted now and then so the table stays the size of the live keys.
//
// addHitsGrouped: concurrent callers share one UPSERT (one commit, one WAL flush for a whole
// batch instead of one per call), and each still gets the exact count it would have got alone.
import { getDb } from "@/lib/db/client";
import { getHotPool } from "@/lib/db/hot-pool";
import { log } from "@/lib/log";

export interface CounterHit {
  key: string;
  windowMs: number;
  /** Hits to add (default 1). */
  weight?: number;
}

export interface CounterState {
  key: string;
  hits: number;
  /** Seconds until this key's window ends. */
  resetSeconds: number;
}

// A hit with an older window (another instance's clock behind) counts toward the newer one.
const UPSERT_SQL = `
  INSERT INTO "RateLimitCounter" (key, "windowStart", hits)
  SELECT k, w::timestamp(3), n FROM unnest($1::text[], $2::text[], $3::int[]) AS t(k, w, n)
  ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN EXCLUDED."windowStart" > "RateLimitCounter"."windowStart" THEN EXCLUDED.hits
                ELSE "RateLimitCounter".hits + EXCLUDED.hits END,
    "windowStart" = GREATEST(EXCLUDED."windowStart", "RateLimitCounter"."windowStart")
  RETURNING key, hits`;

/** Keys whose window ended this long ago are removed (longest window in use is a minute). */
const PRUNE_AFTER_MS = 60 * 60 * 1000;
const PRUNE_EVERY_MS = 5 * 60 * 1000;
let prunedAt = 0;

function windowStart(now: number, windowMs: number): number {
  return Math.floor(now / windowMs) * windowMs;
}

export async function addHits(hits: CounterHit[], now = Date.now()): Promise<CounterState[]> {
  if (hits.length === 0) return [];
  const starts = hits.map((h) => windowStart(now, h.windowMs));
  const params = [hits.map((h) => h.key), starts.map((s) => new Date(s).toISOString()), hits.map((h) => h.weight ?? 1)];
  // A named prepared statement on the hot-path pool (PostgreSQL); Prisma on the embedded database.
  const pool = getHotPool();
  const rows = pool
    ? (await pool.query<{ key: string; hits: number }>({ name: "frontdesk-rate-limit-hits", text: UPSERT_SQL, values: params })).rows
    : await (await getDb()).$queryRawUnsafe<{ key: string; hits: number }[]>(UPSERT_SQL, ...params);
  const counts = new Map(rows.map((r) => [r.key, Number(r.hits)]));
  maybePrune(now);
  return hits.map((h, i) => ({
    key: h.key,
    hits: counts.get(h.key) ?? 0,
    resetSeconds: Math.max(1, Math.ceil((starts[i]! + h.windowMs - now) / 1000)),
  }));
}

function maybePrune(now: number): void {
  if (now - prunedAt < PRUNE_EVERY_MS) return;
  prunedAt = now;
  void getDb()
    .then((db) => db.rateLimitCounter.deleteMany({ where: { windowStart: { lt: new Date(now - PRUNE_AFTER_MS) } } }))
    .catch((e: unknown) => log.warn("rate-limit prune failed", { error: e instanceof Error ? e.message : "unknown" }));
}

interface PendingHits {
  hits: CounterHit[];
  resolve: (states: CounterState[]) => void;
  reject: (error: unknown) => void;
}

const MAX_GROUPED_KEYS = 500;
const pending: PendingHits[] = [];
let draining: Promise<void> | null = null;

/**
 * One UPSERT for a batch of callers. A key hit by several callers is sent once with the summed
 * weight (an UPSERT may not touch one row twice) and the returned total is handed out in queue
 * order, as if the calls had run one after another: caller k of a key sees the count before the
 * batch plus the weights of callers 1..k. So a limit of N lets exactly N hits through per window,
 * across instances, as with one statement per call.
 */
async function upsertGroup(group: PendingHits[], now: number): Promise<void> {
  const totals = new Map<string, CounterHit & { weight: number }>();
  for (const p of group) {
    for (const h of p.hits) {
      const t = totals.get(h.key);
      if (t) t.weight += h.weight ?? 1;
      else totals.set(h.key, { key: h.key, windowMs: h.windowMs, weight: h.weight ?? 1 });
    }
  }
  const sent = [...totals.values()];
  let states: CounterState[];
  try {
    states = await addHits(sent, now);
  } catch (e) {
    for (const p of group) p.reject(e);
    return;
  }
  const counted = new Map(states.map((s, i) => [s.key, s.hits - sent[i]!.weight]));
  const resetSeconds = new Map(states.map((s) => [s.key, s.resetSeconds]));
  for (const p of group) {
    p.resolve(
      p.hits.map((h) => {
        const hits = counted.get(h.key)! + (h.weight ?? 1);
        counted.set(h.key, hits);
        return { key: h.key, hits, resetSeconds: resetSeconds.get(h.key)! };
      }),
    );
  }
}

async function drainGrouped(): Promise<void> {
  try {
    // Let calls made in the same turn of the event loop join the first batch.
    await new Promise((r) => setImmediate(r));
    while (pending.length > 0) {
      // A batch ends before a key would come with a second window length (one row, one window).
      const group: PendingHits[] = [];
      const windows = new Map<string, number>();
      while (pending.length > 0 && windows.size < MAX_GROUPED_KEYS) {
        const next = pending[0]!;
        if (next.hits.some((h) => (windows.get(h.key) ?? h.windowMs) !== h.windowMs)) break;
        for (const h of next.hits) windows.set(h.key, h.windowMs);
        group.push(pending.shift()!);
      }
      await upsertGroup(group, Date.now());
    }
  } finally {
    draining = null;
  }
}

/** addHits for callers that come often and concurrently: their hits share one statement (see upsertGroup). */
export function addHitsGrouped(hits: CounterHit[]): Promise<CounterState[]> {
  if (hits.length === 0) return Promise.resolve([]);
  const done = new Promise<CounterState[]>((resolve, reject) => pending.push({ hits, resolve, reject }));
  draining ??= drainGrouped();
  return done;
}
