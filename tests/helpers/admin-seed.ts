// Bulk seeding for dashboard scale tests: users, sealed grants and a long audit history, with
// set-based SQL (one statement per table) instead of one round trip per row. The audit events
// are appended to the real chain: under the chain's advisory lock, each event is prepared and
// sanitized by lib/audit, hashed over its predecessor with lib/audit's hash, with non-decreasing
// timestamps, so `verifyAuditChain()` passes over the seeded log.
import { prepareAuditEvent, type AuditEventInput } from "@/lib/audit/append";
import { AUDIT_CHAIN_LOCK } from "@/lib/audit/chain";
import { chainedHash, GENESIS_HASH } from "@/lib/audit/hash";
import { sealFields } from "@/lib/crypto/envelope";
import { getDb } from "@/lib/db/client";
import { grantBinding } from "@/lib/grants/sealed";

// The seeded events carry times spread over past days, which the chain's own append
// (frontdesk_audit_append, which stamps the database clock) cannot write; so they are hashed
// here and inserted from one jsonb array per statement.
const AUDIT_INSERT_SQL = `
  INSERT INTO "AuditEvent" (seq, id, at, "actorType", "actorId", "userId", "gatewayId", "agentId", "providerId",
                            action, decision, reason, context, "requestId", "prevHash", hash)
  SELECT seq, id, at, "actorType", "actorId", "userId", "gatewayId", "agentId", "providerId",
         action, decision::"Decision", reason, context, "requestId", "prevHash", hash
  FROM jsonb_to_recordset($1::jsonb) AS r(seq bigint, id text, at timestamp(3), "actorType" text, "actorId" text,
       "userId" text, "gatewayId" text, "agentId" text, "providerId" text, action text, decision text, reason text,
       context jsonb, "requestId" text, "prevHash" text, hash text)`;

export interface ScaleSeedInput {
  issuer: string;
  users: number;
  /** Providers and gateways created for the seed (ids prv_seed_<k>, gw_seed_<k>). */
  providers: number;
  gateways: number;
  events: number;
  /** The seeded history spans this many days, ending a minute ago. */
  days: number;
}

export interface ScaleSeedResult {
  userIds: string[];
  providerIds: string[];
  gatewayIds: string[];
  grants: number;
  events: number;
  firstSeq: string;
  lastSeq: string;
  ms: number;
}

const STATUSES = ["active", "active", "active", "needs_reauth", "revoked"] as const;

/** Deterministic event i: a mix of resolves (allowed, consent needed, denied), elicitations and grant events. */
function eventFor(i: number, ids: { userIds: string[]; gatewayIds: string[]; providerIds: string[] }): AuditEventInput {
  const userId = ids.userIds[i % ids.userIds.length]!;
  const gatewayId = ids.gatewayIds[i % ids.gatewayIds.length]!;
  const providerId = ids.providerIds[i % ids.providerIds.length]!;
  const kind = i % 10;
  const base = { userId, gatewayId, providerId, requestId: `req_seed_${i}` };
  if (kind <= 4) return { ...base, actorType: "gateway", actorId: gatewayId, action: "resolve", decision: "allow", context: { scopes: ["notes:read"], grantId: `grt_seed_${i % 1000}` } };
  if (kind === 5) return { ...base, actorType: "gateway", actorId: gatewayId, action: "token_exchange", decision: "deny", reason: "interaction_required:no_grant", context: { scopes: ["notes:read"] } };
  if (kind === 6) return { ...base, actorType: "gateway", actorId: gatewayId, action: "resolve", decision: "deny", reason: "policy:no_gateway_rule", context: { scopes: ["admin:all"] } };
  if (kind === 7) return { ...base, actorType: "gateway", actorId: gatewayId, action: "elicitation.created", decision: "info", context: { scopes: ["notes:read"] } };
  if (kind === 8) return { ...base, actorType: "user", actorId: userId, action: "elicitation.completed", decision: "info", context: {} };
  return { ...base, actorType: "system", actorId: null, action: "grant.refreshed", decision: "info", context: { grantId: `grt_seed_${i % 1000}` } };
}

