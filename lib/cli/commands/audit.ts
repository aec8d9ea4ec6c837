// `audit verify`: walks the audit hash chain and reports the first modified, deleted, inserted
// or reordered event. Exit code 1 when the chain is broken, so monitoring can alert on it.
import { defineCommand, UsageError } from "../registry";

defineCommand({
  path: ["audit", "verify"],
  summary: "Verify the audit log's hash chain; exit 1 at the first tampered event",
  description:
    "A chain only proves itself up to its last event: someone who can write the table could rewrite\n" +
    "the tail and rehash it. Each successful run prints the head (seq:hash); record it elsewhere and\n" +
    "pass it with --expect-head next time to detect that and a truncated tail.",
  options: {
    "expect-head": { type: "string", description: "a head recorded earlier; the chain must reach it", placeholder: "seq:hash" },
    "batch-size": { type: "string", description: "events per query (default 2000)", placeholder: "n" },
    archive: { type: "string", description: "verify an archive file from `audit archive` instead (and its anchor here)", placeholder: "file.jsonl" },
  },
  async run({ options }) {
    if (typeof options.archive === "string") {
      const { verifyAuditArchive } = await import("@/lib/audit/archive");
      const result = await verifyAuditArchive(options.archive, { checkDatabase: true });
      return result.ok
        ? { exitCode: 0, text: `Audit archive intact: ${result.events} events (seq ${result.fromSeq}..${result.toSeq}), anchored in the database.`, data: result }
        : { exitCode: 1, text: `Audit archive BROKEN at line ${result.line}: ${result.detail}.`, data: result };
    }
    const head = options["expect-head"];
    let expectedHead: { seq: bigint; hash: string } | undefined;
    if (typeof head === "string") {
      const match = /^(\d{1,19}):([0-9a-f]{64})$/.exec(head);
      if (!match) throw new UsageError("--expect-head must be <seq>:<64 hex characters>");
      expectedHead = { seq: BigInt(match[1]!), hash: match[2]! };
    }
    const rawBatch = options["batch-size"];
    if (typeof rawBatch === "string" && !/^[1-9]\d{0,4}$/.test(rawBatch)) throw new UsageError("--batch-size must be a positive integer");
    // Loaded on use, like every heavy module here, so `--help` and `keys generate` start fast.
    const { verifyAuditChain } = await import("@/lib/audit/verify");
    let lastSeq: bigint | undefined;
    const result = await verifyAuditChain({
      expectedHead,
      batchSize: typeof rawBatch === "string" ? Number(rawBatch) : undefined,
      onProgress: (_count, seq) => {
        lastSeq = seq;
      },
    });
    const events = (n: number) => `${n} event${n === 1 ? "" : "s"}`;
    if (result.ok) {
      // The newest verified event is the head to record for the next --expect-head.
      const head = lastSeq === undefined ? null : await readHead(lastSeq);
      return {
        exitCode: 0,
        text: `Audit chain intact: ${events(result.count)} verified.${head ? `\nHead (record it; pass it next time with --expect-head): ${head.seq}:${head.hash}` : ""}`,
        data: { ...result, head },
      };
    }
    return {
      exitCode: 1,
      text: `Audit chain BROKEN at seq ${result.firstBadSeq}: ${result.kind} event (${result.detail}); ${events(result.count)} checked.`,
      data: result,
    };
  },
});

async function readHead(seq: bigint): Promise<{ seq: string; hash: string } | null> {
  const { getDb } = await import("@/lib/db/client");
  const row = await (await getDb()).auditEvent.findUnique({ where: { seq }, select: { seq: true, hash: true } });
  return row ? { seq: row.seq.toString(), hash: row.hash } : null;
}

defineCommand({
  path: ["audit", "archive"],
  summary: "Move audit events older than a date into a verifiable JSON Lines file and prune them",
  description:
    "Verifies the chain, writes every event before --before (oldest first, after a header line) to\n" +
    "--out (a new file, mode 0600), then in one transaction records an anchor (the last archived\n" +
    "event's seq and hash, and the file's sha256) and deletes the archived events. The chain left in\n" +
    "the table verifies from that anchor; `audit verify --archive <file>` checks the file. The newest\n" +
    "event always stays (new events link to it). Keep the file: it is the only copy of those events.",
  options: {
    before: { type: "string", description: "archive events before this date or time (UTC)", placeholder: "YYYY-MM-DD" },
    out: { type: "string", description: "the archive file to create (must not exist)", placeholder: "file.jsonl" },
  },
  async run({ options }) {
    const before = typeof options.before === "string" ? parseCutoff(options.before) : null;
    if (!before) throw new UsageError("--before must be a date (YYYY-MM-DD) or an ISO time in the past");
    if (typeof options.out !== "string" || options.out === "") throw new UsageError("--out <file> is required");
    const { archiveAuditEvents } = await import("@/lib/audit/archive");
    const result = await archiveAuditEvents({ before, file: options.out });
    if (!result.done) {
      const why = result.reason === "only_the_tail" ? "only the newest event is older, and it always stays" : "no events before that date";
      return { exitCode: 0, text: `Nothing archived: ${why}.`, data: result };
    }
    return {
      exitCode: 0,
      text:
        `Archived ${result.archived} events (seq ${result.fromSeq}..${result.toSeq}) to ${result.file} (sha256 ${result.sha256}).\n` +
        `The chain now starts after anchor ${result.anchor.seq}:${result.anchor.hash}.`,
      data: { ...result, fromSeq: result.fromSeq.toString(), toSeq: result.toSeq.toString(), anchor: { seq: result.anchor.seq.toString(), hash: result.anchor.hash } },
    };
  },
});

function parseCutoff(value: string): Date | null {
  const text = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text)) return null;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) || d.getTime() > Date.now() ? null : d;
}
