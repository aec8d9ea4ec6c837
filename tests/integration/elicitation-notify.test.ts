// Cross-instance wake-ups through PostgreSQL LISTEN/NOTIFY (lib/gateways/elicitation-watch.ts):
// the transactions that settle or expire an elicitation send a NOTIFY at commit, and a waiter is
// woken by a notification that another connection (another instance) sends, without the database
// poll: the notifications below leave the row pending, so the poll alone could never end the wait.
import pg from "pg";
import { afterAll, describe, expect, it, vi } from "vitest";
import { useTestDatabase } from "../helpers/test-db";

const url = await useTestDatabase();
process.env.FRONTDESK_URL = "https://frontdesk.example.test";

const { getDb } = await import("@/lib/db/client");
const { createElicitation } = await import("@/lib/elicitations/create");
const { completeElicitation } = await import("@/lib/elicitations/settle");
const { getElicitation } = await import("@/lib/elicitations/read");
const watch = await import("@/lib/gateways/elicitation-watch");
const { newId } = await import("@/lib/ids");

const ISSUER = "https://idp.example.test";
const db = await getDb();
const gateway = await db.gateway.create({ data: { id: newId("gw"), name: "gw-notify", authMethod: "client_secret_basic" } });
const provider = await db.provider.create({ data: { id: newId("prv"), slug: "svc", displayName: "Service", kind: "api_key", apiKeyHeader: "X-Key" } });
// "Another instance": its own connection, outside this process's lib/.
const other = new pg.Client({ connectionString: url });
await other.connect();

afterAll(async () => {
  await watch.closeElicitationListener();
  await other.end();
});

const create = (subject = "alice") =>
  createElicitation({ userIssuer: ISSUER, userSubject: subject, gatewayId: gateway.id, providerId: provider.id, scopes: ["read"], context: {} });

async function listen(): Promise<{ next(): Promise<string>; close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const seen: string[] = [];
  client.on("notification", (m) => m.channel === watch.ELICITATION_CHANNEL && m.payload && seen.push(m.payload));
  await client.query(`LISTEN ${watch.ELICITATION_CHANNEL}`);
  return {
    next: async () => {
      await vi.waitFor(() => expect(seen.length).toBeGreaterThan(0), { timeout: 10_000 });
      return seen.shift()!;
    },
    close: () => client.end(),
  };
}

describe("elicitation wake-ups across instances (LISTEN/NOTIFY)", () => {
  it("completing an elicitation notifies every listener with its id, after the commit", async () => {
    const listener = await listen();
    try {
      const { id } = await create();
      await completeElicitation(id, { issuer: ISSUER, subject: "alice" });
      expect(await listener.next()).toBe(id);
      // Delivered at commit: by then the completed row is what any instance reads.
      expect((await db.elicitation.findUnique({ where: { id } }))?.status).toBe("completed");
    } finally {
      await listener.close();
    }
  });

  it("an elicitation expiring notifies too", async () => {
    const listener = await listen();
    try {
      const { id } = await create("bob");
      await db.elicitation.update({ where: { id }, data: { expiresAt: new Date(Date.now() - 1000) } });
      expect((await getElicitation(id))?.status).toBe("expired");
      expect(await listener.next()).toBe(id);
    } finally {
      await listener.close();
    }
  });

  it("a waiter here is woken by another connection's NOTIFY, with the row still pending (not the poll)", async () => {
    const { id } = await create("carol");
    const waiting = watch.waitForElicitationChange(id, 60_000);
    await vi.waitFor(() => expect(watch.isElicitationListenerUp()).toBe(true), { timeout: 10_000 });
    await other.query(`SELECT pg_notify($1, $2)`, [watch.ELICITATION_CHANNEL, id]);
    expect(await waiting).toBe(true);
    expect((await db.elicitation.findUnique({ where: { id } }))?.status).toBe("pending");
  });

  it("reconnects after the listening connection is killed, and wakes waiters again", async () => {
    const { id } = await create("dave");
    const waiting = watch.waitForElicitationChange(id, 60_000);
    await vi.waitFor(() => expect(watch.isElicitationListenerUp()).toBe(true), { timeout: 10_000 });
    const killed = await other.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'frontdesk-listen' AND datname = current_database()`);
    expect(killed.rowCount).toBe(1);
    await vi.waitFor(() => expect(watch.isElicitationListenerUp()).toBe(false), { timeout: 10_000 });
    await vi.waitFor(() => expect(watch.isElicitationListenerUp()).toBe(true), { timeout: 20_000 });
    // Exactly one listening connection per process after the reconnect.
    const listeners = await other.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'frontdesk-listen' AND datname = current_database()`);
    expect(listeners.rowCount).toBe(1);
    await other.query(`SELECT pg_notify($1, $2)`, [watch.ELICITATION_CHANNEL, id]);
    expect(await waiting).toBe(true);
  });
});
