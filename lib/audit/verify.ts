// Verifies the audit hash chain. Walks every event in seq order in fixed-size batches
// (constant memory at any table size), recomputes each hash, and stops at the first event
// where one of three checks fails:
//   self - the stored hash equals the hash recomputed from the row's own fields (incl. seq);
//   link - the row's prevHash equals the previous row's hash (GENESIS_HASH before seq 1);
//   seq  - the row's seq is the previous seq + 1 (the chain starts at 1).
// The break is then classified with a few targeted queries (run once, only on a break):
//   inserted  - another event claims the same predecessor (duplicate prevHash), or a seq lies
//               before the chain's start; the extra event is the one no event links to.
//   reordered - the row links to an event that exists but is not its predecessor (links cross).
//   deleted   - the row links to a hash no event has, and seqs are missing before it (or the
//               row would verify at a higher seq: later events were renumbered down); also a
//               seq gap behind an intact link (events removed and the chain re-linked).
//   modified  - the row's own hash does not match its content; or it links to a hash no event
//               has while seqs are contiguous and it verifies itself (its predecessor was
//               changed and rehashed).
// Limits: anyone who can write the table can also recompute every hash after a change; a
// chain alone cannot reveal that, nor a truncated tail. Pass `expectedHead` (a seq and hash
// recorded elsewhere, e.g. in an export or a log) to detect both up to that point.
import { getDb } from "@/lib/db/client";
import type { AuditEvent } from "@/lib/generated/prisma/client";
import { computeAuditHash, GENESIS_HASH } from "./hash";

export type AuditBreakKind = "modified" | "deleted" | "inserted" | "reordered";

export type AuditVerifyResult =
  | { ok: true; count: number }
  | { ok: false; count: number; firstBadSeq: bigint; kind: AuditBreakKind; detail: string };
// count: events verified (ok), or the intact events before firstBadSeq (broken).

export interface VerifyAuditOptions {
  /** Rows per query (default 2000). */
  batchSize?: number;
  /** A head recorded outside the database: the chain must reach it with this hash. */
  expectedHead?: { seq: bigint; hash: string };
  /** Called after each batch with the number of events verified so far. */
  onProgress?: (count: number, lastSeq: bigint) => void;
}

/** How far ahead a row's original seq is searched when later events were renumbered. */
const RENUMBER_WINDOW = 1024;

type Db = Awaited<ReturnType<typeof getDb>>;
type Link = { seq: bigint; hash: string };
type Break = Extract<AuditVerifyResult, { ok: false }>;

export async function verifyAuditChain(opts: VerifyAuditOptions = {}): Promise<AuditVerifyResult> {
  let result = await verifyFromAnchor(opts);
  // An archive that ran meanwhile moved the start (and deleted what this walk was reading):
  // walk again from the new anchor rather than report the archived events as deleted.
  if (!result.ok && (await readAnchor())?.seq !== result.anchorSeq) result = await verifyFromAnchor(opts);
  const { anchorSeq: _anchorSeq, ...plain } = result;
  return plain;
}

/** Where the chain in the table starts: the newest archive anchor (lib/audit/archive.ts), or seq 0 + genesis. */
async function readAnchor(): Promise<Link | null> {
  const db = await getDb();
  return db.auditAnchor.findFirst({ orderBy: { seq: "desc" }, select: { seq: true, hash: true } });
}

async function verifyFromAnchor(opts: VerifyAuditOptions): Promise<AuditVerifyResult & { anchorSeq: bigint | undefined }> {
  const db = await getDb();
  const batchSize = Math.max(1, Math.min(opts.batchSize ?? 2000, 10_000));
  const anchor = await readAnchor();
  const anchorSeq = anchor?.seq;
  let prev: Link = anchor ?? { seq: 0n, hash: GENESIS_HASH };
  const start = prev;
  let count = 0;
  for (;;) {
    const rows = await db.auditEvent.findMany({
      where: count === 0 && !anchor ? undefined : { seq: { gt: prev.seq } },
      orderBy: { seq: "asc" },
      take: batchSize,
    });
    for (const row of rows) {
      const selfOk = computeAuditHash(row) === row.hash;
      const linkOk = row.prevHash === prev.hash;
      const seqOk = row.seq === prev.seq + 1n;
      if (!selfOk || !linkOk || !seqOk) {
        const found = await classifyBreak(db, row, prev, selfOk, linkOk);
        return { ok: false, count: intactBefore(count, found.firstBadSeq, start.seq), ...found, anchorSeq };
      }
      count++;
      prev = { seq: row.seq, hash: row.hash };
    }
    if (rows.length > 0) opts.onProgress?.(count, prev.seq);
    if (rows.length < batchSize) break;
  }
  // A head recorded before an archive may now lie in the archive: checked there, not here
  // (`audit verify --archive`); the anchor itself must carry the recorded hash if it is the head.
  if (opts.expectedHead && opts.expectedHead.seq >= start.seq) {
    const broken =
      opts.expectedHead.seq === start.seq && anchor
        ? opts.expectedHead.hash === anchor.hash
          ? null
          : modified(start.seq, `the archive anchor at seq ${start.seq} does not carry the expected head hash`)
        : await checkExpectedHead(db, prev, opts.expectedHead);
    if (broken) return { ok: false, count: intactBefore(count, broken.firstBadSeq, start.seq), ...broken, anchorSeq };
  }
  return { ok: true, count, anchorSeq };
}

