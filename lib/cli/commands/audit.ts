// `audit verify`: walks the audit hash chain and reports the first modified, deleted, inserted
// or reordered event. Exit code 1 when the chain is broken, so monitoring can alert on it.
import { defineCommand } from "../registry";

defineCommand({
  path: ["audit", "verify"],
  summary: "Verify the audit log's hash chain; exit 1 at the first tampered event",
  async run() {
    // Loaded on use, like every heavy module here, so `--help` and `keys generate` start fast.
    const { verifyAuditChain } = await import("@/lib/audit/verify");
    const result = await verifyAuditChain();
    if (result.ok) {
      return { exitCode: 0, text: `Audit chain intact: ${result.count} event${result.count === 1 ? "" : "s"} verified.`, data: result };
    }
    return {
      exitCode: 1,
      text: `Audit chain BROKEN at seq ${result.firstBadSeq}: ${result.kind} event (${result.detail}); ${result.count} event${result.count === 1 ? "" : "s"} checked.`,
      data: result,
    };
  },
});
