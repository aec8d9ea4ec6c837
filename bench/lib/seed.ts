// Seeding for the benchmark. Configuration (provider, gateways, policy) and the refresh-storm
// grant go through lib/ exactly as the CLI and portal create them. Bulk data is written with SQL
// for speed, but stays real:
//  - grants are sealed with lib/crypto's sealFields (fresh data key, AAD bound to the row), so
//    every seeded grant decrypts on resolve exactly like one saved by the portal;
//  - audit events are appended with the chain's own frontdesk_audit_append (advisory lock, tail
//    read, hashes over the predecessor), in transactions of 20,000 events, so the seeded log verifies
//    with `frontdesk audit verify`. Their content is synthetic (resolve decisions of seeded users).
//  - settleDatabase then leaves the database as a long-running one would be: vacuumed, analyzed,
//    checkpointed.
import { exportJWK, exportPKCS8, generateKeyPair, type JWK } from "jose";
import pg from "pg";
import { prepareAuditEvent } from "@/lib/audit/append";
import { APPEND_BATCH_SQL, batchParam } from "@/lib/audit/chain";
import { sealFields } from "@/lib/crypto/envelope";
import { createGateway } from "@/lib/gateways/register";
import { newId } from "@/lib/ids";
import { createPolicyRule } from "@/lib/policy/rules";
import { createProvider } from "@/lib/providers/create";

export const SUBJECT_AUDIENCE = "frontdesk";
export const PROVIDER_SLUG = "notes";
export const SCOPE = "notes:read";

export interface BenchConfig {
  providerId: string;
  basic: { id: string; secret: string };
  trusted: { id: string; secret: string };
  jwt: { id: string; kid: string; privateKeyPem: string };
}

const ADMIN = { type: "admin" as const, id: "bench" };

export async function seedConfiguration(upstream: { issuer: string; apiUrl: string; clientId: string; clientSecret: string }): Promise<BenchConfig> {
  const provider = await createProvider({
    slug: PROVIDER_SLUG,
    displayName: "Notes",
    kind: "oidc",
    issuer: upstream.issuer,
    clientId: upstream.clientId,
    clientSecret: upstream.clientSecret,
    defaultScopes: [SCOPE],
    resourceUrls: [upstream.apiUrl],
    allowInsecureHttp: true,
  });
  const basic = await createGateway({ name: "bench-basic", authMethod: "client_secret_basic" }, ADMIN);
  const trusted = await createGateway({ name: "bench-trusted", authMethod: "client_secret_basic", trustedSubject: true }, ADMIN);
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = "bench-key-1";
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  const jwt = await createGateway({ name: "bench-jwt", authMethod: "private_key_jwt", jwks: { keys: [publicJwk] } }, ADMIN);
  for (const g of [basic, trusted, jwt]) {
    await createPolicyRule({ providerId: provider.id, gatewayId: g.gateway.id, scopes: ["notes:read", "notes:write"] }, ADMIN);
  }
  // Everyone may connect the provider (the user rule).
  await createPolicyRule({ providerId: provider.id, gatewayId: null }, ADMIN);
  return {
    providerId: provider.id,
    basic: { id: basic.gateway.id, secret: basic.secret! },
    trusted: { id: trusted.gateway.id, secret: trusted.secret! },
    jwt: { id: jwt.gateway.id, kid, privateKeyPem: await exportPKCS8(privateKey) },
  };
}

export const benchSubject = (i: number) => `bench-user-${i}`;
const benchUserId = (i: number) => `usr_bench_${i}`;

const USERS_SQL = `
  INSERT INTO "User" (id, issuer, subject, email, groups, "updatedAt")
  SELECT id, issuer, subject, email, '{}'::text[], now()
  FROM jsonb_to_recordset($1::jsonb) AS r(id text, issuer text, subject text, email text)`;

const GRANTS_SQL = `
  INSERT INTO "Grant" (id, "userId", "providerId", scopes, status, "tokenType", "accessTokenCipher", "refreshTokenCipher",
                       "wrappedKey", "keyVersion", "expiresAt", "updatedAt")
  SELECT id, "userId", "providerId", ARRAY[scope], 'active'::"GrantStatus", 'Bearer', access, refresh, "wrappedKey", "keyVersion",
         now() + interval '30 days', now()
  FROM jsonb_to_recordset($1::jsonb) AS r(id text, "userId" text, "providerId" text, scope text, access text, refresh text,
       "wrappedKey" text, "keyVersion" text)`;

