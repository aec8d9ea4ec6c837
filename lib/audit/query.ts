// Reads the audit log for the admin dashboard and exports: newest first, keyset pagination on
// seq (a page costs the same at the end of a million rows as at the start; OFFSET would not).
// Each single-column filter has a (column, seq) index, so a filtered page is one index scan.
import { getDb } from "@/lib/db/client";
import type { AuditEvent, Prisma } from "@/lib/generated/prisma/client";
import type { AuditDecision } from "./append";

export interface AuditEventFilter {
  userId?: string;
  gatewayId?: string;
  agentId?: string;
  providerId?: string;
  /** Exact action, e.g. "resolve" or "grant.revoked". */
  action?: string;
  decision?: AuditDecision;
  /** Inclusive lower bound of `at`. */
  from?: Date;
  /** Exclusive upper bound of `at`. */
  to?: Date;
}

export interface ListAuditEventsInput extends AuditEventFilter {
  /** The `nextCursor` of the previous page: only events with a lower seq are returned. */
  cursor?: bigint;
  /** Page size, clamped to 1..MAX_PAGE. */
  limit: number;
}

export interface AuditEventPage {
  events: AuditEvent[];
  /** Pass as `cursor` for the next (older) page; null when this page is the last. */
  nextCursor: bigint | null;
}

export const MAX_PAGE = 500;

const MAX_SEQ = 2n ** 63n - 1n;

/**
 * An audit sequence number from a URL (event id in a path, page cursor): decimal digits within
 * PostgreSQL's bigint, else undefined. A 19-digit value past 2^63-1 failed the query as a 500.
 */
export function parseAuditSeq(value: string | undefined): bigint | undefined {
  if (!value || !/^\d{1,19}$/.test(value)) return undefined;
  const seq = BigInt(value);
  return seq >= 1n && seq <= MAX_SEQ ? seq : undefined;
}

function whereOf(filter: AuditEventFilter): Prisma.AuditEventWhereInput {
  const where: Prisma.AuditEventWhereInput = {};
  if (filter.userId !== undefined) where.userId = filter.userId;
  if (filter.gatewayId !== undefined) where.gatewayId = filter.gatewayId;
  if (filter.agentId !== undefined) where.agentId = filter.agentId;
  if (filter.providerId !== undefined) where.providerId = filter.providerId;
  if (filter.action !== undefined) where.action = filter.action;
  if (filter.decision !== undefined) where.decision = filter.decision;
  if (filter.from !== undefined || filter.to !== undefined) {
    where.at = {
      ...(filter.from !== undefined ? { gte: filter.from } : {}),
      ...(filter.to !== undefined ? { lt: filter.to } : {}),
    };
  }
  return where;
}

type Db = Awaited<ReturnType<typeof getDb>>;
type SeqRange = { gte?: bigint; lte?: bigint; lt?: bigint };

/**
 * The seqs a time range can contain. `at` never decreases along seq (chain.ts takes the
 * later of the database clock and the previous event's time), so [from, to) is one seq
 * interval, found with two probes of the (at, seq) index. Listing then walks the primary key
 * inside that interval instead of scanning backwards from the newest event (~100 ms for a
 * range in the middle of a million events without this, ~2 ms with it). `at` is still
 * filtered too, so the result stays exact. Returns null when no event is in the range.
 */
async function seqRangeOf(db: Db, filter: AuditEventFilter): Promise<SeqRange | null> {
  const range: SeqRange = {};
  if (filter.from !== undefined) {
    const first = await db.auditEvent.findFirst({
      where: { at: { gte: filter.from } },
      orderBy: [{ at: "asc" }, { seq: "asc" }],
      select: { seq: true },
    });
    if (!first) return null;
    range.gte = first.seq;
  }
  if (filter.to !== undefined) {
    const last = await db.auditEvent.findFirst({
      where: { at: { lt: filter.to } },
      orderBy: [{ at: "desc" }, { seq: "desc" }],
      select: { seq: true },
    });
    if (!last) return null;
    range.lte = last.seq;
  }
  return range;
}

/** One page of events matching `filter`, newest first. */
export async function listAuditEvents(input: ListAuditEventsInput): Promise<AuditEventPage> {
  const db = await getDb();
  const limit = Math.max(1, Math.min(Math.trunc(input.limit) || 1, MAX_PAGE));
  const where = whereOf(input);
  const range = await seqRangeOf(db, input);
  if (!range) return { events: [], nextCursor: null };
  if (input.cursor !== undefined) range.lt = input.cursor;
  if (Object.keys(range).length > 0) where.seq = range;
  // One extra row tells whether an older page exists without a second query.
  const rows = await db.auditEvent.findMany({ where, orderBy: { seq: "desc" }, take: limit + 1 });
  const events = rows.slice(0, limit);
  const last = events[events.length - 1];
  return { events, nextCursor: rows.length > limit && last ? last.seq : null };
}

/** Number of events matching `filter`. */
export async function countAuditEvents(filter: AuditEventFilter = {}): Promise<number> {
  const db = await getDb();
  return db.auditEvent.count({ where: whereOf(filter) });
}
