// Fresh databases for tests: each test file gets its own database, cloned from a migrated
// template, so files run in parallel without seeing each other's rows.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { applyMigrations, pgRunner } from "@/lib/db/migrate";

export const TEMPLATE_DB = "frontdesk_template";

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates the migrated template database (once per test run). */
export async function createTemplate(adminUrl: string): Promise<void> {
  await withClient(adminUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB}`);
    await c.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  });
  await withClient(withDatabase(adminUrl, TEMPLATE_DB), (c) => applyMigrations(pgRunner(c)));
}

/** A new, migrated, empty database; returns its URL. */
export async function createTestDatabase(adminUrl: string, opts: { migrated?: boolean } = {}): Promise<string> {
  const name = `t_${randomBytes(6).toString("hex")}`;
  await withClient(adminUrl, (c) =>
    c.query(opts.migrated === false ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DB}`),
  );
  return withDatabase(adminUrl, name);
}
