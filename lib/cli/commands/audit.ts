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
  },
  async run({ options }) {
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
