// Audit retention: `frontdesk audit archive --before <date>` moves the events older than a date
// into a JSON Lines file that can be verified on its own, deletes them, and records an anchor
// (the last archived event's seq and hash) from which the remaining chain still verifies.
//
// The file: a header line {"archive": {...}} (format, the range, the hash the first event links
// to, the cut-off date), then one event per line (every column), oldest first. `audit verify --archive <file>` recomputes every hash
// and link, and checks that the file's last hash is an anchor the database recorded and that
// the file's bytes hash to what the anchor recorded.
//
// Order of work, so a crash loses nothing: verify the chain, write and fsync the file, then in
// ONE transaction (under the chain lock) record the anchor and delete the archived events. A
// crash before the commit leaves a file and an untouched table; the next run writes it again.
// The newest event is never archived: the chain's tail must stay in the table (appends link to it).
import { createHash } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";
import { getDb } from "@/lib/db/client";
import type { AuditEvent } from "@/lib/generated/prisma/client";
import { AUDIT_CHAIN_LOCK } from "./chain";
import { computeAuditHash, GENESIS_HASH } from "./hash";
import { verifyAuditChain } from "./verify";

export const ARCHIVE_FORMAT = "frontdesk.audit-archive.v1";
const BATCH = 2000;

export interface AuditAnchorRef {
  seq: bigint;
  hash: string;
}

export interface ArchiveHeader {
  format: typeof ARCHIVE_FORMAT;
  fromSeq: string;
  toSeq: string;
  events: number;
  /** The hash the first archived event links to (the previous anchor's, or the genesis hash). */
  startsAfter: { seq: string; hash: string };
  before: string;
}

/** The newest anchor: where the chain in the table starts (null: it starts at seq 1). */
export async function latestAuditAnchor(): Promise<AuditAnchorRef | null> {
  const db = await getDb();
  const row = await db.auditAnchor.findFirst({ orderBy: { seq: "desc" }, select: { seq: true, hash: true } });
  return row ?? null;
}

/** Every column of the event, seq and time as strings (what verification reads back). */
function eventLine(e: AuditEvent): string {
  return `${JSON.stringify({ ...e, seq: e.seq.toString(), at: e.at.toISOString() })}\n`;
}

export type ArchiveResult =
  | { done: false; archived: 0; reason: "nothing_before" | "only_the_tail" }
  | { done: true; archived: number; fromSeq: bigint; toSeq: bigint; sha256: string; anchor: AuditAnchorRef; file: string };

