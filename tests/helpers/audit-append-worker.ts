// Child process for the multi-process audit test: connects to DATABASE_URL, prints "ready",
// waits for a line on stdin, then appends N events (alternating runs of sequential and
// concurrent appends, so both group commit and single appends race the other processes),
// prints "done" and exits 0. Usage: tsx tests/helpers/audit-append-worker.ts <n> <label>
import { once } from "node:events";
import { appendAudit, closeAudit, getAuditWriteStats } from "@/lib/audit/append";
import { closeDb, getDb } from "@/lib/db/client";

const n = Number(process.argv[2]);
const label = process.argv[3] ?? "worker";

function event(i: number) {
  return {
    actorType: "system" as const,
    actorId: label,
    action: "test.append",
    decision: "info" as const,
    context: { worker: label, i },
  };
}

async function main() {
  const db = await getDb();
  await db.$queryRawUnsafe("SELECT 1");
  process.stdout.write("ready\n");
  await once(process.stdin, "data");
  // A flowing stdin would keep the process alive after the work is done.
  process.stdin.destroy();
  const run = 10;
  for (let i = 0; i < n; i += run) {
    const size = Math.min(run, n - i);
    if ((i / run) % 2 === 0) {
      for (let j = 0; j < size; j++) await appendAudit(event(i + j));
    } else {
      await Promise.all(Array.from({ length: size }, (_, j) => appendAudit(event(i + j))));
    }
  }
  await closeAudit();
  process.stdout.write(`done ${JSON.stringify(getAuditWriteStats())}\n`);
  await closeDb();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
