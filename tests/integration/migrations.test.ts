import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaPg } from "@prisma/adapter-pg";
import { describe, expect, inject, it } from "vitest";
import { applyMigrations, migrationsDir, pgliteRunner, pgRunner } from "@/lib/db/migrate";
import { PrismaClient } from "@/lib/generated/prisma/client";
import { createTestDatabase, withClient } from "../helpers/databases";
import { copyPgliteTemplate } from "../helpers/pglite-template";
import { findPostgresBin } from "../helpers/postgres-cluster";

const PRISMA_OFFLINE = {
  DATABASE_URL: "postgresql://offline@localhost/offline",
  PRISMA_SCHEMA_ENGINE_BINARY: "/bin/false",
  PRISMA_QUERY_ENGINE_LIBRARY: "/bin/false",
};

async function exerciseClient(prisma: PrismaClient) {
  const user = await prisma.user.create({ data: { id: "usr_1", issuer: "https://idp.test", subject: "alice" } });
  const provider = await prisma.provider.create({
    data: { id: "prv_1", slug: "notes", displayName: "Notes", kind: "oauth2", defaultScopes: ["read"] },
  });
  await prisma.grant.create({
    data: { id: "grt_1", userId: user.id, providerId: provider.id, scopes: ["read"], accessTokenCipher: "c2VhbGVk" },
  });
  const grant = await prisma.grant.findUniqueOrThrow({ where: { userId_providerId: { userId: user.id, providerId: provider.id } } });
  expect(grant.scopes).toEqual(["read"]);
  expect(grant.accessTokenCipher).toBe("c2VhbGVk");
}

/** Migrations that create only objects schema.prisma cannot describe: the audit chain's append function. */
const BEYOND_SCHEMA_MIGRATIONS = ["20261204020000_audit_append_function"];

describe("migrations", () => {
  it("apply cleanly to an empty PostgreSQL, once, and the Prisma client works on it", async () => {
    const url = await createTestDatabase(inject("pgAdminUrl"), { migrated: false });
    const first = await withClient(url, (c) => applyMigrations(pgRunner(c)));
    expect(first.applied.length).toBeGreaterThan(0);
    const second = await withClient(url, (c) => applyMigrations(pgRunner(c)));
    expect(second.applied).toEqual([]);
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
    try {
      await exerciseClient(prisma);
    } finally {
      await prisma.$disconnect();
    }
  });

  it("two migrators racing on one database apply each migration exactly once", async () => {
    const url = await createTestDatabase(inject("pgAdminUrl"), { migrated: false });
    const results = await Promise.all([1, 2].map(() => withClient(url, (c) => applyMigrations(pgRunner(c)))));
    const appliedTotal = results.flatMap((r) => r.applied);
    expect(new Set(appliedTotal).size).toBe(appliedTotal.length);
    const rows = await withClient(url, (c) => c.query(`SELECT migration_name FROM "_prisma_migrations"`));
    expect(rows.rowCount).toBe(appliedTotal.length);
  });

  it("apply cleanly to an empty embedded PGlite, and the Prisma client works on it", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "frontdesk-pglite-"));
    // An empty cluster, as initdb leaves it (a copy of the run's one initdb, pglite-template.ts).
    const pglite = await PGlite.create(await copyPgliteTemplate(path.join(dir, "db")));
    try {
      const result = await applyMigrations(pgliteRunner(pglite), { lock: false });
      expect(result.applied.length).toBeGreaterThan(0);
      const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
      await exerciseClient(prisma);
    } finally {
      await pglite.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the committed migrations produce exactly the schema in schema.prisma", async () => {
    // Build one database from the migrations folder and one from the SQL Prisma derives from
    // schema.prisma alone, then compare their pg_dump schemas: a schema edit without its
    // migration (or a hand-edited migration) shows up as a difference.
    const adminUrl = inject("pgAdminUrl");
    const fromMigrations = await createTestDatabase(adminUrl);
    const fromSchema = await createTestDatabase(adminUrl, { migrated: false });
    const schemaSql = execFileSync(
      "node_modules/.bin/prisma",
      ["migrate", "diff", "--from-empty", "--to-schema-datamodel", "prisma/schema.prisma", "--script"],
      { env: { ...process.env, ...PRISMA_OFFLINE }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
    await withClient(fromSchema, (c) => c.query(schemaSql));
    // What schema.prisma cannot describe (database functions) comes from its own migrations;
    // the same SQL goes into both databases, so the comparison still covers everything else.
    for (const name of BEYOND_SCHEMA_MIGRATIONS) {
      const sql = readFileSync(path.join(migrationsDir(), name, "migration.sql"), "utf8");
      await withClient(fromSchema, (c) => c.query(sql));
    }
    const dump = (url: string) =>
      execFileSync(path.join(findPostgresBin(), "pg_dump"), ["--schema-only", "--no-owner", "--exclude-table=_prisma_migrations", url], {
        encoding: "utf8",
      }).replace(/^(--|\\(un)?restrict ).*$/gm, "");
    expect(dump(fromMigrations)).toBe(dump(fromSchema));
  });
});
