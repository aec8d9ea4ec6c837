// Agent.lastSeenAt (and firstSeenAt of a pre-registered agent) without a write per call: sightings
// are collected in memory and written in one statement at most once a second, like grant uses
// (lib/grants/touch.ts). Several instances flush the same agents concurrently, so the statement
// must never wait for another's row lock (two batches locking overlapping rows in different
// orders deadlock): it locks in id order with SKIP LOCKED, and a row another instance is writing
// right now is skipped; that instance records an equally recent time. GREATEST keeps the time
// from going backwards. Attribution metadata, not audit: every use is in the audit log.
import { getDb } from "@/lib/db/client";
import { log } from "@/lib/log";

const FLUSH_MS = 1_000;

const SEEN_SQL = `
  WITH seen AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS s(id text, at timestamp(3))),
  locked AS (
    SELECT a.id FROM "Agent" a WHERE a.id IN (SELECT id FROM seen) ORDER BY a.id FOR UPDATE SKIP LOCKED
  )
  UPDATE "Agent" AS a
  SET "lastSeenAt" = GREATEST(a."lastSeenAt", seen.at), "firstSeenAt" = COALESCE(a."firstSeenAt", seen.at)
  FROM seen, locked
  WHERE a.id = seen.id AND a.id = locked.id`;

const pending = new Map<string, Date>();
let timer: NodeJS.Timeout | undefined;

export function markAgentSeen(agentId: string): void {
  pending.set(agentId, new Date());
  if (!timer) {
    timer = setTimeout(() => void flushAgentSightings(), FLUSH_MS);
    timer.unref();
  }
}

export async function flushAgentSightings(): Promise<void> {
  if (timer) clearTimeout(timer);
  timer = undefined;
  if (pending.size === 0) return;
  const batch = [...pending.entries()].map(([id, at]) => ({ id, at: at.toISOString() }));
  pending.clear();
  try {
    const db = await getDb();
    await db.$executeRawUnsafe(SEEN_SQL, JSON.stringify(batch));
  } catch (e) {
    log.warn("recording agent sightings failed", { reason: e instanceof Error ? e.message : "unknown" });
  }
}
