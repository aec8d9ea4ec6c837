// The agent registry: an agent is its (issuer, subject). The first verified sighting creates the
// row (or finds the one an admin pre-registered); the id and display name are then remembered
// briefly in this process. The status is deliberately NOT taken from here: the credential path
// re-reads it in its one query (lib/gateway-api/resolve-credential.ts), so a disable on any
// instance refuses the agent's next call everywhere.
import { getDb } from "@/lib/db/client";
import { CONFIG_CACHE_TTL_MS, TtlCache } from "@/lib/gateways/ttl-cache";
import { newId } from "@/lib/ids";
import type { VerifiedActor } from "./actor";
import { markAgentSeen } from "./touch";
import type { VerifiedActorToken } from "./verify-actor";

interface AgentRef {
  id: string;
  displayName: string;
}

const known = new TtlCache<AgentRef>(CONFIG_CACHE_TTL_MS);

// Insert-if-absent in one statement; timestamps as UTC wall time (how Prisma stores DateTime).
// ON CONFLICT DO NOTHING never waits on a lock it could deadlock on, and returns no row when the
// agent exists; the read after it then finds it (also when a concurrent first sighting won).
async function findOrCreateAgent(token: VerifiedActorToken): Promise<AgentRef> {
  const db = await getDb();
  const inserted = await db.$queryRaw<AgentRef[]>`
    INSERT INTO "Agent" ("id", "issuer", "subject", "displayName", "firstSeenAt", "lastSeenAt", "createdAt", "updatedAt")
    VALUES (${newId("agt")}, ${token.issuer}, ${token.subject}, ${token.nameHint ?? token.subject},
            now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
    ON CONFLICT ("issuer", "subject") DO NOTHING
    RETURNING "id", "displayName"`;
  if (inserted[0]) return inserted[0];
  const existing = await db.agent.findUnique({
    where: { issuer_subject: { issuer: token.issuer, subject: token.subject } },
    select: { id: true, displayName: true },
  });
  if (!existing) throw new Error("agent row vanished between insert and read");
  return existing;
}

/** The registered agent a verified actor token names (created on first sight). */
export async function registerSighting(token: VerifiedActorToken): Promise<VerifiedActor> {
  const ref = await known.get(`${token.issuer}\n${token.subject}`, () => findOrCreateAgent(token));
  markAgentSeen(ref.id);
  return { agentId: ref.id, issuer: token.issuer, subject: token.subject, displayName: ref.displayName, actChain: token.actChain };
}

/** After an admin changed an agent in this process (renames show at once here, elsewhere within the TTL). */
export function forgetAgents(): void {
  known.clear();
}