// Every bench gateway is approved for every grant that lacks an approval (per-requester consent,
// lib/consent), as if each user had approved them on the consent page.
export const APPROVE_ALL_GATEWAYS_SQL = `
  INSERT INTO "RequesterApproval" (id, "grantId", "gatewayId", "approvedBy")
  SELECT 'apr_' || replace(gen_random_uuid()::text, '-', ''), g.id, gw.id, 'user'::"ApprovalSource"
  FROM "Grant" g CROSS JOIN "Gateway" gw
  WHERE NOT EXISTS (SELECT 1 FROM "RequesterApproval" a WHERE a."grantId" = g.id AND a."gatewayId" = gw.id)`;

/**
 * Users `from`..`to-1` (subject bench-user-<i> at `issuer`), each with an active, sealed grant for
 * the provider whose access token is valid for 30 days (no refresh on the hot path).
 */
export async function seedUsersWithGrants(databaseUrl: string, issuer: string, providerId: string, from: number, to: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const CHUNK = 2_000;
    for (let start = from; start < to; start += CHUNK) {
      const end = Math.min(to, start + CHUNK);
      const users = [];
      const grants = [];
      for (let i = start; i < end; i++) {
        const userId = benchUserId(i);
        users.push({ id: userId, issuer, subject: benchSubject(i), email: `${benchSubject(i)}@bench.test` });
        const id = newId("grt");
        const sealed = await sealFields(
          { table: "Grant", id, owner: userId, provider: providerId },
          { accessToken: `bench-access-token-${i}`, refreshToken: `bench-refresh-token-${i}` },
        );
        grants.push({
          id,
          userId,
          providerId,
          scope: SCOPE,
          access: sealed.ciphertexts.accessToken,
          refresh: sealed.ciphertexts.refreshToken,
          wrappedKey: sealed.wrappedKey,
          keyVersion: sealed.keyVersion,
        });
      }
      await client.query("BEGIN");
      await client.query(USERS_SQL, [JSON.stringify(users)]);
      await client.query(GRANTS_SQL, [JSON.stringify(grants)]);
      await client.query("COMMIT");
    }
    await client.query(APPROVE_ALL_GATEWAYS_SQL);
    await client.query(`ANALYZE "User"`);
    await client.query(`ANALYZE "Grant"`);
    await client.query(`ANALYZE "RequesterApproval"`);
  } finally {
    await client.end();
  }
}

/** Appends synthetic resolve decisions through the real chain code until the log holds `target` events. */
export async function seedAuditEvents(databaseUrl: string, target: number, providerId: string, gatewayId: string, users: number): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const count = async () => Number((await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM "AuditEvent"`)).rows[0]!.n);
    let have = await count();
    const TX_EVENTS = 20_000;
    while (have < target) {
      const n = Math.min(TX_EVENTS, target - have);
      const events = Array.from({ length: n }, (_, j) => {
        const i = have + j;
        const user = i % users;
        return prepareAuditEvent({
          actorType: "gateway",
          actorId: gatewayId,
          userId: benchUserId(user),
          gatewayId,
          providerId,
          action: "resolve",
          decision: "allow",
          requestId: `req_bench_${i}`,
          context: { scopes: [SCOPE], subjectSource: "subject_token", agentId: `agent-${i % 50}`, authMethod: "client_secret_basic" },
        });
      });
      await client.query("BEGIN ISOLATION LEVEL READ COMMITTED");
      try {
        await client.query(APPEND_BATCH_SQL, [batchParam(events)]);
        await client.query("COMMIT");
      } catch (e) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw e;
      }
      have += n;
    }
    await client.query(`VACUUM ANALYZE "AuditEvent"`);
    return have;
  } finally {
    await client.end();
  }
}

/**
 * After a bulk seed: VACUUM ANALYZE every table (a database that size in production has been
 * vacuumed and analyzed; otherwise autovacuum works through the seed during the measurement),
 * then CHECKPOINT, so that the seed's dirty pages are on disk before the measurement rather
 * than written by the checkpointer during it. CHECKPOINT needs a superuser (or pg_checkpoint on
 * PostgreSQL 15+); on an external server without it, the returned text says so.
 */
export async function settleDatabase(databaseUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const t0 = performance.now();
    await client.query("VACUUM ANALYZE");
    const vacuumed = performance.now();
    const checkpoint = await client.query("CHECKPOINT").then(
      () => `CHECKPOINT ${((performance.now() - vacuumed) / 1000).toFixed(1)} s`,
      (e: Error) => `no CHECKPOINT (${e.message})`,
    );
    return `VACUUM ANALYZE ${((vacuumed - t0) / 1000).toFixed(1)} s, ${checkpoint}`;
  } finally {
    await client.end();
  }
}

/** The table baseline (b) inserts into (not part of Frontdesk's schema; benchmark database only). */
export async function createBaselineTable(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS "BenchEvent" (
      id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), "userId" text, action text NOT NULL, context jsonb)`);
  } finally {
    await client.end();
  }
}