type Classified = Omit<Break, "ok" | "count">;

/** `count` of a broken chain: the events before the first bad one (seqs start+1..firstBadSeq-1). */
function intactBefore(walked: number, firstBadSeq: bigint, startSeq = 0n): number {
  return Math.max(0, Math.min(walked, Number(firstBadSeq - startSeq) - 1));
}

async function classifyBreak(db: Db, row: AuditEvent, prev: Link, selfOk: boolean, linkOk: boolean): Promise<Classified> {
  const expected = prev.seq + 1n;
  const inserted = await findInsertedEvent(db, row);
  if (inserted) return inserted;
  if (row.seq < expected) {
    return { kind: "inserted", firstBadSeq: row.seq, detail: `event ${row.seq} lies before the start of the chain` };
  }
  if (linkOk) {
    if (!selfOk) return modified(row.seq, `event ${row.seq} does not match its hash`);
    return {
      kind: "deleted",
      firstBadSeq: expected,
      detail: `seqs ${expected}..${row.seq - 1n} are missing and event ${row.seq} was re-linked to event ${prev.seq}`,
    };
  }
  const target =
    row.prevHash === GENESIS_HASH
      ? { seq: 0n }
      : await db.auditEvent.findFirst({ where: { hash: row.prevHash }, select: { seq: true } });
  if (target) {
    return {
      kind: "reordered",
      firstBadSeq: row.seq,
      detail:
        target.seq === 0n
          ? `event ${row.seq} links to the genesis hash although it is not the first event`
          : `event ${row.seq} links to the event now at seq ${target.seq}, not to its predecessor ${prev.seq}`,
    };
  }
  if (row.seq > expected) {
    return {
      kind: "deleted",
      firstBadSeq: expected,
      detail: `seqs ${expected}..${row.seq - 1n} are missing; event ${row.seq} links to an event that no longer exists`,
    };
  }
  if (selfOk) {
    return prev.seq === 0n
      ? modified(row.seq, `event ${row.seq} is the first event but does not start from the genesis hash`)
      : modified(prev.seq, `event ${prev.seq} was changed and rehashed: event ${row.seq} links to its former hash`);
  }
  const shift = findOriginalSeqShift(row);
  if (shift > 0n) {
    return {
      kind: "deleted",
      firstBadSeq: expected,
      detail: `event ${row.seq} was event ${row.seq + shift}: ${shift} event(s) before it were deleted and later seqs renumbered`,
    };
  }
  return modified(row.seq, `event ${row.seq} does not match its hash and links to an event that does not exist`);
}

function modified(seq: bigint, detail: string): Classified {
  return { kind: "modified", firstBadSeq: seq, detail };
}

/**
 * Two events claiming the same predecessor means one was inserted. The genuine one is linked
 * to by its successor; the extra one usually is not. If neither is (the genuine one is the
 * tail), the later one is reported.
 */
async function findInsertedEvent(db: Db, row: AuditEvent): Promise<Classified | null> {
  const twins = await db.auditEvent.findMany({
    where: { prevHash: row.prevHash, seq: { not: row.seq } },
    select: { seq: true, hash: true },
    take: 10,
  });
  if (twins.length === 0) return null;
  const candidates = [{ seq: row.seq, hash: row.hash }, ...twins];
  const linkedTo = await db.auditEvent.findMany({
    where: { prevHash: { in: candidates.map((c) => c.hash) } },
    select: { prevHash: true },
  });
  const referenced = new Set(linkedTo.map((l) => l.prevHash));
  const unreferenced = candidates.filter((c) => !referenced.has(c.hash));
  const pool = unreferenced.length > 0 ? unreferenced : candidates;
  const extra = pool.reduce((a, b) => (b.seq > a.seq ? b : a));
  const others = candidates.filter((c) => c !== extra).map((c) => c.seq);
  return {
    kind: "inserted",
    firstBadSeq: extra.seq,
    detail: `event ${extra.seq} claims the same predecessor as event(s) ${others.join(", ")}`,
  };
}

/** If the row verifies at a higher seq, it was moved down by that many places. */
function findOriginalSeqShift(row: AuditEvent): bigint {
  for (let d = 1n; d <= BigInt(RENUMBER_WINDOW); d++) {
    if (computeAuditHash({ ...row, seq: row.seq + d }) === row.hash) return d;
  }
  return 0n;
}

async function checkExpectedHead(db: Db, last: Link, head: { seq: bigint; hash: string }): Promise<Classified | null> {
  if (last.seq < head.seq) {
    return {
      kind: "deleted",
      firstBadSeq: last.seq + 1n,
      detail: `the chain ends at seq ${last.seq} but the expected head is seq ${head.seq}: events were removed from the end`,
    };
  }
  const at = await db.auditEvent.findUnique({ where: { seq: head.seq }, select: { hash: true } });
  if (at?.hash !== head.hash) {
    return modified(head.seq, `event ${head.seq} does not carry the expected head hash: the chain was rewritten at or before it`);
  }
  return null;
}
