// What an admin does with the outbox: a given-up event is sent again on request (same id, fresh
// attempts, audited), and only given-up events can be; ended events (delivered, skipped, given
// up) are pruned after OUTBOX_RETENTION_DAYS while pending and retrying ones stay, however old.
// An attempt that could not start before its deadline is not sent (it is retried), so a slow
// instance never posts after its lease. Real PostgreSQL and a real HTTP receiver.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startReceiver, type Receiver } from "../helpers/set-receiver";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();
Object.assign(process.env, {
  FRONTDESK_URL: "http://frontdesk.test",
  OUTBOX_MAX_ATTEMPTS: "2",
  OUTBOX_RETRY_BASE_MS: "10",
  OUTBOX_RETRY_MAX_MS: "20",
  OUTBOX_RETENTION_DAYS: "7",
  LOG_LEVEL: "silent",
});

const { getDb } = await import("@/lib/db/client");
const { enqueueOutboxEvents } = await import("@/lib/outbox/enqueue");
const { drainOutbox } = await import("@/lib/outbox/worker");
const db = await getDb();

let receiver: Receiver;
let up = false;

beforeAll(async () => {
  receiver = await startReceiver(() => (up ? 202 : 503));
  await db.gateway.create({ data: { id: "gw_admin", name: "admin outbox gateway", authMethod: "client_secret_basic", webhookUrl: receiver.url } });
});

afterAll(() => receiver.close());

const settled = (n: number) => ({ kind: "gateway.elicitation_settled" as const, target: "gw_admin", payload: { elicitationId: `eli_${n}` } });

/**
 * Runs the worker until nothing is pending: the receiver is down, so retries end in a give-up.
 * Each pass delivers what is due; a retry is due after its backoff (at most OUTBOX_RETRY_MAX_MS,
 * 20 ms here). The deadline only ends a hang.
 */
async function deliverUntilQuiet() {
  await vi.waitFor(
    async () => {
      await drainOutbox();
      expect(await db.outboxEvent.count({ where: { deliveredAt: null, failedAt: null } }), "events still pending").toBe(0);
    },
    { timeout: 30_000, interval: 20 },
  );
}

describe("retrying a given-up event", () => {
  it("sends it again with the same id and fresh attempts, audited; a delivered or retrying event is refused", async () => {
    const [id] = await db.$transaction((tx) => enqueueOutboxEvents(tx, [settled(1)]));
    // The elicitation does not exist, so the webhook sender would skip it: make one.
    await seedElicitation("eli_1");
    await deliverUntilQuiet();
    const givenUp = await db.outboxEvent.findUniqueOrThrow({ where: { id: id! } });
    expect([givenUp.attempts, givenUp.failedAt !== null, givenUp.lastError]).toEqual([2, true, "http_503"]);
    expect(receiver.received.filter((e) => e.jti === id)).toHaveLength(2);

    const { retryGivenUpEvent } = await import("@/lib/outbox/retry");
    const { listDeliveryFailures } = await import("@/lib/outbox/failures");
    up = true;
    await retryGivenUpEvent(id!, { type: "admin", id: "adm_ops" });
    expect((await listDeliveryFailures()).find((f) => f.id === id)).toMatchObject({ failedAt: null, attempts: 0, lastError: "http_503" });
    await drainOutbox();
    const delivered = await db.outboxEvent.findUniqueOrThrow({ where: { id: id! } });
    expect([delivered.attempts, delivered.deliveredAt !== null, delivered.failedAt, delivered.lastError]).toEqual([1, true, null, null]);
    const deliveries = receiver.received.filter((e) => e.jti === id);
    expect(deliveries).toHaveLength(3);
    expect(new Set(deliveries.map((d) => d.jti))).toEqual(new Set([id]));
    expect((await listDeliveryFailures()).some((f) => f.id === id)).toBe(false);

    const { flushAudit } = await import("@/lib/audit/append");
    await flushAudit();
    const audit = await db.auditEvent.findMany({ where: { action: "outbox.retry_requested" } });
    expect(audit.map((a) => [a.actorType, a.actorId, (a.context as { eventId: string }).eventId])).toEqual([["admin", "adm_ops", id]]);

    // Delivered now: a second retry is refused and changes nothing; so is an unknown id.
    await expect(retryGivenUpEvent(id!, { type: "admin", id: "adm_ops" })).rejects.toMatchObject({ code: "not_found" });
    await expect(retryGivenUpEvent("evt_nope", { type: "admin", id: "adm_ops" })).rejects.toMatchObject({ code: "not_found" });
    const [pending] = await db.$transaction((tx) => enqueueOutboxEvents(tx, [settled(2)]));
    await expect(retryGivenUpEvent(pending!, { type: "admin", id: "adm_ops" })).rejects.toMatchObject({ code: "not_found" });
    expect(await db.outboxEvent.findUniqueOrThrow({ where: { id: pending! } })).toMatchObject({ attempts: 0, failedAt: null });
    await db.outboxEvent.delete({ where: { id: pending! } });
  });
});

