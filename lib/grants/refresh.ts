// Keeps a grant's access token fresh (design.md "Refresh"). At most one refresh per grant is in
// flight across all instances: an in-process single-flight map collapses concurrent callers in
// one process, and a transaction-scoped advisory lock on the grant serializes processes; whoever
// gets the lock re-reads the row first, so a refresh another instance just finished is reused
// instead of repeated (with rotating refresh tokens a second refresh would fail or, worse, burn
// the new token).
//
// A slow or dead provider must not hold resolves hostage: a caller waits for a refresh at most
// REFRESH_DEADLINE_MS (then it gets the still-valid token, or a retryable 503), and a per-provider
// circuit breaker (upstream-breaker.ts) makes refreshes fail fast once the provider keeps failing.
// A refresh the caller stopped waiting for is not aborted: the provider may already have rotated
// the refresh token, and the response must still be stored (or the grant is lost).
//
// Interrupted refreshes: `Grant.refreshStartedAt` is committed (on its own) just before the
// provider is asked and cleared with the outcome. A process that dies (or a transaction that is
// rolled back) in between leaves it set, and the new tokens may be lost at the provider. The next
// refresh of that grant then says so (`refresh_interrupted`), and where the provider still accepts
// the old refresh token for a while (Provider.refreshReuseGraceSeconds), refresh-recovery.ts
// redoes the refresh within that window, before the old token stops working.
import * as client from "openid-client";
import { appendAudit, type AuditEventInput } from "@/lib/audit/append";
import { sealFields } from "@/lib/crypto/envelope";
import { getDb } from "@/lib/db/client";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import type { Provider } from "@/lib/generated/prisma/client";
import { log } from "@/lib/log";
import { observeRefresh, timeUpstream } from "@/lib/observability/metrics";
import { enqueueCredentialChange } from "@/lib/outbox/credential-change";
import { wakeOutbox } from "@/lib/outbox/wake";
import { getOAuthConfig } from "@/lib/providers/oauth-config";
import { lockGrant, tryLockGrant, type Tx } from "./lock";
import { grantBinding, openGrantCredential, openRefreshToken, type OpenCredential, SEALED_GRANT_SELECT, type SealedGrant } from "./sealed";
import { breakerFor, type CircuitBreaker } from "./upstream-breaker";

/** Refresh when the token expires within this many seconds. */
export const REFRESH_SKEW_SECONDS = 60;
/** Lifetime assumed when a token response has no expires_in. */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;

export type FreshGrant =
  /**
   * `credential`: the grant's credential, already opened, when this came out of a refresh flight
   * (the tokens the upstream just issued, or opened once for every request that waited on the
   * flight); each waiter would otherwise decrypt the same ciphertext.
   */
  | { kind: "fresh"; grant: SealedGrant; refreshed: boolean; credential?: OpenCredential }
  | { kind: "needs_reauth"; grant: SealedGrant }
  | { kind: "gone" };

type LockedOutcome =
  | FreshGrant
  | { kind: "upstream_failed"; grant: SealedGrant; reason: string }
  | { kind: "refreshed_unaudited"; grant: SealedGrant };

/** Inside the transaction: the new tokens are written; its audit record follows the commit. */
type StoredOutcome = { kind: "stored"; grant: SealedGrant; credential: OpenCredential; audit: AuditEventInput };

export interface RefreshContext {
  gatewayId?: string | null;
  requestId?: string | null;
}

export function needsRefresh(grant: Pick<SealedGrant, "expiresAt">, now = Date.now()): boolean {
  return grant.expiresAt !== null && grant.expiresAt.getTime() - now < REFRESH_SKEW_SECONDS * 1000;
}

function isExpired(grant: Pick<SealedGrant, "expiresAt">, now = Date.now()): boolean {
  return grant.expiresAt !== null && grant.expiresAt.getTime() <= now;
}

/** A refresh in progress; `slowCounted`: a caller's deadline passed, already counted as a failure by the breaker. */
interface Flight {
  outcome: Promise<LockedOutcome>;
  slowCounted: boolean;
}
const inFlight = new Map<string, Flight>();
// After a failed refresh, a still-valid token is served for a while without asking the provider
// again, so an outage does not turn every resolve into another upstream attempt.
const RETRY_AFTER_FAILURE_MS = 10_000;
const recentFailures = new Map<string, number>();

