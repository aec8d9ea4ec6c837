// Backup and restore (docs/operations.md "Backup and restore"): a populated database is dumped
// with pg_dump, restored with pg_restore into a fresh PostgreSQL cluster, and the restored copy
// is a working Frontdesk: the audit chain verifies end to end and a gateway resolves the same
// credential (which needs the same key-encryption keys: a backup is the dump plus the keys).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../helpers/databases";
import { basicAuth, connectNotes, type GatewayTestbed, resolveRequest, startGatewayTestbed, SUBJECT_AUDIENCE } from "../helpers/gateway-testbed";
import { findPostgresBin, type PostgresCluster, startPostgresCluster } from "../helpers/postgres-cluster";
import { useTestDatabase } from "../helpers/test-db";

const sourceUrl = await useTestDatabase();

let bed: GatewayTestbed;
let fresh: PostgresCluster;
const dir = mkdtempSync(path.join(os.tmpdir(), "frontdesk-backup-"));

beforeAll(async () => {
  bed = await startGatewayTestbed();
  fresh = await startPostgresCluster();
}, 120_000);
afterAll(async () => {
  await bed?.close();
  fresh?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function resolveAlice() {
  const { handleResolve } = await import("@/lib/gateway-api/resolve");
  const subject_token = await bed.idp.signSubjectToken({ sub: bed.idp.users.alice.sub, aud: SUBJECT_AUDIENCE });
  const res = await handleResolve(resolveRequest(bed.frontdeskUrl, { subject_token, provider: "notes" }, { authorization: basicAuth(bed.basic.id, bed.basic.secret!) }));
  return { status: res.status, body: await res.json() };
}

describe("backup and restore", () => {
  it("pg_dump -> pg_restore into a fresh cluster: audit chain verifies, a credential resolves", async () => {
    const grant = await connectNotes(bed, { user: "alice" });
    const before = await resolveAlice();
    expect(before.status).toBe(200);
    const { flushAudit } = await import("@/lib/audit/append");
    await flushAudit();
    const { verifyAuditChain } = await import("@/lib/audit/verify");
    const sourceChain = await verifyAuditChain();
    expect(sourceChain.ok).toBe(true);

    // The documented procedure: custom-format dump, restore into an empty database.
    const bin = findPostgresBin();
    const dump = path.join(dir, "frontdesk.dump");
    execFileSync(path.join(bin, "pg_dump"), ["--format=custom", "--no-owner", "--file", dump, sourceUrl], { stdio: "pipe" });
    await withClient(fresh.adminUrl, (c) => c.query("CREATE DATABASE frontdesk_restored"));
    const restoredUrl = fresh.adminUrl.replace(/\/postgres(\?|$)/, "/frontdesk_restored$1");
    execFileSync(path.join(bin, "pg_restore"), ["--no-owner", "--exit-on-error", "--dbname", restoredUrl, dump], { stdio: "pipe" });

    // Frontdesk on the restored copy (same keys): switch this process's database.
    const { closeDb } = await import("@/lib/db/client");
    const { env } = await import("@/lib/env");
    await closeDb();
    env().DATABASE_URL = restoredUrl;
    const { clearVerifiedSubjects } = await import("@/lib/gateway-api/subject-cache");
    clearVerifiedSubjects();

    const restoredChain = await verifyAuditChain();
    expect(restoredChain).toMatchObject({ ok: true });
    expect(JSON.stringify(restoredChain)).toBe(JSON.stringify(sourceChain));

    const after = await resolveAlice();
    expect(after.status).toBe(200);
    expect(after.body.header.value).toBe(`Bearer ${grant.accessToken}`);
    // The resolve was audited in the restored database, extending the restored chain.
    await flushAudit();
    const extended = await verifyAuditChain();
    expect(extended.ok).toBe(true);
    const rows = await withClient(restoredUrl, (c) => c.query<{ n: string }>(`SELECT count(*)::text AS n FROM "AuditEvent"`));
    const sourceRows = await withClient(sourceUrl, (c) => c.query<{ n: string }>(`SELECT count(*)::text AS n FROM "AuditEvent"`));
    expect(Number(rows.rows[0]!.n)).toBeGreaterThan(Number(sourceRows.rows[0]!.n));
  });
});