export async function archiveAuditEvents(opts: { before: Date; file: string }): Promise<ArchiveResult> {
  const db = await getDb();
  const verified = await verifyAuditChain();
  if (!verified.ok) throw new Error(`the audit chain is broken at seq ${verified.firstBadSeq} (${verified.kind}); refusing to archive`);
  const start = (await latestAuditAnchor()) ?? { seq: 0n, hash: GENESIS_HASH };
  const tail = await db.auditEvent.findFirst({ orderBy: { seq: "desc" }, select: { seq: true } });
  // `at` never decreases along seq, so "before the date" is a seq prefix.
  const last = await db.auditEvent.findFirst({ where: { at: { lt: opts.before } }, orderBy: { seq: "desc" }, select: { seq: true } });
  if (!last || !tail) return { done: false, archived: 0, reason: "nothing_before" };
  const toSeq = last.seq < tail.seq ? last.seq : tail.seq - 1n;
  if (toSeq <= start.seq) return { done: false, archived: 0, reason: last.seq >= tail.seq ? "only_the_tail" : "nothing_before" };

  const fromSeq = start.seq + 1n;
  const count = Number(toSeq - start.seq);
  const header: ArchiveHeader = {
    format: ARCHIVE_FORMAT,
    fromSeq: fromSeq.toString(),
    toSeq: toSeq.toString(),
    events: count,
    startsAfter: { seq: start.seq.toString(), hash: start.hash },
    before: opts.before.toISOString(),
  };
  const digest = createHash("sha256");
  const fd = openSync(opts.file, "wx", 0o600);
  let lastHash = start.hash;
  try {
    const write = (text: string) => {
      digest.update(text);
      writeSync(fd, text);
    };
    write(`${JSON.stringify({ archive: header })}\n`);
    for (let cursor = start.seq; cursor < toSeq; ) {
      const rows = await db.auditEvent.findMany({ where: { seq: { gt: cursor, lte: toSeq } }, orderBy: { seq: "asc" }, take: BATCH });
      if (rows.length === 0) throw new Error(`events after seq ${cursor} disappeared while archiving`);
      for (const row of rows) write(eventLine(row));
      cursor = rows.at(-1)!.seq;
      lastHash = rows.at(-1)!.hash;
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const sha256 = digest.digest("hex");
  const anchor = { seq: toSeq, hash: lastHash };
  await db.$transaction(async (tx) => {
    // Under the chain lock, so no verify or append sees the table between the two statements.
    await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`);
    await tx.auditAnchor.create({ data: { seq: anchor.seq, hash: anchor.hash, before: opts.before, events: count, archiveSha256: sha256 } });
    await tx.auditEvent.deleteMany({ where: { seq: { lte: toSeq } } });
    await tx.auditFailureWindow.deleteMany({ where: { windowStart: { lt: opts.before } } });
  });
  return { done: true, archived: count, fromSeq, toSeq, sha256, anchor, file: opts.file };
}

export type ArchiveVerifyResult =
  | { ok: true; events: number; fromSeq: string; toSeq: string; anchoredInDatabase: boolean }
  | { ok: false; line: number; detail: string };

function eventFromLine(value: Record<string, unknown>): AuditEvent {
  return {
    ...(value as unknown as AuditEvent),
    seq: BigInt(String(value.seq)),
    at: new Date(String(value.at)),
  };
}

/**
 * Verifies an archive file on its own (every hash and link, the range in its header) and, with
 * a database, that its last event is a recorded anchor whose archive digest matches the file.
 */
export async function verifyAuditArchive(file: string, opts: { checkDatabase?: boolean } = {}): Promise<ArchiveVerifyResult> {
  const bytes = readFileSync(file);
  const lines = bytes.toString("utf8").split("\n");
  if (lines.at(-1) === "") lines.pop();
  let header: ArchiveHeader;
  try {
    header = (JSON.parse(lines[0] ?? "") as { archive: ArchiveHeader }).archive;
    if (header?.format !== ARCHIVE_FORMAT) throw new Error("format");
  } catch {
    return { ok: false, line: 1, detail: `not a ${ARCHIVE_FORMAT} file` };
  }
  let prev = { seq: BigInt(header.startsAfter.seq), hash: header.startsAfter.hash };
  for (let i = 1; i < lines.length; i++) {
    let event: AuditEvent;
    try {
      event = eventFromLine(JSON.parse(lines[i]!) as Record<string, unknown>);
    } catch {
      return { ok: false, line: i + 1, detail: "not a JSON event" };
    }
    if (event.seq !== prev.seq + 1n) return { ok: false, line: i + 1, detail: `seq ${event.seq} follows ${prev.seq}` };
    if (event.prevHash !== prev.hash) return { ok: false, line: i + 1, detail: `event ${event.seq} does not link to its predecessor` };
    if (computeAuditHash(event) !== event.hash) return { ok: false, line: i + 1, detail: `event ${event.seq} does not match its hash` };
    prev = { seq: event.seq, hash: event.hash };
  }
  const events = lines.length - 1;
  if (events !== header.events || prev.seq.toString() !== header.toSeq) {
    return { ok: false, line: lines.length, detail: `the header promises events up to seq ${header.toSeq}, the file ends at ${prev.seq}` };
  }
  let anchoredInDatabase = false;
  if (opts.checkDatabase) {
    const db = await getDb();
    const anchor = await db.auditAnchor.findUnique({ where: { seq: prev.seq } });
    if (!anchor) return { ok: false, line: lines.length, detail: `no anchor at seq ${prev.seq} in the database` };
    if (anchor.hash !== prev.hash) return { ok: false, line: lines.length, detail: `the anchor at seq ${prev.seq} records another hash` };
    if (anchor.archiveSha256 !== createHash("sha256").update(bytes).digest("hex")) {
      return { ok: false, line: 0, detail: "the file's bytes differ from the archive the anchor recorded" };
    }
    anchoredInDatabase = true;
  }
  return { ok: true, events, fromSeq: header.fromSeq, toSeq: header.toSeq, anchoredInDatabase };
}