/**
 * Returns the grant with a usable access token, refreshing it if needed. Throws
 * AppError("upstream_unavailable") when the provider cannot be reached and the current token has
 * expired (retryable; the grant is kept).
 */
export async function ensureFreshGrant(
  grant: SealedGrant,
  provider: Provider,
  ctx: RefreshContext = {},
  opts: { force?: boolean; recover?: boolean } = {},
): Promise<FreshGrant> {
  // `force`: the upstream rejected this access token although it looks valid (revoked or rotated
  // upstream). Refresh it unless someone already replaced it (checked again under the lock).
  const force = opts.force === true && grant.refreshTokenCipher !== null;
  // `recover`: redo an interrupted refresh (refresh-recovery.ts) if it still is one under the lock.
  const recover = opts.recover === true && grant.refreshTokenCipher !== null;
  if (provider.kind === "api_key" || grant.apiKeyCipher || (!force && !recover && !needsRefresh(grant))) return { kind: "fresh", grant, refreshed: false };
  const failedAt = recentFailures.get(grant.id);
  if (!force && !recover && failedAt !== undefined && Date.now() - failedAt < RETRY_AFTER_FAILURE_MS && !isExpired(grant)) {
    return { kind: "fresh", grant, refreshed: false };
  }
  const flightKey = force ? `${grant.id}:force` : recover ? `${grant.id}:recover` : grant.id;
  const breaker = providerBreaker(provider);
  let flight = inFlight.get(flightKey);
  if (!flight) {
    // An open breaker: the provider has been failing; do not ask it again yet.
    if (!breaker.tryAcquire().allowed) return servableOrUnavailable(grant, provider, "is failing");
    flight = startFlight(flightKey, grant, provider, ctx, { force, recover }, breaker);
  }
  const outcome = await withinDeadline(flight.outcome, env().REFRESH_DEADLINE_MS);
  if (outcome === DEADLINE) {
    // Slow counts as failing: a hanging provider opens the breaker after a few deadlines, not
    // after a few HTTP timeouts. Once per refresh, however many callers waited on it.
    if (!flight.slowCounted) {
      flight.slowCounted = true;
      breaker.recordFailure();
    }
    return servableOrUnavailable(grant, provider, "is too slow");
  }
  // A grant just marked needs_reauth: its revocation events are committed, deliver them now.
  if (outcome.kind === "needs_reauth") wakeOutbox();
  if (outcome.kind === "refreshed_unaudited") {
    // The new tokens are stored, but no credential leaves without its audit record.
    throw new AppError("service_unavailable", "The audit log is unavailable; retry later");
  }
  if (outcome.kind !== "upstream_failed") {
    recentFailures.delete(grant.id);
    return outcome;
  }
  if (recentFailures.size > 10_000) recentFailures.clear();
  recentFailures.set(grant.id, Date.now());
  // The provider is down or slow: a token that is still valid is better than none.
  if (!isExpired(outcome.grant)) return { kind: "fresh", grant: outcome.grant, refreshed: false };
  throw new AppError("upstream_unavailable", `${provider.displayName} is not reachable to renew the token; retry later`);
}

const DEADLINE = Symbol("deadline");

function withinDeadline<T>(work: Promise<T>, ms: number): Promise<T | typeof DEADLINE> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<typeof DEADLINE>((resolve) => (timer = setTimeout(() => resolve(DEADLINE), ms)));
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** Without a refresh: the current token while it is valid, else a retryable 503. */
function servableOrUnavailable(grant: SealedGrant, provider: Provider, why: string): FreshGrant {
  if (!isExpired(grant)) return { kind: "fresh", grant, refreshed: false };
  throw new AppError("upstream_unavailable", `${provider.displayName} ${why} to renew the token; retry later`);
}

function providerBreaker(provider: Provider): CircuitBreaker {
  return breakerFor(provider.id, { failureThreshold: env().UPSTREAM_BREAKER_FAILURES, openMs: env().UPSTREAM_BREAKER_OPEN_MS });
}

