// Extends the hash chain inside a transaction. Chain extension is serialized in PostgreSQL,
// not in the process, because several Frontdesk instances append to one table:
//   1. pg_advisory_xact_lock(AUDIT_CHAIN_LOCK) - held until the transaction ends;
//   2. read the tail (highest seq) in a NEW statement, so READ COMMITTED gives it a snapshot
//      taken after the lock was granted and it sees the previous holder's committed rows;
//   3. insert the events with seq tail+1, tail+2, ... each hashed over its predecessor.
// seq is the primary key, so even a misuse (e.g. a REPEATABLE READ caller transaction whose
// snapshot predates the lock) cannot fork the chain: the insert fails on the duplicate seq
// and the transaction rolls back (fail closed).
import type { Db } from "@/lib/db/client";
import { chainedHash, GENESIS_HASH } from "./hash";
import type { SafeJson } from "./sanitize";

/** The interactive-transaction client of `Db` (what `db.$transaction(async (tx) => ...)` passes). */
export type AuditTx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

/**
 * Advisory lock key of the audit chain (one bigint, ASCII "FDAUDIT"). Other modules taking
 * single-key advisory locks must not use this value.
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
  /** serializedFields(this event), made before the batch waits for the chain lock. */
  serialized: string;
}

export interface AppendedEvent {
  id: string;
  seq: bigint;
  hash: string;
}

const INSERT_CHUNK = 1000;

// The whole batch travels as ONE jsonb parameter and PostgreSQL expands it into rows: Prisma's
// createMany spends ~0.5 ms per row on client-side work, this costs ~0.02 ms. `at` is sent as
// an ISO string ending in Z; a cast to timestamp (without zone) keeps the UTC wall time, which
// is how Prisma stores DateTime.
/** Inserts chained events given as one jsonb array parameter (also used by bulk seeding in tests). */
export const AUDIT_INSERT_SQL = `
  INSERT INTO "AuditEvent" (seq, id, at, "actorType", "actorId", "userId", "gatewayId", "agentId", "providerId",
                            action, decision, reason, context, "requestId", "prevHash", hash)
  SELECT seq, id, at, "actorType", "actorId", "userId", "gatewayId", "agentId", "providerId",
         action, decision::"Decision", reason, context, "requestId", "prevHash", hash
  FROM jsonb_to_recordset($1::jsonb) AS r(seq bigint, id text, at timestamp(3), "actorType" text, "actorId" text,
       "userId" text, "gatewayId" text, "agentId" text, "providerId" text, action text, decision text, reason text,
       context jsonb, "requestId" text, "prevHash" text, hash text)`;

// The time comes from the database clock (one clock for every instance) and never goes
// backwards along the chain, so `at` is non-decreasing in seq order. Numbers come back as
// text so that both drivers (Prisma raw: BigInt, pg: string) read the same.
export const TAIL_SQL = `
  SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint::text AS "nowMs",
         t.seq::text AS seq, t.hash, floor(extract(epoch FROM t.at) * 1000)::bigint::text AS "atMs"
  FROM (SELECT 1) AS one
  LEFT JOIN LATERAL (SELECT seq, hash, at FROM "AuditEvent" ORDER BY seq DESC LIMIT 1) AS t ON true`;

/** Takes the chain lock (held until the transaction ends). */
export const CHAIN_LOCK_SQL = `SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`;

/** What the chain needs from a connection that is inside a transaction. */
export interface ChainSql {
  execute(sql: string, param?: string): Promise<unknown>;
  query<T>(sql: string): Promise<T[]>;
}

/** ChainSql over a Prisma interactive transaction (caller transactions, embedded PGlite). */
export function prismaChainSql(tx: AuditTx): ChainSql {
  return {
    execute: (sql, param) => (param === undefined ? tx.$executeRawUnsafe(sql) : tx.$executeRawUnsafe(sql, param)),
    query: <T>(sql: string) => tx.$queryRawUnsafe<T[]>(sql),
  };
}

/** Appends `events` in order at the end of the chain, inside the caller's transaction. */
export function extendChain(tx: AuditTx, events: readonly PreparedEvent[]): Promise<AppendedEvent[]> {
  return extendChainWith(prismaChainSql(tx), events);
}

/** The chain's tail as the database sees it under the lock (TAIL_SQL's row). */
export interface ChainTail {
  nowMs: string;
  seq: string | null;
  hash: string | null;
  atMs: string | null;
}

/** Events hashed onto `tail`: the rows for AUDIT_INSERT_SQL (as one JSON array) and what callers get back. */
export function chainOnto(tail: ChainTail, events: readonly PreparedEvent[]): { rows: Record<string, unknown>[]; appended: AppendedEvent[] } {
  let seq = tail.seq === null ? 0n : BigInt(tail.seq);
  let prevHash = tail.hash ?? GENESIS_HASH;
  const nowMs = Number(tail.nowMs);
  const at = new Date(tail.atMs === null ? nowMs : Math.max(nowMs, Number(tail.atMs)));
  const atText = at.toISOString();
  const appended: AppendedEvent[] = [];
  const rows = events.map((e) => {
    seq += 1n;
    const { serialized, ...fields } = e;
    const hash = chainedHash(prevHash, seq, e.id, at, serialized);
    const row = { ...fields, seq: seq.toString(), at: atText, prevHash, hash };
    appended.push({ id: e.id, seq, hash });
    prevHash = hash;
    return row;
  });
  return { rows, appended };
}

/** Appends `events` in order at the end of the chain; `sql` must be inside a transaction. */
export async function extendChainWith(sql: ChainSql, events: readonly PreparedEvent[]): Promise<AppendedEvent[]> {
  if (events.length === 0) return [];
  await sql.execute(CHAIN_LOCK_SQL);
  const [tail] = await sql.query<ChainTail>(TAIL_SQL);
  if (!tail) throw new Error("audit chain tail query returned no row");
  const { rows, appended } = chainOnto(tail, events);
  // Chunked so that a single statement's JSON stays small even for a huge appendAuditMany.
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    await sql.execute(AUDIT_INSERT_SQL, JSON.stringify(rows.slice(i, i + INSERT_CHUNK)));
  }
  return appended;
}
