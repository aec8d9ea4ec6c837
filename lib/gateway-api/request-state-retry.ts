// The retry of an MCP 2026-07-28 call (interface D, and the token endpoint's `request_state`):
// the MCP server passes back the requestState Frontdesk sealed in the consent-needed answer,
// and Frontdesk waits, bounded, for that elicitation to settle before answering. The spec has
// no completion signal any more: the MCP server learns the outcome only on the retry, so the
// waiting belongs here.
//
// The state is attacker-controlled input (invariant 12). It is opened and checked against the
// authenticated gateway, the verified user, the verified agent (if any), the provider and scopes asked now, the tool-call
// digest and its expiry before it influences anything; a failure is audited and refused with
// `invalid_request_state` (the MCP server ends the tool call; the next call without the state
// gets a fresh link). It never yields a credential by itself: after the wait, the normal resolve
// runs for the verified user and answers from their own grant.
import type { VerifiedActor } from "@/lib/agents/actor";
import { appendAudit, auditSubjectRef } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { getHotPool } from "@/lib/db/hot-pool";
import { awaitElicitationSettled } from "@/lib/elicitations/await-settled";
import { getElicitation } from "@/lib/elicitations/read";
import { openRequestState, requestStateKeyId, type RequestStateBinding, type RequestStateFailure } from "@/lib/elicitations/request-state";
import { getRequestStateKeys } from "@/lib/elicitations/request-state-keys";
import { AppError } from "@/lib/errors";
import type { ElicitationStatus, Provider } from "@/lib/generated/prisma/client";
import type { AuthenticatedGateway } from "@/lib/gateways/authenticate";
import type { VerifiedSubject } from "@/lib/subject-tokens/verify";

/**
 * Cap on `wait`. The SDK v2 client gives each round of an `input_required` flow its own request
 * timeout (60 s by default) and retries up to 10 rounds; 45 s waits leave room for the hops in
 * between and keep a user who needs several minutes in the browser within those rounds.
 */
export const MAX_RETRY_WAIT_SECONDS = 50;
export const RECOMMENDED_RETRY_WAIT_SECONDS = 45;

export interface RetryRequest {
  action: "resolve" | "token_exchange" | "proxy";
  requestState: string;
  digest: string | undefined;
  waitSeconds: number;
  gateway: AuthenticatedGateway;
  subject: VerifiedSubject;
  /** The agent of this call, from a verified actor token (absent: none was presented). */
  actor?: VerifiedActor;
  provider: Provider;
  /** The scopes of this call as sent (empty: the provider's defaults). */
  scopes: string[];
  requestId: string;
  signal?: AbortSignal;
}

/** What the retry found; the resolve that follows answers from the user's grant. */
export interface RetryOutcome {
  /** The elicitation the state named. */
  elicitationId: string;
  /** Its status after the wait: completed, still pending, or expired while waiting (or gone). */
  status: "completed" | "pending" | "expired";
}

const REFUSALS: Record<RequestStateFailure, string> = {
  malformed: "request_state is not a state Frontdesk issued",
  unknown_key: "request_state was sealed under a key Frontdesk no longer holds; call again without it",
  does_not_authenticate: "request_state does not verify",
  other_gateway: "request_state was issued to another gateway",
  other_user: "request_state was issued for another user",
  other_agent: "request_state was issued for another agent (actor_token differs)",
  other_target: "request_state was issued for another provider or other scopes",
  digest_mismatch: "request_state was issued for another tool call (request_digest differs)",
  expired: "request_state has expired with its link; call again without it for a new link",
};

export function requestStateBinding(req: Pick<RetryRequest, "gateway" | "subject" | "actor" | "provider" | "scopes" | "digest">): RequestStateBinding {
  return {
    gatewayId: req.gateway.id,
    issuer: req.subject.issuer,
    subject: req.subject.subject,
    ...(req.actor ? { agentId: req.actor.agentId } : {}),
    providerId: req.provider.id,
    scopes: req.scopes,
    ...(req.digest !== undefined ? { digest: req.digest } : {}),
  };
}

/** The user's Frontdesk id, or the subject reference the audit log uses for someone who never signed in. */
type AuditUser = string;

async function auditRetry(req: RetryRequest, user: AuditUser, decision: "deny" | "info", reason: string, extra: Record<string, unknown>) {
  await appendAudit({
    actorType: "gateway",
    actorId: req.gateway.id,
    userId: user,
    gatewayId: req.gateway.id,
    agentId: req.actor?.agentId ?? null,
    providerId: req.provider.id,
    action: "request_state.retry",
    decision,
    reason,
    requestId: req.requestId,
    context: { waitSeconds: req.waitSeconds, digestPresented: req.digest !== undefined, ...extra },
  });
}

