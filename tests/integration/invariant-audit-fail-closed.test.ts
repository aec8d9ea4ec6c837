// Invariant 8 (design.md section 7): every decision is audited before the response, and
// "no audit write -> no credential" (fail closed). The audit write is made to fail for real: a
// trigger on PostgreSQL raises on every INSERT into "AuditEvent" (whichever connection the
// writer uses: the group commit's own pool, or a caller's transaction). While it is in place a
// user who HAS a valid credential must get none, on both gateway interfaces; no elicitation
// may be created unaudited; and once the audit log accepts writes again, everything works and
// the hash chain is intact.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/test-db";
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

await useTestDatabase();

let bed: GatewayTestbed;
let resolve: (req: Request) => Promise<Response>;
let token: (req: Request) => Promise<Response>;
let accessToken: string;
let refreshToken: string;
let grantId: string;

beforeAll(async () => {
  bed = await startGatewayTestbed();
  resolve = (await import("@/lib/gateway-api/resolve")).handleResolve;
  token = (await import("@/lib/gateway-api/token-exchange")).handleTokenRequest;
  const minted = await connectNotes(bed);
  accessToken = minted.accessToken;
  refreshToken = minted.refreshToken;
  grantId = minted.grantId;
}, 60_000);

afterAll(async () => {
  await unblockAudit().catch(() => undefined);
  await bed?.close();
});

async function db() {
  const { getDb } = await import("@/lib/db/client");
  return getDb();
}

async function blockAudit() {
  const d = await db();
  await d.$executeRawUnsafe(`CREATE OR REPLACE FUNCTION invariant_block_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit log unavailable (test)'; END $$ LANGUAGE plpgsql`);
  await d.$executeRawUnsafe(`CREATE TRIGGER invariant_block_audit BEFORE INSERT ON "AuditEvent" FOR EACH ROW EXECUTE FUNCTION invariant_block_audit()`);
}

async function unblockAudit() {
  const d = await db();
  await d.$executeRawUnsafe(`DROP TRIGGER IF EXISTS invariant_block_audit ON "AuditEvent"`);
}

const subjectToken = (user: "alice" | "bob" = "alice") => bed.idp.signSubjectToken({ sub: bed.idp.users[user].sub, aud: SUBJECT_AUDIENCE });
const auth = () => ({ authorization: basicAuth(bed.basic.id, bed.basic.secret!) });

async function callResolve(user: "alice" | "bob" = "alice") {
  const res = await resolve(resolveRequest(bed.frontdeskUrl, { subject_token: await subjectToken(user), provider: "notes", scopes: ["notes:read"] }, auth()));
  return { status: res.status, text: await res.text() };
}

async function callExchange(user: "alice" | "bob" = "alice") {
  const res = await token(
    tokenRequest(
      bed.frontdeskUrl,
      [
        ["grant_type", TOKEN_EXCHANGE_GRANT],
        ["subject_token", await subjectToken(user)],
        ["subject_token_type", ACCESS_TOKEN_TYPE],
        ["audience", "notes"],
        ["scope", "notes:read"],
      ],
      auth(),
    ),
  );
  return { status: res.status, text: await res.text() };
}

describe("no audit write, no credential", () => {
  it("with the audit log writable, alice gets her token (the baseline)", async () => {
    expect((await callResolve()).status).toBe(200);
    expect(JSON.parse((await callExchange()).text).access_token).toBe(accessToken);
  });

  it("with every audit INSERT failing: resolve and token exchange refuse with a retryable 503 and no credential", async () => {
    const d = await db();
    const eventsBefore = await d.auditEvent.count();
    await blockAudit();
    try {
      const viaRest = await callResolve();
      expect(viaRest.status).toBe(503);
      expect(JSON.parse(viaRest.text).error.code).toBe("service_unavailable");
      expect(viaRest.text).not.toContain(accessToken);
      expect(viaRest.text).not.toMatch(/audit log unavailable \(test\)|AuditEvent|prisma/i);

      const viaExchange = await callExchange();
      expect(viaExchange.status).toBe(503);
      const json = JSON.parse(viaExchange.text);
      expect(json.error).toBe("temporarily_unavailable");
      expect(json).not.toHaveProperty("access_token");
      expect(viaExchange.text).not.toContain(accessToken);
    } finally {
      await unblockAudit();
    }
    expect(await d.auditEvent.count()).toBe(eventsBefore);
  });

  it("with every audit INSERT failing: an expired grant is not refreshed into a credential either", async () => {
    const d = await db();
    await d.grant.update({ where: { id: grantId }, data: { expiresAt: new Date(Date.now() - 60_000) } });
    await blockAudit();
    let refused: { status: number; text: string };
    try {
      refused = await callResolve();
      expect(refused.status).toBe(503);
      expect(JSON.parse(refused.text)).not.toHaveProperty("header");
      expect(refused.text).not.toContain(accessToken);
      const { getDb } = await import("@/lib/db/client");
      // The upstream has already rotated the refresh token: the new tokens are kept (losing them
      // would force alice to reconnect), but none of them left Frontdesk.
      const row = await (await getDb()).grant.findUniqueOrThrow({ where: { id: grantId }, select: { lastRefreshedAt: true } });
      expect(row.lastRefreshedAt).not.toBeNull();
    } finally {
      await unblockAudit();
    }
    // With the audit log back, the kept token is served without another upstream refresh.
    const refreshesBefore = bed.upstream.stats.refreshRequests;
    const again = await callResolve();
    expect(again.status).toBe(200);
    expect(bed.upstream.stats.refreshRequests).toBe(refreshesBefore);
    const refreshed = JSON.parse(again.text).header.value.replace(/^Bearer /, "");
    expect(refreshed).not.toBe(accessToken);
    expect(refused.text).not.toContain(refreshed);
    accessToken = refreshed;
  });

  it("with every audit INSERT failing: consent needed creates no unaudited elicitation and hands out no link", async () => {
    const d = await db();
    const before = await d.elicitation.count();
    await blockAudit();
    try {
      const res = await callResolve("bob");
      expect(res.status).toBe(503);
      expect(res.text).not.toMatch(/eli_|\/connect\//);
      const ex = await callExchange("bob");
      expect(ex.status).toBe(503);
      expect(ex.text).not.toMatch(/eli_|\/connect\//);
    } finally {
      await unblockAudit();
    }
    expect(await d.elicitation.count()).toBe(before);
  });

  it("a gateway that fails to authenticate is still refused (401) while the audit log is down", async () => {
    await blockAudit();
    try {
      const res = await resolve(
        resolveRequest(bed.frontdeskUrl, { subject_token: await subjectToken(), provider: "notes" }, { authorization: basicAuth(bed.basic.id, "fdgs_" + "x".repeat(43)) }),
      );
      expect(res.status).toBe(401);
    } finally {
      await unblockAudit();
    }
  });

  it("once the audit log accepts writes again, every decision is recorded and the chain verifies", async () => {
    const d = await db();
    const before = await d.auditEvent.count({ where: { action: "resolve", decision: "allow" } });
    const res = await callResolve();
    expect(res.status).toBe(200);
    const { flushAudit } = await import("@/lib/audit/append");
    await flushAudit();
    expect(await d.auditEvent.count({ where: { action: "resolve", decision: "allow" } })).toBe(before + 1);
    const { verifyAuditChain } = await import("@/lib/audit/verify");
    expect(await verifyAuditChain()).toMatchObject({ ok: true });
  });
});
