// Calls per gateway, shared by all instances without a database write on the request path:
// each instance counts locally and adds its count to the shared window counter about once a
// second (one UPSERT per active gateway), learning the others' total in the same statement.
// A call is refused when the shared total plus this instance's unsent calls exceeds the limit.
// Cost: a map lookup per call. Precision: other instances' calls are seen up to FLUSH_MS late,
// so N instances can overshoot by what they admit in that time (N x rate x 1 s).
import { env } from "@/lib/env";
import type { AppError } from "@/lib/errors";
import { log } from "@/lib/log";
import { addHits } from "./counter";
import { rateLimited } from "./limited";

const MINUTE = 60_000;
const FLUSH_MS = 1_000;

interface Entry {
  windowStart: number;
  /** The shared total at the last flush (all instances, incl. what this one sent). */
  shared: number;
  /** Calls admitted here and not yet added to the shared counter. */
  pending: number;
}

const counter: { entries: Map<string, Entry>; timer: NodeJS.Timeout | null } = { entries: new Map(), timer: null };

/** Counts one authenticated call; returns the rate_limited error when the gateway is over its limit. */
export function limitGatewayCall(gatewayId: string, now = Date.now()): AppError | null {
  const windowStart = Math.floor(now / MINUTE) * MINUTE;
  let entry = counter.entries.get(gatewayId);
  if (!entry || entry.windowStart !== windowStart) {
    entry = { windowStart, shared: 0, pending: 0 };
    counter.entries.set(gatewayId, entry);
  }
  if (entry.shared + entry.pending >= env().RATE_LIMIT_GATEWAY_CALLS) {
    return rateLimited("gateway_calls", "Too many calls from this gateway; try again later", (windowStart + MINUTE - now) / 1000);
  }
  entry.pending++;
  counter.timer ??= setTimeout(() => void flushGatewayCalls(), FLUSH_MS).unref();
  return null;
}

/** Adds this instance's unsent calls to the shared counters (runs on a timer; tests call it). */
export async function flushGatewayCalls(now = Date.now()): Promise<void> {
  counter.timer = null;
  const windowStart = Math.floor(now / MINUTE) * MINUTE;
  const batch = [...counter.entries].filter(([, e]) => e.pending > 0 && e.windowStart === windowStart);
  for (const [id, e] of counter.entries) if (e.windowStart !== windowStart) counter.entries.delete(id);
  if (batch.length === 0) return;
  const sent = batch.map(([, e]) => e.pending);
  try {
    const states = await addHits(batch.map(([id], i) => ({ key: `gw:calls:${id}`, windowMs: MINUTE, weight: sent[i] })), now);
    states.forEach((s, i) => {
      const entry = batch[i]![1];
      entry.shared = s.hits;
      entry.pending -= sent[i]!;
    });
  } catch (err) {
    // Kept pending; the next flush tries again.
    log.warn("gateway call count failed", { error: err instanceof Error ? err.message : "unknown" });
  }
  if (batch.some(([, e]) => e.pending > 0)) counter.timer ??= setTimeout(() => void flushGatewayCalls(), FLUSH_MS).unref();
}