describe("an attempt past its deadline", () => {
  it("is not sent: the receiver sees nothing (the worker records a failed attempt, so it is retried)", async () => {
    const { deliverOutboxEvent } = await import("@/lib/outbox/deliver");
    const [id] = await db.$transaction((tx) => enqueueOutboxEvents(tx, [settled(3)]));
    await seedElicitation("eli_3");
    const before = receiver.received.length;
    await expect(deliverOutboxEvent({ id: id!, kind: "gateway.elicitation_settled", target: "gw_admin", payload: { elicitationId: "eli_3" } }, { deadline: Date.now() + 1_000, minimumMs: 2_000 })).rejects.toMatchObject({
      reason: "attempt_deadline_passed",
    });
    expect(receiver.received.length).toBe(before);
    await db.outboxEvent.delete({ where: { id: id! } });
  });
});

describe("pruning", () => {
  it("deletes ended events older than the retention period, never pending or retrying ones", async () => {
    const { pruneOutbox } = await import("@/lib/outbox/prune");
    const day = 86_400_000;
    const old = new Date(Date.now() - 8 * day);
    const recent = new Date(Date.now() - 6 * day);
    const rows = [
      { id: "evt_old_delivered", deliveredAt: old },
      { id: "evt_old_given_up", failedAt: old, lastError: "http_500" },
      { id: "evt_recent_delivered", deliveredAt: recent },
      { id: "evt_recent_given_up", failedAt: recent, lastError: "http_500" },
      { id: "evt_old_pending", createdAt: old, nextAttemptAt: old },
      { id: "evt_old_retrying", createdAt: old, attempts: 3, lastError: "timeout" },
    ];
    await db.outboxEvent.createMany({ data: rows.map((r) => ({ kind: "notice.chat", target: "usr_x", payload: { elicitationId: "eli_x" }, ...r })) });
    const result = await pruneOutbox();
    expect(result.deleted).toBeGreaterThanOrEqual(2);
    const left = (await db.outboxEvent.findMany({ where: { id: { startsWith: "evt_" } }, select: { id: true } })).map((r) => r.id);
    expect(left).not.toContain("evt_old_delivered");
    expect(left).not.toContain("evt_old_given_up");
    expect(left).toEqual(expect.arrayContaining(["evt_recent_delivered", "evt_recent_given_up", "evt_old_pending", "evt_old_retrying"]));
    // Everything ended before now + 8 days is past a 7-day retention then; still not the open ones.
    await pruneOutbox(new Date(Date.now() + 8 * day));
    const open = (await db.outboxEvent.findMany({ where: { id: { in: rows.map((r) => r.id) } }, select: { id: true } })).map((r) => r.id).sort();
    expect(open).toEqual(["evt_old_pending", "evt_old_retrying"]);
  });
});

async function seedElicitation(id: string) {
  const provider = await db.provider.upsert({
    where: { slug: "admin-notes" },
    create: { id: "prv_admin", slug: "admin-notes", displayName: "Notes", kind: "api_key" },
    update: {},
  });
  await db.elicitation.create({
    data: {
      id,
      userIssuer: "https://idp.test",
      userSubject: "alice",
      gatewayId: "gw_admin",
      providerId: provider.id,
      scopes: [],
      context: {},
      status: "completed",
      completedAt: new Date(),
      expiresAt: new Date(Date.now() + 600_000),
    },
  });
}