export async function seedScale(s: ScaleSeedInput): Promise<ScaleSeedResult> {
  const started = Date.now();
  const db = await getDb();
  const pad = (n: number) => String(n).padStart(5, "0");
  const userIds = Array.from({ length: s.users }, (_, i) => `usr_seed_${pad(i)}`);
  const providerIds = Array.from({ length: s.providers }, (_, i) => `prv_seed_${i}`);
  const gatewayIds = Array.from({ length: s.gateways }, (_, i) => `gw_seed_${i}`);
  // Seed providers (API-key kind: no client secret) and gateways (a hash of nothing usable).
  await db.$executeRawUnsafe(
    `INSERT INTO "Provider" (id, slug, "displayName", kind, "apiKeyHeader", "updatedAt")
     SELECT 'prv_seed_' || g, 'seed-' || g, 'Seed Service ' || g, 'api_key', 'X-Api-Key', now() FROM generate_series(0, $1::int - 1) AS g`,
    s.providers,
  );
  await db.$executeRawUnsafe(
    `INSERT INTO "Gateway" (id, name, "authMethod", "secretHash", "updatedAt")
     SELECT 'gw_seed_' || g, 'seed-gateway-' || g, 'client_secret_basic', 'sha256:' || repeat('0', 64), now() FROM generate_series(0, $1::int - 1) AS g`,
    s.gateways,
  );
  await db.$executeRawUnsafe(
    `INSERT INTO "User" (id, issuer, subject, email, name, groups, role, "createdAt", "updatedAt")
     SELECT 'usr_seed_' || lpad(g::text, 5, '0'), $1, 'seed-' || g, 'user' || lpad(g::text, 5, '0') || '@scale.test',
            'Seed User ' || g, ARRAY[CASE WHEN g % 3 = 0 THEN 'engineering' ELSE 'sales' END], 'user',
            now() - (g || ' minutes')::interval, now()
     FROM generate_series(0, $2::int - 1) AS g`,
    s.issuer,
    s.users,
  );

  // One grant per (user, provider): sealed fake tokens so the rows look like real ones.
  const grants: Record<string, unknown>[] = [];
  let n = 0;
  for (const [u, userId] of userIds.entries()) {
    for (const [p, providerId] of providerIds.entries()) {
      const id = `grt_seed_${pad(n)}`;
      const status = STATUSES[(u + p) % STATUSES.length]!;
      const sealed = status === "revoked" ? null : await sealFields(grantBinding({ id, userId, providerId }), { accessToken: `seed-access-${n}`, refreshToken: null, apiKey: null });
      grants.push({
        id,
        userId,
        providerId,
        scopes: ["notes:read"],
        status,
        tokenType: "Bearer",
        accessTokenCipher: sealed?.ciphertexts.accessToken ?? null,
        wrappedKey: sealed?.wrappedKey ?? null,
        keyVersion: sealed?.keyVersion ?? null,
        createdAt: new Date(Date.now() - n * 60_000).toISOString(),
        lastUsedGatewayId: gatewayIds[n % gatewayIds.length] ?? null,
        lastUsedAt: n % 4 === 0 ? null : new Date(Date.now() - n * 30_000).toISOString(),
        revokedAt: status === "revoked" ? new Date(Date.now() - n * 10_000).toISOString() : null,
      });
      n++;
    }
  }
  await db.$executeRawUnsafe(
    `INSERT INTO "Grant" (id, "userId", "providerId", scopes, status, "tokenType", "accessTokenCipher", "wrappedKey", "keyVersion",
                          "createdAt", "updatedAt", "lastUsedGatewayId", "lastUsedAt", "revokedAt")
     SELECT id, "userId", "providerId", ARRAY(SELECT jsonb_array_elements_text(scopes)), status::"GrantStatus", "tokenType",
            "accessTokenCipher", "wrappedKey", "keyVersion", "createdAt", now(), "lastUsedGatewayId", "lastUsedAt", "revokedAt"
     FROM jsonb_to_recordset($1::jsonb) AS r(id text, "userId" text, "providerId" text, scopes jsonb, status text, "tokenType" text,
          "accessTokenCipher" text, "wrappedKey" text, "keyVersion" text, "createdAt" timestamp(3), "lastUsedGatewayId" text, "lastUsedAt" timestamp(3),
          "revokedAt" timestamp(3))`,
    JSON.stringify(grants),
  );

  // The audit history, appended to the chain under its lock.
  const end = Date.now() - 60_000;
  const span = s.days * 86_400_000;
  const result = await db.$transaction(
    async (tx) => {
      await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`);
      const [tail] = await tx.$queryRawUnsafe<{ seq: bigint | null; hash: string | null; atMs: bigint | null }[]>(
        `SELECT seq, hash, floor(extract(epoch FROM at) * 1000)::bigint AS "atMs" FROM "AuditEvent" ORDER BY seq DESC LIMIT 1`,
      );
      let seq = tail?.seq ?? 0n;
      let prevHash = tail?.hash ?? GENESIS_HASH;
      const floor = tail?.atMs ? Number(tail.atMs) : 0;
      const firstSeq = seq + 1n;
      const rows: Record<string, unknown>[] = [];
      for (let i = 0; i < s.events; i++) {
        // Evenly spread, never earlier than the chain's current tail (time never goes backwards).
        const at = new Date(Math.max(floor, end - span + Math.floor((i * span) / s.events)));
        seq += 1n;
        const { serialized, ...fields } = prepareAuditEvent(eventFor(i, { userIds, gatewayIds, providerIds }));
        const hash = chainedHash(prevHash, seq, fields.id, at, serialized);
        rows.push({ ...fields, seq: seq.toString(), at: at.toISOString(), prevHash, hash });
        prevHash = hash;
      }
      for (let i = 0; i < rows.length; i += 2000) await tx.$executeRawUnsafe(AUDIT_INSERT_SQL, JSON.stringify(rows.slice(i, i + 2000)));
      return { firstSeq, lastSeq: seq };
    },
    { timeout: 120_000, maxWait: 30_000 },
  );
  return { userIds, providerIds, gatewayIds, grants: grants.length, events: s.events, firstSeq: result.firstSeq.toString(), lastSeq: result.lastSeq.toString(), ms: Date.now() - started };
}
