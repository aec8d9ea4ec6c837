import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/test-db";

const url = await useTestDatabase();

const { appendAuditMany, flushAudit } = await import("@/lib/audit/append");
const { countAuditEvents, listAuditEvents } = await import("@/lib/audit/query");

let sql: pg.Client;
const TOTAL = 120;

beforeAll(async () => {
  sql = new pg.Client({ connectionString: url });
  await sql.connect();
  await appendAuditMany(
    Array.from({ length: TOTAL }, (_, i) => ({
      actorType: "gateway" as const,
      userId: `usr_${i % 4}`,
      gatewayId: i % 2 === 0 ? "gw_even" : "gw_odd",
      providerId: i % 3 === 0 ? "prv_github" : "prv_google",
      action: i % 5 === 0 ? "elicitation.created" : "resolve",
      decision: i % 10 === 0 ? ("deny" as const) : ("allow" as const),
      context: { i },
    })),
  );
  // Spread the events over 120 minutes (seq 1 oldest) so that time filters have something to cut.
  await sql.query(`UPDATE "AuditEvent" SET at = timestamp '2026-01-01 00:00:00' + (seq - 1) * interval '1 minute'`);
});
afterAll(async () => {
  await flushAudit();
  await sql.end();
});

async function collect(filter: Parameters<typeof listAuditEvents>[0]) {
  const seqs: bigint[] = [];
  let cursor: bigint | undefined;
  let pages = 0;
  for (;;) {
    const page = await listAuditEvents({ ...filter, cursor });
    pages++;
    seqs.push(...page.events.map((e) => e.seq));
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
  }
  return { seqs, pages };
}

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));

describe("listAuditEvents", () => {
  it("pages through every event newest first without gaps or repeats", async () => {
    const { seqs, pages } = await collect({ limit: 25 });
    expect(pages).toBe(5);
    expect(seqs).toEqual(Array.from({ length: TOTAL }, (_, i) => BigInt(TOTAL - i)));
  });

  it("has no next cursor when the page holds the last event exactly", async () => {
    const page = await listAuditEvents({ limit: TOTAL });
    expect(page.events).toHaveLength(TOTAL);
    expect(page.nextCursor).toBeNull();
    const first = await listAuditEvents({ limit: 10 });
    expect(first.nextCursor).toBe(first.events[9]!.seq);
  });

  it("filters by user, gateway, provider, action and decision, combined", async () => {
    const { seqs } = await collect({ userId: "usr_1", gatewayId: "gw_odd", limit: 7 });
    // i % 4 === 1 implies odd i, so every usr_1 event came through gw_odd.
    expect(seqs).toHaveLength(30);
    const page = await listAuditEvents({ providerId: "prv_github", action: "elicitation.created", decision: "deny", limit: 50 });
    // i % 30 === 0: i = 0, 30, 60, 90 -> seqs 1, 31, 61, 91.
    expect(page.events.map((e) => e.seq)).toEqual([91n, 61n, 31n, 1n]);
    expect(page.events.every((e) => e.providerId === "prv_github" && e.decision === "deny")).toBe(true);
  });

  it("filters by time: from inclusive, to exclusive", async () => {
    const { seqs } = await collect({ from: at(10), to: at(20), limit: 4 });
    // Minute m holds seq m + 1.
    expect(seqs).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(20 - i)));
    expect(await countAuditEvents({ from: at(10), to: at(20) })).toBe(10);
  });

  it("clamps the page size", async () => {
    expect((await listAuditEvents({ limit: 0 })).events).toHaveLength(1);
    expect((await listAuditEvents({ limit: 10_000 })).events).toHaveLength(TOTAL);
  });
});

describe("countAuditEvents", () => {
  it("counts with the same filters", async () => {
    expect(await countAuditEvents()).toBe(TOTAL);
    expect(await countAuditEvents({ decision: "deny" })).toBe(12);
    expect(await countAuditEvents({ action: "elicitation.created", gatewayId: "gw_even" })).toBe(12);
    expect(await countAuditEvents({ userId: "usr_nobody" })).toBe(0);
  });
});
