// Appends decisions to the hash-chained audit log (design.md invariant 8: every decision is
// audited before the response; no audit write -> no credential).
//
// - With a caller transaction (`tx`), the events are inserted inside it, so the change and
//   its audit record commit or roll back together (e.g. revoke + audit). The chain lock is
//   then held until the caller commits: append last, keep the transaction short, and use
//   READ COMMITTED (Prisma's default on PostgreSQL).
// - Without `tx`, the events join the process's group commit (see group-commit.ts): the
//   promise resolves only after the batch holding them committed, and rejects (AppError
//   service_unavailable) if it failed.
//   Inside a transaction, always pass its `tx`: a group-commit append awaited there waits for
//   the chain lock the transaction may already hold (and, on the embedded database, for the
//   single connection the transaction occupies) until a timeout breaks the deadlock.
//
// `userId` is the Frontdesk user id when a User row exists; before one exists (a gateway
// resolving for a subject that never signed in to the portal, a refused portal sign-in) it
// is "<issuer>|<subject>", built with `auditSubjectRef`. Events carry no foreign keys, so
// they survive the deletion of what they mention.
import { AppError } from "@/lib/errors";
import { newTimeOrderedId } from "@/lib/ids";
import { log } from "@/lib/log";
import { type AppendedEvent, type AuditTx, extendChain, type PreparedEvent } from "./chain";
import { serializedFields } from "./hash";
import { commitInGroup, type CompanionRows, flushGroupCommit, getGroupCommitStats, type GroupCommitStats } from "./group-commit";
import { LIMITS, sanitizeContext, scrubText } from "./sanitize";
import { closeAuditPool } from "./writer-pool";
import { withSpan } from "@/lib/observability/tracing";

export type { AuditTx } from "./chain";
export type { CompanionRows, GroupCommitStats } from "./group-commit";

export type AuditActorType = "user" | "admin" | "gateway" | "system";
export type AuditDecision = "allow" | "deny" | "info";

export interface AuditEventInput {
  actorType: AuditActorType;
  actorId?: string | null;
  /** Frontdesk user id, or "<issuer>|<subject>" (auditSubjectRef) when no user row exists yet. */
  userId?: string | null;
  gatewayId?: string | null;
  /** The verified agent (Agent id) acting, when an actor token named one. */
  agentId?: string | null;
  providerId?: string | null;
  /** Dotted verb, e.g. "resolve", "elicitation.created", "grant.revoked", "admin.gateway.disabled". */
  action: string;
  decision: AuditDecision;
  reason?: string | null;
  /** What the request was for (agent, MCP server, tool, labels). Secret-looking data is redacted. */
  context?: Record<string, unknown>;
  requestId?: string | null;
}

export type AppendedAuditEvent = AppendedEvent;

const ACTOR_TYPES: ReadonlySet<string> = new Set<AuditActorType>(["user", "admin", "gateway", "system"]);
const DECISIONS: ReadonlySet<string> = new Set<AuditDecision>(["allow", "deny", "info"]);
const ACTION = /^[a-z][a-z0-9_]*(?:[.-][a-z0-9_]+)*$/;

/** The `userId` of an event about a subject that has no Frontdesk user row yet. */
export function auditSubjectRef(issuer: string, subject: string): string {
  return `${issuer}|${subject}`;
}

function optionalText(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "string") throw invalid("an id or reason is not a string");
  return scrubText(value, max);
}

function invalid(why: string): AppError {
  // A bug in the caller, not bad user input: it surfaces as a 500 and no credential leaves.
  return new AppError("internal_error", `Invalid audit event: ${why}.`);
}

/** Validates and sanitizes one input; throws on programming errors. */
export function prepareAuditEvent(event: AuditEventInput): PreparedEvent {
  if (!ACTOR_TYPES.has(event.actorType)) throw invalid("unknown actorType");
  if (!DECISIONS.has(event.decision)) throw invalid("unknown decision");
  if (typeof event.action !== "string" || event.action.length > 128 || !ACTION.test(event.action)) {
    throw invalid("action must be a dotted lower-case verb");
  }
  const fields = {
    // Time-ordered: inserts stay at the right edge of AuditEvent's unique index on id.
    id: newTimeOrderedId("evt"),
    actorType: event.actorType,
    actorId: optionalText(event.actorId, LIMITS.idLength),
    userId: optionalText(event.userId, LIMITS.idLength),
    gatewayId: optionalText(event.gatewayId, LIMITS.idLength),
    agentId: optionalText(event.agentId, LIMITS.idLength),
    providerId: optionalText(event.providerId, LIMITS.idLength),
    action: event.action,
    decision: event.decision,
    reason: optionalText(event.reason, LIMITS.reasonLength),
    context: sanitizeContext(event.context),
    requestId: optionalText(event.requestId, LIMITS.idLength),
  };
  return { ...fields, serialized: serializedFields(fields) };
}

/**
 * Appends one event. Resolves after it is durably committed (or, with `tx`, inserted in the
 * caller's transaction); rejects if it could not be written, in which case the caller must
 * not hand out what the event was about.
 */
export function appendAudit(event: AuditEventInput, tx?: AuditTx): Promise<AppendedAuditEvent> {
  return withSpan("audit.append", { "frontdesk.action": event.action, "frontdesk.decision": event.decision, "frontdesk.in_transaction": Boolean(tx) }, async () => {
    const [appended] = await appendAuditMany([event], tx);
    return appended!;
  });
}

/** Appends events atomically (all or none) and contiguously, in the given order. */
export async function appendAuditMany(events: AuditEventInput[], tx?: AuditTx): Promise<AppendedAuditEvent[]> {
  const prepared = events.map(prepareAuditEvent);
  if (prepared.length === 0) return [];
  if (tx) {
    try {
      return await extendChain(tx, prepared);
    } catch (error) {
      // Same answer as a failed group commit: retryable, no database internals for the caller,
      // and the caller's transaction (the change this event records) rolls back with it.
      log.error("audit write in a transaction failed; the decision is refused", { events: prepared.length, error: error instanceof Error ? error.message : String(error) });
      const refused = new AppError("service_unavailable", "The decision could not be audited, so it was not carried out; try again.");
      refused.cause = error;
      throw refused;
    }
  }
  return commitInGroup(prepared);
}

/**
 * Appends events through the group commit together with `companions`, rows of other tables
 * inserted in the same transaction (the change and its audit commit or fail together without a
 * transaction of their own; see CompanionRows for the one rule).
 */
export async function appendAuditWithRows(events: AuditEventInput[], companions: CompanionRows[]): Promise<AppendedAuditEvent[]> {
  const prepared = events.map(prepareAuditEvent);
  if (prepared.length === 0) throw invalid("companion rows need at least one audit event");
  return commitInGroup(prepared, companions);
}

/** Waits until every append queued in this process has settled (tests, shutdown). */
export function flushAudit(): Promise<void> {
  return flushGroupCommit();
}

/** Flushes, then closes the audit writer's own PostgreSQL connection (shutdown, tests). */
export async function closeAudit(): Promise<void> {
  await flushGroupCommit();
  await closeAuditPool();
}

/** Counters of the group commit of this process (batches vs events). */
export function getAuditWriteStats(): GroupCommitStats {
  return getGroupCommitStats();
}
