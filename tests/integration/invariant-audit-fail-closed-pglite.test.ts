// Invariant 8 on the embedded default (PGlite, one connection; the audit group commit goes
// through Prisma instead of its own pg pool, and the hot path reads through Prisma): no audit
// write -> no credential, and no grant stored or revoked without its audit record.
// Same method as invariant-audit-fail-closed.test.ts: a trigger raises on every INSERT into
// "AuditEvent".
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ACCESS_TOKEN_TYPE,
  basicAuth,
  connectNotes,
  type GatewayTestbed,
  resolveRequest,
  startGatewayTestbed,
  SUBJECT_AUDIENCE,
  TOKEN_EXCHANGE_GRANT,
  tokenRequest,
} from "../helpers/gateway-testbed";
import { freshEmbeddedDataDir } from "../helpers/pglite-template";

const dataDir = await freshEmbeddedDataDir("frontdesk-invariant-pglite-");
delete process.env.DATABASE_URL;
delete process.env.FRONTDESK_KEYS;
process.env.FRONTDESK_DATA_DIR = dataDir;

let bed: GatewayTestbed;
let accessToken: string;
let grantId: string;

const { getDb, closeDb, isEmbedded } = await import("@/lib/db/client");
const { flushAudit } = await import("@/lib/audit/append");

beforeAll(async () => {
  bed = await startGatewayTestbed();
  const { saveGrant } = await import("@/lib/grants/save");
  const minted = await connectNotes(bed);
  accessToken = minted.accessToken;
  grantId = minted.grantId;
});

afterAll(async () => {
  await bed?.close();
  await flushAudit().catch(() => undefined);
  await closeDb();
  rmSync(dataDir, { recursive: true, force: true });
});

async function withAuditBlocked(run: () => Promise<void>) {
  const db = await getDb();
  await db.$executeRawUnsafe(`CREATE OR REPLACE FUNCTION invariant_block_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit log unavailable (test)'; END $$ LANGUAGE plpgsql`);
  await db.$executeRawUnsafe(`CREATE TRIGGER invariant_block_audit BEFORE INSERT ON "AuditEvent" FOR EACH ROW EXECUTE FUNCTION invariant_block_audit()`);
  try {
    await run();
  } finally {
    await db.$executeRawUnsafe(`DROP TRIGGER IF EXISTS invariant_block_audit ON "AuditEvent"`);
  }
}

async function resolveAlice() {
  const { handleResolve } = await import("@/lib/gateway-api/resolve");
  const st = await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
  const res = await handleResolve(resolveRequest(bed.frontdeskUrl, { subject_token: st, provider: "notes" }, { authorization: basicAuth(bed.basic.id, bed.basic.secret!) }));
  return { status: res.status, text: await res.text() };
}

async function exchangeAlice() {
  const { handleTokenRequest } = await import("@/lib/gateway-api/token-exchange");
  const st = await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
  const res = await handleTokenRequest(
    tokenRequest(
      bed.frontdeskUrl,
      [
        ["grant_type", TOKEN_EXCHANGE_GRANT],
        ["subject_token", st],
        ["subject_token_type", ACCESS_TOKEN_TYPE],
        ["audience", "notes"],
      ],
      { authorization: basicAuth(bed.basic.id, bed.basic.secret!) },
    ),
  );
  return { status: res.status, text: await res.text() };
}

describe("no audit write, no credential (embedded PGlite)", () => {
  it("resolve and token exchange hand out nothing while audit INSERTs fail, and work again afterwards", async () => {
    expect(isEmbedded()).toBe(true);
    expect((await resolveAlice()).status).toBe(200);
    await withAuditBlocked(async () => {
      const r = await resolveAlice();
      expect(r.status).toBe(503);
      expect(r.text).not.toContain(accessToken);
      const x = await exchangeAlice();
      expect(x.status).toBe(503);
      expect(JSON.parse(x.text)).toMatchObject({ error: "temporarily_unavailable" });
      expect(x.text).not.toContain(accessToken);
    });
    const again = await resolveAlice();
    expect(again.status).toBe(200);
    expect(again.text).toContain(accessToken);
  });

  it("a grant is neither stored nor revoked without its audit record", async () => {
    const { saveGrant } = await import("@/lib/grants/save");
    const { revokeGrant } = await import("@/lib/grants/revoke");
    const db = await getDb();
    await withAuditBlocked(async () => {
      await expect(
        saveGrant({ userId: bed.users.bob, providerId: bed.providerId, scopes: ["notes:read"], credential: { kind: "oauth", accessToken: "bob-token-0123456789abcdef" } }),
      ).rejects.toMatchObject({ code: "service_unavailable" });
      await expect(revokeGrant(grantId, { type: "admin", id: "t" })).rejects.toMatchObject({ code: "service_unavailable" });
    });
    expect(await db.grant.count({ where: { userId: bed.users.bob } })).toBe(0);
    const alice = await db.grant.findUniqueOrThrow({ where: { id: grantId }, select: { status: true, accessTokenCipher: true } });
    expect(alice.status).toBe("active");
    expect(alice.accessTokenCipher).toBeTruthy();
    await flushAudit();
    const { verifyAuditChain } = await import("@/lib/audit/verify");
    expect(await verifyAuditChain()).toMatchObject({ ok: true });
  });
});
