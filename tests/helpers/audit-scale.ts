// Scale measurement of the audit log (not a test; run by hand, prints figures):
//   DATABASE_URL=postgresql://... npx tsx tests/helpers/audit-scale.ts [events=1000000]
// Appends events through the real code path (caller transactions of 1,000 events) until the
// table holds `events`, then times verifyAuditChain (and its peak RSS) and typical dashboard
// queries: first pages, a deep page, filtered pages, time ranges and counts.
import { appendAuditMany, type AuditEventInput } from "@/lib/audit/append";
import { countAuditEvents, listAuditEvents } from "@/lib/audit/query";
import { verifyAuditChain } from "@/lib/audit/verify";
import { closeDb, getDb } from "@/lib/db/client";

const target = Number(process.argv[2] ?? 1_000_000);

function event(i: number): AuditEventInput {
  return {
    actorType: i % 50 === 0 ? "admin" : "gateway",
    actorId: `gw_${i % 20}`,
    userId: `usr_${i % 5000}`,
    gatewayId: `gw_${i % 20}`,
    providerId: `prv_${i % 8}`,
    action: i % 10 === 0 ? "elicitation.created" : "resolve",
    decision: i % 97 === 0 ? "deny" : "allow",
    reason: i % 97 === 0 ? "policy_denied" : null,
    context: { agentId: `agent-${i % 300}`, mcpServer: "github", tool: "create_issue", scopes: ["repo"] },
    requestId: `req_${i}`,
  };
}

async function time<T>(label: string, fn: () => Promise<T>, repeat = 5): Promise<T> {
  let result!: T;
  const samples: number[] = [];
  for (let r = 0; r < repeat; r++) {
    const t0 = performance.now();
    result = await fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  console.log(`${label.padEnd(58)} median ${samples[Math.floor(samples.length / 2)]!.toFixed(1)} ms`);
  return result;
}

async function main() {
  const db = await getDb();
  let have = await db.auditEvent.count();
  const t0 = performance.now();
  while (have < target) {
    const n = Math.min(1000, target - have);
    await db.$transaction((tx) => appendAuditMany(Array.from({ length: n }, (_, j) => event(have + j)), tx), { timeout: 60_000 });
    have += n;
    if (have % 100_000 === 0) console.log(`seeded ${have} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  await db.$executeRawUnsafe(`VACUUM ANALYZE "AuditEvent"`);
  console.log(`table holds ${have} events`);

  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const v0 = performance.now();
  const verified = await verifyAuditChain();
  clearInterval(sampler);
  const secs = (performance.now() - v0) / 1000;
  console.log(
    `verifyAuditChain: ${JSON.stringify(verified, (_, v) => (typeof v === "bigint" ? v.toString() : v))} in ${secs.toFixed(1)} s ` +
      `(${(have / secs).toFixed(0)} events/s), RSS ${(baseline / 1e6).toFixed(0)} MB before, peak ${(peak / 1e6).toFixed(0)} MB`,
  );

  const newest = await time("list newest 50", () => listAuditEvents({ limit: 50 }));
  await time("list page at seq 500,000 (cursor)", () => listAuditEvents({ limit: 50, cursor: 500_000n }));
  await time("list by user (200 events of 1M)", () => listAuditEvents({ userId: "usr_42", limit: 50 }));
  await time("list by user, cursor deep in its history", () => listAuditEvents({ userId: "usr_42", limit: 50, cursor: 100_000n }));
  await time("list by gateway (50,000 events)", () => listAuditEvents({ gatewayId: "gw_3", limit: 50 }));
  await time("list by provider + action (5%)", () => listAuditEvents({ providerId: "prv_2", action: "elicitation.created", limit: 50 }));
  await time("list by provider + action matching nothing (worst case)", () => listAuditEvents({ providerId: "prv_3", action: "elicitation.created", limit: 50 }));
  await time("list decision=deny (1%)", () => listAuditEvents({ decision: "deny", limit: 50 }));
  const at = newest.events[0]!.at;
  const oldest = (await db.auditEvent.findFirstOrThrow({ orderBy: { seq: "asc" } })).at;
  const mid = new Date((at.getTime() + oldest.getTime()) / 2);
  // A window of 1% of the log's time span (about 10,000 events).
  const span = Math.max(1, Math.round((at.getTime() - oldest.getTime()) / 100));
  await time("list time range: 1% of the span, mid-log", () => listAuditEvents({ from: mid, to: new Date(mid.getTime() + span), limit: 50 }));
  await time("list user within time range (first half)", () => listAuditEvents({ userId: "usr_42", to: mid, limit: 50 }));
  await time("count all", () => countAuditEvents());
  await time("count by user", () => countAuditEvents({ userId: "usr_42" }));
  await time("count by gateway", () => countAuditEvents({ gatewayId: "gw_3" }));
  await time("count decision=deny", () => countAuditEvents({ decision: "deny" }));
  await time("count time range (1% of the span)", () => countAuditEvents({ from: mid, to: new Date(mid.getTime() + span) }));
  await closeDb();
}

main().catch(async (error: unknown) => {
  console.error(error);
  await closeDb();
  process.exit(1);
});
