// Verified subject tokens, remembered briefly. A gateway presents the same user token on every
// call of a session, and an RS256 verification is the largest single CPU cost of a resolve
// (about 8% of it, measured with `npm run bench` profiles). The cache holds only tokens that
// passed verifySubjectToken, keyed by their SHA-256 (never the token itself), each until the
// token's own `exp` and at most SUBJECT_CACHE_TTL_MS: a token is never accepted after it expires,
// and a key the IdP withdraws stops being honoured within that bound, as with the key-set cache.
import { decodeJwt } from "jose";
import { sha256Hex } from "@/lib/crypto/hash";
import { verifySubjectToken, type VerifiedSubject } from "@/lib/subject-tokens/verify";
import { withSpan } from "@/lib/observability/tracing";

export const SUBJECT_CACHE_TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;

const verified = new Map<string, { subject: VerifiedSubject; until: number }>();
// Verifications in progress: a burst of requests with a token not seen before (a refresh storm,
// a new session fanning out) verifies it once, not once per request.
const pending = new Map<string, Promise<VerifiedSubject>>();

async function verifyAndRemember(key: string, token: string): Promise<VerifiedSubject> {
  const subject = await verifySubjectToken(token);
  const now = Date.now();
  const exp = decodeJwt(token).exp;
  // exp is required by verifySubjectToken; without tolerance here, so a cached token stops at exp.
  const until = Math.min(now + SUBJECT_CACHE_TTL_MS, typeof exp === "number" ? exp * 1000 : now);
  if (until > now) {
    // Oldest first: Map keeps insertion order.
    if (verified.size >= MAX_ENTRIES) verified.delete(verified.keys().next().value!);
    verified.set(key, { subject, until });
  }
  return subject;
}

/** verifySubjectToken, with a short-lived memory of tokens that already passed. */
export function verifySubjectTokenCached(token: string): Promise<VerifiedSubject> {
  return withSpan("auth.subject_token", {}, () => verifyCached(token));
}

async function verifyCached(token: string): Promise<VerifiedSubject> {
  const key = sha256Hex(token);
  const hit = verified.get(key);
  if (hit && hit.until > Date.now()) return { ...hit.subject };
  if (hit) verified.delete(key);
  let flight = pending.get(key);
  if (!flight) {
    flight = verifyAndRemember(key, token).finally(() => pending.delete(key));
    pending.set(key, flight);
  }
  return { ...(await flight) };
}

/** Tests and key rotation: forget every remembered token. */
export function clearVerifiedSubjects(): void {
  verified.clear();
  pending.clear();
}
