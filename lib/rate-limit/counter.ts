// Fixed-window hit counters in PostgreSQL, shared by every instance: one UPSERT adds hits to
// several keys at once and returns each key's count in its current window. A window that has
// passed is restarted by the first hit after it (no sweeper needed for correctness); rows of
// keys that went quiet are deleted now and then so the table stays the size of the live keys.
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
const state = globalThis as typeof globalThis & { __frontdeskRateLimitPrunedAt?: number };

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
  if (now - (state.__frontdeskRateLimitPrunedAt ?? 0) < PRUNE_EVERY_MS) return;
  state.__frontdeskRateLimitPrunedAt = now;
  void getDb()
    .then((db) => db.rateLimitCounter.deleteMany({ where: { windowStart: { lt: new Date(now - PRUNE_AFTER_MS) } } }))
    .catch((e: unknown) => log.warn("rate-limit prune failed", { error: e instanceof Error ? e.message : "unknown" }));
}
