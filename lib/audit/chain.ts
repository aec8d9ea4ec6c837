// Extends the hash chain. Chain extension is serialized in PostgreSQL, not in the process,
// because several Frontdesk instances append to one table. One call of the database function
// frontdesk_audit_append (prisma/migrations/20261204020000_audit_append_function) does it all:
//   1. pg_advisory_xact_lock(AUDIT_CHAIN_LOCK) - held until the transaction ends;
//   2. read the tail (highest seq) in a new statement, so READ COMMITTED gives it a snapshot
//      taken after the lock was granted and it sees the previous holder's committed rows;
//   3. insert the events with seq tail+1, tail+2, ... each hashed over its predecessor.
// The lock is thus held only inside the database, never across a client round trip. The hash
// is computeAuditHash's (hash.ts); the verifier recomputes it in JS from the stored columns.
// seq is the primary key, so even a misuse (e.g. a REPEATABLE READ caller transaction whose
// snapshot predates the lock) cannot fork the chain: the insert fails on the duplicate seq
// and the transaction rolls back (fail closed).
import type { Db } from "@/lib/db/client";
import type { SafeJson } from "./sanitize";

/** The interactive-transaction client of `Db` (what `db.$transaction(async (tx) => ...)` passes). */
export type AuditTx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

/**
 * Advisory lock key of the audit chain (one bigint, ASCII "FDAUDIT"; the migration names it in
 * decimal). Other modules taking single-key advisory locks must not use this value.
 */
export const AUDIT_CHAIN_LOCK = 0x46444155444954n;

/** An event ready to be chained: validated, sanitized, with its id. */
export interface PreparedEvent {
  id: string;
  actorType: string;
  actorId: string | null;
  userId: string | null;
  gatewayId: string | null;
  agentId: string | null;
  providerId: string | null;
  action: string;
  decision: "allow" | "deny" | "info";
  reason: string | null;
  context: { [key: string]: SafeJson };
  requestId: string | null;
  /**
   * serializedFields(this event), made before the batch waits for the chain lock. It is all the
   * database receives of the event besides its id: the stored columns are read from it.
   */
  serialized: string;
}

export interface AppendedEvent {
  id: string;
  seq: bigint;
  hash: string;
}

/** Appends the batch given as $1 (batchParam's JSON); one row per event, in order. */
export const APPEND_BATCH_SQL = `SELECT appended_seq::text AS seq, appended_hash AS hash FROM frontdesk_audit_append($1::jsonb)`;

/** The row APPEND_BATCH_SQL returns per event (numbers as text, so every driver reads the same). */
export interface AppendedRow {
  seq: string;
  hash: string;
}

/** APPEND_BATCH_SQL's parameter: the events as [id, serialized] pairs, in chain order. */
export function batchParam(events: readonly PreparedEvent[]): string {
  return JSON.stringify(events.map((e) => [e.id, e.serialized]));
}

/** What the callers of a batch get back, from the rows APPEND_BATCH_SQL returned for it. */
export function appendedEvents(events: readonly PreparedEvent[], rows: readonly AppendedRow[]): AppendedEvent[] {
  if (rows.length !== events.length) throw new Error(`audit append returned ${rows.length} rows for ${events.length} events`);
  return events.map((e, i) => ({ id: e.id, seq: BigInt(rows[i]!.seq), hash: rows[i]!.hash }));
}

/** Appends `events` in order at the end of the chain, inside the caller's transaction. */
export async function extendChain(tx: AuditTx, events: readonly PreparedEvent[]): Promise<AppendedEvent[]> {
  if (events.length === 0) return [];
  const rows = await tx.$queryRawUnsafe<AppendedRow[]>(APPEND_BATCH_SQL, batchParam(events));
  return appendedEvents(events, rows);
}
