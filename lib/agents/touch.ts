// Agent.lastSeenAt (and firstSeenAt of a pre-registered agent) without a write per call, batched
// once a second by the lock-ordered, non-waiting helper in lib/db/touch-batch.ts, to the minute
// as grants are (an agent in constant use is written once a minute; its first sighting at once,
// since lastSeenAt is then null).
import { createTouchBatch, USE_RESOLUTION_SECONDS } from "@/lib/db/touch-batch";

const sightings = createTouchBatch<{ at: Date }>({
  table: "Agent",
  columns: { at: "timestamp(3)" },
  set: `"lastSeenAt" = GREATEST(t."lastSeenAt", u.at), "firstSeenAt" = COALESCE(t."firstSeenAt", u.at)`,
  resolution: { column: "lastSeenAt", seconds: USE_RESOLUTION_SECONDS },
  what: "agent sightings",
});

export function markAgentSeen(agentId: string): void {
  sightings.mark(agentId, { at: new Date() });
}

export function flushAgentSightings(): Promise<void> {
  return sightings.flush();
}