function startFlight(key: string, grant: SealedGrant, provider: Provider, ctx: RefreshContext, mode: { force: boolean; recover: boolean }, breaker: CircuitBreaker): Flight {
  const flight: Flight = { outcome: undefined as unknown as Promise<LockedOutcome>, slowCounted: false };
  const refresh = refreshUnderLock(grant, provider, ctx, { rejectedAccessToken: mode.force ? grant.accessTokenCipher : undefined, recover: mode.recover });
  flight.outcome = observeRefresh(provider.slug, refresh, refreshOutcome)
    .then(withOpenedCredential)
    .then(
      (outcome) => {
        // The provider answered (or another instance already had): it works. A slow success
        // still closes the breaker; only failures and deadlines open it.
        if (outcome.kind === "upstream_failed") {
          if (!flight.slowCounted) breaker.recordFailure();
          else breaker.abandonTrial();
        } else breaker.recordSuccess();
        return outcome;
      },
      (e: unknown) => {
        // The database or the audit failed, not the provider.
        breaker.abandonTrial();
        throw e;
      },
    )
    .finally(() => inFlight.delete(key));
  inFlight.set(key, flight);
  return flight;
}

// Each refresh holds a pooled connection (its transaction) while it waits for the provider; at
// most this many run at once per process, so many grants expiring together cannot starve the
// pool that every other request needs.
const MAX_CONCURRENT_REFRESHES = 4;
let running = 0;
const queue: (() => void)[] = [];

/** Opens a fresh outcome's credential once, for all the requests that share the flight. */
async function withOpenedCredential(outcome: LockedOutcome): Promise<LockedOutcome> {
  if (outcome.kind !== "fresh" || outcome.credential) return outcome;
  return { ...outcome, credential: await openGrantCredential(outcome.grant) };
}

function refreshOutcome(outcome: LockedOutcome): string {
  return outcome.kind === "fresh" ? (outcome.refreshed ? "refreshed" : "not_needed") : outcome.kind;
}

async function withRefreshSlot<T>(fn: () => Promise<T>): Promise<T> {
  // A finishing refresh hands its slot straight to the next waiter.
  if (running < MAX_CONCURRENT_REFRESHES) running++;
  else await new Promise<void>((resolve) => queue.push(resolve));
  try {
    return await fn();
  } finally {
    const next = queue.shift();
    if (next) next();
    else running--;
  }
}

/** What the refresh needs ready the moment it holds the lock (prepared while it waits for it). */
interface Prepared {
  /** The refresh token of the row as read before the lock (valid if the row is unchanged). */
  refreshCipher: string | null;
  refreshToken: Promise<string | null>;
  config: ReturnType<typeof getOAuthConfig>;
}

/** `rejectedAccessToken`: a forced refresh (the upstream rejected it); `recover`: only an interrupted one, never waiting for the lock. */
interface RefreshMode {
  rejectedAccessToken?: string | null;
  recover?: boolean;
}

async function refreshUnderLock(seen: SealedGrant, provider: Provider, ctx: RefreshContext, mode: RefreshMode): Promise<LockedOutcome> {
  // Opened and configured while the transaction and the lock are being acquired, so the upstream
  // call starts as soon as the lock is held (in a storm each await here also waits its turn
  // behind every other arriving request). Rejections are handled where they are awaited.
  const prepared: Prepared = { refreshCipher: seen.refreshTokenCipher, refreshToken: openRefreshToken(seen), config: getOAuthConfig(provider) };
  prepared.refreshToken.catch(() => undefined);
  prepared.config.catch(() => undefined);
  const db = await getDb();
  // The transaction outlives the upstream call (bounded by the provider config's timeout), so
  // the lock is held exactly while this instance talks to the token endpoint.
  const outcome = await withRefreshSlot(() =>
    db.$transaction((tx) => refreshLocked(tx, seen.id, provider, ctx, prepared, mode), { timeout: 60_000, maxWait: 30_000 }),
  );
  if (outcome.kind !== "stored") return outcome;
  // The provider has already spent the old refresh token, so the new tokens are committed first,
  // before anything else that could fail or take time (the audit chain's lock under load): a
  // crash in between must not lose them (the grant could not be refreshed again). No credential
  // leaves before the audit record exists; if it cannot be written the tokens stay, unserved.
  try {
    await appendAudit(outcome.audit);
  } catch {
    log.error("refreshed tokens stored without their audit record; no credential served", { grantId: seen.id, providerId: provider.id });
    return { kind: "refreshed_unaudited", grant: outcome.grant };
  }
  return { kind: "fresh", grant: outcome.grant, refreshed: true, credential: outcome.credential };
}

