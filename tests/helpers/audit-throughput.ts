// Audit append throughput (not a test; run by hand, prints figures):
//   DATABASE_URL=postgresql://... npx tsx tests/helpers/audit-throughput.ts [rounds=3]
// Per round: sequential single appends (group commit path, one event per transaction),
// sequential appends inside caller transactions (Prisma), and 64 concurrent appenders
// (closed loop: each awaits its append before the next), with batches per transaction.
import { appendAudit, closeAudit, getAuditWriteStats } from "@/lib/audit/append";
import { closeDb, getDb } from "@/lib/db/client";

const rounds = Number(process.argv[2] ?? 3);
const event = (i: number) => ({
  actorType: "gateway" as const,
  actorId: "gw_bench",
  userId: `usr_${i % 100}`,
  gatewayId: "gw_bench",
  providerId: "prv_bench",
  action: "resolve",
  decision: "allow" as const,
  context: { agentId: "agent-1", tool: "create_issue", scopes: ["repo"] },
  requestId: `req_${i}`,
});

async function rate(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return n / ((performance.now() - t0) / 1000);
}

async function main() {
  const db = await getDb();
  await rate(100, (i) => appendAudit(event(i))); // warm up both paths
  await rate(50, (i) => db.$transaction((tx) => appendAudit(event(i), tx)));
  for (let r = 1; r <= rounds; r++) {
    const sequential = await rate(1000, (i) => appendAudit(event(i)));
    const inTx = await rate(500, (i) => db.$transaction((tx) => appendAudit(event(i), tx)));
    const before = getAuditWriteStats();
    const appenders = 64;
    const each = 100;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: appenders }, async () => {
        for (let i = 0; i < each; i++) await appendAudit(event(i));
      }),
    );
    const concurrent = (appenders * each) / ((performance.now() - t0) / 1000);
    const batches = getAuditWriteStats().batches - before.batches;
    console.log(
      `round ${r}: sequential ${sequential.toFixed(0)}/s (${(1000 / sequential).toFixed(2)} ms each), ` +
        `in caller tx ${inTx.toFixed(0)}/s, 64 concurrent ${concurrent.toFixed(0)}/s ` +
        `(${appenders * each} events in ${batches} transactions, mean batch ${((appenders * each) / batches).toFixed(1)})`,
    );
  }
  await closeAudit();
  await closeDb();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