async function auditUserOf(req: RetryRequest): Promise<AuditUser> {
  const db = await getDb();
  const user = await db.user.findUnique({
    where: { issuer_subject: { issuer: req.subject.issuer, subject: req.subject.subject } },
    select: { id: true },
  });
  return user?.id ?? auditSubjectRef(req.subject.issuer, req.subject.subject);
}

interface RetryRow {
  status: ElicitationStatus;
  expiresAt: Date;
  gatewayId: string;
  userIssuer: string;
  userSubject: string;
  agentId: string | null;
}

// The named elicitation and the asking user's id in one round trip: a named prepared statement
// on the hot-path pool (PostgreSQL; Prisma cost most of a retry's CPU). `expiresAt` comes back as
// epoch ms (timestamp(3) holds UTC wall time).
const RETRY_ROW_SQL = `
  SELECT e."status"::text AS status, floor(extract(epoch FROM e."expiresAt") * 1000)::bigint::text AS "expiresAtMs",
         e."gatewayId", e."userIssuer", e."userSubject", e."agentId", u."id" AS "userId"
  FROM (SELECT 1) AS one
  LEFT JOIN "Elicitation" e ON e."id" = $1
  LEFT JOIN "User" u ON u."issuer" = $2 AND u."subject" = $3`;

/**
 * The elicitation as a retry sees it (null: gone) and whom to audit. A pending row past its
 * expiry is read through getElicitation, which moves it to expired and audits that exactly once.
 */
async function readRetryRow(req: RetryRequest, elicitationId: string): Promise<{ row: RetryRow | null; user: AuditUser }> {
  const pool = getHotPool();
  if (!pool) {
    const [row, user] = await Promise.all([getElicitation(elicitationId), auditUserOf(req)]);
    return { row, user };
  }
  type Raw = Omit<RetryRow, "expiresAt" | "status"> & { status: ElicitationStatus | null; expiresAtMs: string | null; userId: string | null };
  const { rows } = await pool.query<Raw>({
    name: "frontdesk-retry-elicitation",
    text: RETRY_ROW_SQL,
    values: [elicitationId, req.subject.issuer, req.subject.subject],
  });
  const raw = rows[0]!;
  const user = raw.userId ?? auditSubjectRef(req.subject.issuer, req.subject.subject);
  if (raw.status === null || raw.expiresAtMs === null) return { row: null, user };
  const row: RetryRow = { ...raw, status: raw.status, expiresAt: new Date(Number(raw.expiresAtMs)) };
  if (row.status === "pending" && row.expiresAt.getTime() <= Date.now()) return { row: await getElicitation(elicitationId), user };
  return { row, user };
}

const readStatus = async (id: string) => {
  const db = await getDb();
  return db.elicitation.findUnique({ where: { id }, select: { status: true, expiresAt: true, gatewayId: true, userIssuer: true, userSubject: true } });
};

export async function awaitRetry(req: RetryRequest): Promise<RetryOutcome> {
  const keys = await getRequestStateKeys(requestStateKeyId(req.requestState));
  const opened = openRequestState(keys, req.requestState, requestStateBinding(req));
  if (!opened.ok) {
    await auditRetry(req, await auditUserOf(req), "deny", `request_state:${opened.reason}`, opened.elicitationId ? { elicitationId: opened.elicitationId } : {});
    throw new AppError("invalid_request_state", REFUSALS[opened.reason], { oauthError: "invalid_request_state" });
  }

  const { row, user } = await readRetryRow(req, opened.elicitationId);
  // Sealed by us for this gateway and user; checked against the row as well, in depth.
  const mine =
    row &&
    row.gatewayId === req.gateway.id &&
    row.userIssuer === req.subject.issuer &&
    row.userSubject === req.subject.subject &&
    row.agentId === (req.actor?.agentId ?? null);
  if (!mine) {
    await auditRetry(req, user, "info", "request_state:elicitation_gone", { elicitationId: opened.elicitationId });
    return { elicitationId: opened.elicitationId, status: "expired" };
  }
  const first = { status: row.status, expiresAt: row.expiresAt, gatewayId: row.gatewayId, userIssuer: row.userIssuer, userSubject: row.userSubject };
  const settled = (await awaitElicitationSettled(opened.elicitationId, first, req.waitSeconds * 1000, readStatus, req.signal)) ?? {
    status: "expired" as const,
  };
  const status = settled.status;
  await auditRetry(req, user, status === "declined" || status === "failed" ? "deny" : "info", `request_state:${status}`, {
    elicitationId: opened.elicitationId,
  });
  if (status === "declined") {
    throw new AppError("consent_declined", "The user declined this request in Frontdesk.", { oauthError: "access_denied" });
  }
  if (status === "failed") {
    throw new AppError("consent_failed", "Connecting the account did not succeed; call again for a new link.", { oauthError: "access_denied" });
  }
  return { elicitationId: opened.elicitationId, status: status === "completed" ? "completed" : status === "pending" ? "pending" : "expired" };
}