async function refreshLocked(
  tx: Tx,
  grantId: string,
  provider: Provider,
  ctx: RefreshContext,
  prepared: Prepared,
  mode: RefreshMode,
): Promise<LockedOutcome | StoredOutcome> {
  // Recovery does not queue behind a refresh in progress: that one stores or clears the outcome.
  const locked = mode.recover ? await tryLockGrant(tx, grantId) : (await lockGrant(tx, grantId), true);
  const current = await readGrantUnderLock(tx, grantId);
  if (!current || current.status === "revoked") return { kind: "gone" };
  if (current.status === "needs_reauth") return { kind: "needs_reauth", grant: current };
  if (!locked) return { kind: "fresh", grant: current, refreshed: false };
  // Set under the lock we now hold: the refresh that set it ended without recording an outcome.
  const interrupted = current.refreshStartedAt !== null;
  // Another instance (or an earlier flight here) refreshed while we waited for the lock.
  // A forced refresh goes ahead only while the stored token is still the one the upstream rejected.
  const forced = mode.rejectedAccessToken !== undefined && current.accessTokenCipher === mode.rejectedAccessToken;
  if (!forced && !interrupted && !needsRefresh(current)) return { kind: "fresh", grant: current, refreshed: false };

  // The row re-read under the lock decides; the token opened beforehand is used only if it is the same.
  const refreshToken = current.refreshTokenCipher === prepared.refreshCipher ? await prepared.refreshToken : await openRefreshToken(current);
  if (!refreshToken) {
    if (!isExpired(current) && !forced) return { kind: "fresh", grant: current, refreshed: false };
    return markNeedsReauth(tx, current, "no_refresh_token", ctx);
  }

  let response: client.TokenEndpointResponse;
  try {
    const config = await prepared.config;
    await markRefreshStarted(grantId);
    response = await timeUpstream(provider.slug, "refresh", () => client.refreshTokenGrant(config, refreshToken));
  } catch (e) {
    // The database failed, not the provider (which was not asked).
    if (e instanceof MarkerNotWritten) throw e.cause;
    if (e instanceof client.ResponseBodyError && e.error === "invalid_grant") {
      // Re-read before giving up: if the refresh token changed, someone else rotated it.
      const reread = await tx.grant.findUnique({ where: { id: grantId }, select: SEALED_GRANT_SELECT });
      if (reread && reread.refreshTokenCipher !== current.refreshTokenCipher && reread.status === "active") {
        return { kind: "fresh", grant: reread, refreshed: false };
      }
      // After an interrupted refresh this is the loss it caused (the provider rotated the token
      // and the new one never arrived), not a revocation by the user or the provider.
      return markNeedsReauth(tx, current, interrupted ? "refresh_interrupted" : "invalid_grant", ctx);
    }
    // An OAuth error answer (RFC 6749 5.2): the provider refused and rotated nothing, the refresh
    // is over. No answer (timeout, reset) or a 5xx: it may have spent the token first, so the mark stays.
    if (e instanceof client.ResponseBodyError) await tx.grant.update({ where: { id: grantId }, data: { refreshStartedAt: null }, select: { id: true } });
    const reason = e instanceof client.ResponseBodyError ? `http_${e.status}` : e instanceof Error ? e.name : "unknown";
    log.warn("token refresh failed", { grantId, providerId: provider.id, reason });
    await appendAudit(
      {
        actorType: "system",
        userId: current.userId,
        gatewayId: ctx.gatewayId ?? null,
        providerId: current.providerId,
        action: "grant.refresh_failed",
        decision: "info",
        reason,
        context: { grantId },
        requestId: ctx.requestId ?? null,
      },
      tx,
    );
    return { kind: "upstream_failed", grant: current, reason };
  }

  const accessToken = response.access_token;
  // Rotation: store the new refresh token; keep the old one when the response has none.
  const nextRefresh = response.refresh_token ?? refreshToken;
  const expiresIn = typeof response.expires_in === "number" && response.expires_in > 0 ? response.expires_in : DEFAULT_TOKEN_LIFETIME_SECONDS;
  const sealed = await sealFields(grantBinding(current), { accessToken, refreshToken: nextRefresh });
  const scopes = typeof response.scope === "string" && response.scope.trim() ? response.scope.split(provider.scopeSeparator || " ").filter(Boolean) : current.scopes;
  const now = new Date();
  const updated = await tx.grant.update({
    where: { id: grantId },
    data: {
      accessTokenCipher: sealed.ciphertexts.accessToken,
      refreshTokenCipher: sealed.ciphertexts.refreshToken,
      wrappedKey: sealed.wrappedKey,
      keyVersion: sealed.keyVersion,
      tokenType: response.token_type ?? "Bearer",
      expiresAt: new Date(now.getTime() + expiresIn * 1000),
      lastRefreshedAt: now,
      refreshStartedAt: null,
      scopes,
    },
    select: SEALED_GRANT_SELECT,
  });
  const credential: OpenCredential = { kind: "oauth", accessToken, tokenType: updated.tokenType, expiresAt: updated.expiresAt };
  const audit: AuditEventInput = {
    actorType: "system",
    userId: current.userId,
    gatewayId: ctx.gatewayId ?? null,
    providerId: current.providerId,
    action: "grant.refreshed",
    decision: "info",
    // Recovered: an interrupted refresh redone while the provider still took the old token.
    reason: interrupted ? "refresh_interrupted" : null,
    context: { grantId, rotated: response.refresh_token !== undefined, expiresIn },
    requestId: ctx.requestId ?? null,
  };
  return { kind: "stored", grant: updated, credential, audit };
}

