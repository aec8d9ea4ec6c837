// Failed client authentication, counted per source address and per claimed client id across
// all instances; beyond either limit a failure is answered 429 (with Retry-After) instead of 401.
//
// A success is never limited. Gateway secrets carry 256 random bits and assertions are signed,
// so letting a correct credential through from a throttled source gives an attacker nothing;
// refusing it would let anyone lock a gateway out by flooding its client id with wrong secrets.
// The limit therefore costs nothing on the successful path (no lookup at all) and only failures
// pay: one UPSERT until a key is over its limit, then nothing more on this instance for the rest
// of the window (the block is remembered here).
import { env } from "@/lib/env";
import type { AppError } from "@/lib/errors";
import { sourceKey } from "@/lib/http-edge/client-address";
import { log } from "@/lib/log";
import { addHits } from "./counter";
import { rateLimited } from "./limited";

const MINUTE = 60_000;
const MAX_REMEMBERED = 10_000;
const blockedUntil = new Map<string, number>();

const MESSAGE = "Too many failed client authentications; try again later";

/**
 * Counts one failed authentication. Returns the rate_limited error to answer with instead of
 * invalid_client, or null while under the limits (and if the count cannot be written: the
 * request is refused either way, and a database problem must not turn a 401 into a 500).
 */
export async function recordAuthFailure(sourceAddress: string, claimedClientId: string | null, now = Date.now()): Promise<AppError | null> {
  const e = env();
  const keys: { key: string; limit: number }[] = [];
  // "unknown": the handler was not reached through server.ts (tests, `next start`), which
  // stamps every request with its source; only the client-id limit applies then.
  if (sourceAddress !== "unknown") keys.push({ key: `authfail:src:${sourceKey(sourceAddress)}`, limit: e.RATE_LIMIT_AUTH_FAILURES_PER_SOURCE });
  if (claimedClientId) keys.push({ key: `authfail:client:${claimedClientId}`, limit: e.RATE_LIMIT_AUTH_FAILURES_PER_CLIENT_ID });
  if (keys.length === 0) return null;
  const known = Math.max(0, ...keys.map((k) => blockedUntil.get(k.key) ?? 0));
  if (known > now) return rateLimited("auth_failures", MESSAGE, (known - now) / 1000);
  try {
    const states = await addHits(keys.map((k) => ({ key: k.key, windowMs: MINUTE })), now);
    let retryAfter = 0;
    states.forEach((s, i) => {
      if (s.hits <= keys[i]!.limit) return;
      if (blockedUntil.size >= MAX_REMEMBERED) blockedUntil.clear();
      blockedUntil.set(s.key, now + s.resetSeconds * 1000);
      retryAfter = Math.max(retryAfter, s.resetSeconds);
    });
    return retryAfter > 0 ? rateLimited("auth_failures", MESSAGE, retryAfter) : null;
  } catch (err) {
    log.warn("auth-failure count failed", { error: err instanceof Error ? err.message : "unknown" });
    return null;
  }
}