type LockedGrantRow = Omit<SealedGrant, "expiresAt" | "lastRefreshedAt"> & {
  expiresAt: Date | string | null;
  lastRefreshedAt: Date | string | null;
  refreshStartedAt: Date | string | null;
};

const asDate = (v: Date | string | null) => (v === null ? null : new Date(v));

/**
 * The grant row as committed when the lock was granted (a statement after the lock's, so READ
 * COMMITTED reads it with a snapshot taken after the previous holder committed). Raw SQL: it is
 * on the way to the provider, and a Prisma query would first be compiled.
 */
async function readGrantUnderLock(tx: Tx, grantId: string): Promise<(SealedGrant & { refreshStartedAt: Date | null }) | null> {
  const [row] = await tx.$queryRaw<LockedGrantRow[]>`
    SELECT "id", "userId", "providerId", "scopes", "status"::text AS "status", "tokenType", "accessTokenCipher", "refreshTokenCipher",
           "apiKeyCipher", "wrappedKey", "keyVersion", "expiresAt", "lastRefreshedAt", "refreshStartedAt"
    FROM "Grant" WHERE "id" = ${grantId}`;
  if (!row) return null;
  return { ...row, expiresAt: asDate(row.expiresAt), lastRefreshedAt: asDate(row.lastRefreshedAt), refreshStartedAt: asDate(row.refreshStartedAt) };
}

class MarkerNotWritten extends Error {
  constructor(override readonly cause: unknown) {
    super("refreshStartedAt not written");
  }
}

/**
 * Committed on its own statement (not in the locked transaction) before the provider is asked,
 * so that it outlives the transaction if this process dies or the transaction is rolled back
 * after the provider has rotated the refresh token. No refresh reaches the provider without it.
 */
async function markRefreshStarted(grantId: string): Promise<void> {
  try {
    // A retry of an interrupted refresh keeps the first mark: the provider's grace runs from then.
    // Raw SQL, like the lock and the re-read: in a storm each statement Prisma compiles waits its
    // turn behind the arriving requests, and this one is on the way to the provider.
    await (await getDb()).$executeRaw`UPDATE "Grant" SET "refreshStartedAt" = ${new Date().toISOString()}::timestamp(3) WHERE "id" = ${grantId} AND "refreshStartedAt" IS NULL`;
  } catch (e) {
    throw new MarkerNotWritten(e);
  }
}

async function markNeedsReauth(tx: Tx, grant: SealedGrant, reason: string, ctx: RefreshContext): Promise<LockedOutcome> {
  const updated = await tx.grant.update({ where: { id: grant.id }, data: { status: "needs_reauth", refreshStartedAt: null }, select: SEALED_GRANT_SELECT });
  await appendAudit(
    {
      actorType: "system",
      userId: grant.userId,
      gatewayId: ctx.gatewayId ?? null,
      providerId: grant.providerId,
      action: "grant.needs_reauth",
      decision: "info",
      reason,
      context: { grantId: grant.id },
      requestId: ctx.requestId ?? null,
    },
    tx,
  );
  await enqueueCredentialChange(tx, grant, { changeType: "update", initiatingEntity: "system", reason: `needs_reauth:${reason}` });
  return { kind: "needs_reauth", grant: updated };
}
