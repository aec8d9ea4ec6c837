// The outbox (lib/outbox): events written with their state change are delivered at least once,
// retried with backoff until the receiver takes them, each with one stable id (the JWT jti) so
// the receiver keeps exactly one; a kill -9 between the state change and the delivery still
// delivers (the lease runs out and another instance takes over); two instances never deliver
// the same event at the same time. Instances are real child processes on one real PostgreSQL.
import { spawn, type ChildProcess } from "node:child_process";
import { createLocalJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startReceiver, type Receiver } from "../helpers/set-receiver";
import { useTestDatabase } from "../helpers/test-db";

const databaseUrl = await useTestDatabase();
const FRONTDESK_URL = "http://frontdesk-a.test";
const outboxEnv = {
  OUTBOX_RETRY_BASE_MS: "40",
  OUTBOX_RETRY_MAX_MS: "200",
  OUTBOX_MAX_ATTEMPTS: "8",
  // Long enough that no delivery here outlives its lease on a loaded machine; the kill -9 test
  // gives its victim a short one (the lease is written by the instance that claims).
  OUTBOX_LEASE_MS: "20000",
  OUTBOX_POLL_MS: "50",
  LOG_LEVEL: "silent",
};
Object.assign(process.env, outboxEnv, { FRONTDESK_URL, FRONTDESK_INSECURE_HTTP_ISSUERS: "http://127.0.0.1" });

const { getDb } = await import("@/lib/db/client");
const { enqueueOutboxEvents } = await import("@/lib/outbox/enqueue");
const { startOutboxWorker, stopOutboxWorker, drainOutbox } = await import("@/lib/outbox/worker");
const { retryDelayMs } = await import("@/lib/outbox/backoff");
const { listPublicJwks } = await import("@/lib/signing/key");
const db = await getDb();

let gatewaySeq = 0;
async function gatewayFor(receiver: Receiver): Promise<string> {
  const id = `gw_outbox${++gatewaySeq}`;
  await db.gateway.create({ data: { id, name: `outbox gateway ${gatewaySeq}`, authMethod: "client_secret_basic", webhookUrl: receiver.url } });
  return id;
}

function changeEvent(gatewayId: string, n: number) {
  return {
    kind: "gateway.credential_change" as const,
    target: gatewayId,
    payload: {
      grantId: `grt_${n}`,
      userIssuer: "https://idp.test",
      userSubject: `user${n}`,
      providerSlug: "notes",
      resources: ["https://notes.test/api"],
      changeType: "revoke" as const,
      initiatingEntity: "admin" as const,
      reason: "revoked_by_admin",
      at: Math.floor(Date.now() / 1000),
    },
  };
}

const children: ChildProcess[] = [];
function startInstance(args: string[], extraEnv: Record<string, string> = {}): Promise<ChildProcess> {
  // node itself (not the tsx wrapper, which would leave its node child running after a SIGKILL).
  const child = spawn(process.execPath, ["--import", "tsx", "tests/helpers/outbox-instance-cli.ts", ...args], {
    env: { ...process.env, NODE_ENV: "test", DATABASE_URL: databaseUrl, ...outboxEnv, ...extraEnv },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.includes("ready")) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`instance exited early (${code})`)));
  });
}

function stopInstance(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

afterAll(async () => {
  stopOutboxWorker();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

describe("backoff", () => {
  it("grows exponentially from the base, stays within the cap, and is jittered", () => {
    const lows = [1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(n, 100, 1_000, () => 0));
    const highs = [1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(n, 100, 1_000, () => 1));
    expect(highs).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(lows).toEqual([50, 100, 200, 400, 500, 500]);
    expect(retryDelayMs(1_000, 100, 1_000, () => 1)).toBe(1_000);
  });
});

describe("delivery", () => {
  let receiver: Receiver;
  beforeAll(async () => {
    // Fails each event's first 3 deliveries (500, 503, then a timeout-free 429), then accepts.
    receiver = await startReceiver((_e, attempt) => (attempt <= 3 ? [500, 503, 429][attempt - 1]! : 202));
  });
  afterAll(() => receiver.close());

  it("retries with growing delays until the receiver takes each event, which then has it exactly once by id", async () => {
    const gatewayId = await gatewayFor(receiver);
    const ids = await db.$transaction((tx) => enqueueOutboxEvents(tx, [1, 2, 3, 4, 5].map((n) => changeEvent(gatewayId, n))));
    startOutboxWorker();
    await receiver.waitFor((r) => ids.every((id) => r.filter((e) => e.jti === id).length >= 4));
    await drainOutbox();
    stopOutboxWorker();

    for (const id of ids) {
      const deliveries = receiver.received.filter((e) => e.jti === id);
      // 3 refused + 1 accepted, all with the same id; nothing after the accepted one.
      expect(deliveries).toHaveLength(4);
      const gaps = deliveries.slice(1).map((d, i) => d.at - deliveries[i]!.at);
      // Delays follow the backoff (at least half the exponential ceiling: 20, 40, 80 ms).
      expect(gaps[0]).toBeGreaterThanOrEqual(15);
      expect(gaps[2]).toBeGreaterThanOrEqual(70);
    }
    const rows = await db.outboxEvent.findMany({ where: { id: { in: ids } } });
    expect(rows.map((r) => [r.attempts, r.deliveredAt !== null, r.failedAt, r.lastError])).toEqual(ids.map(() => [4, true, null, null]));

    // What arrived is an RFC 8417 SET signed with Frontdesk's published key.
    const first = receiver.received.find((e) => e.jti === ids[0])!;
    expect(first.contentType).toBe("application/secevent+jwt");
    const { payload, protectedHeader } = await jwtVerify(first.body, createLocalJWKSet({ keys: await listPublicJwks() }), {
      issuer: FRONTDESK_URL,
      audience: gatewayId,
      typ: "secevent+jwt",
    });
    expect(protectedHeader.typ).toBe("secevent+jwt");
    expect(payload).toMatchObject({
      jti: ids[0],
      sub_id: { format: "iss_sub", iss: "https://idp.test", sub: "user1" },
      events: { "https://schemas.openid.net/secevent/caep/event-type/credential-change": { change_type: "revoke", initiating_entity: "admin" } },
    });
    expect(payload.exp).toBeUndefined();
    expect(payload.sub).toBeUndefined();
  });

  it("gives an event up after the last attempt and records why (for the admin page)", async () => {
    const refusing = await startReceiver(() => 500);
    try {
      const gatewayId = await gatewayFor(refusing);
      const [id] = await db.$transaction((tx) => enqueueOutboxEvents(tx, [changeEvent(gatewayId, 9)]));
      startOutboxWorker();
      await refusing.waitFor((r) => r.length >= 8);
      // The worker records the give-up after the last response: wait for that row, not a sleep.
      await vi.waitFor(async () => expect((await db.outboxEvent.findUniqueOrThrow({ where: { id: id! } })).failedAt).not.toBeNull(), { timeout: 30_000, interval: 20 });
      stopOutboxWorker();
      const row = await db.outboxEvent.findUniqueOrThrow({ where: { id: id! } });
      expect({ attempts: row.attempts, failed: row.failedAt !== null, delivered: row.deliveredAt, lastError: row.lastError }).toEqual({
        attempts: 8,
        failed: true,
        delivered: null,
        lastError: "http_500",
      });
      expect(refusing.received).toHaveLength(8);
    } finally {
      await refusing.close();
    }
  });

  it("gives a malformed row up at once instead of retrying it", async () => {
    const [id] = await db.$transaction((tx) => enqueueOutboxEvents(tx, [{ ...changeEvent("gw_none", 10), payload: { nonsense: true } as never }]));
    await drainOutbox();
    const row = await db.outboxEvent.findUniqueOrThrow({ where: { id: id! } });
    expect([row.attempts, row.failedAt !== null, row.lastError]).toEqual([1, true, "malformed_payload"]);
  });
});

describe("instances", () => {
  it("a kill -9 between the state change and the delivery still delivers, once the lease runs out", async () => {
    let killed = false;
    const receiver = await startReceiver(() => (killed ? 202 : "hang"));
    try {
      const gatewayId = await gatewayFor(receiver);
      // A grant the user approved this gateway for (so it may hold its tokens), revoked by the child.
      await db.user.create({ data: { id: "usr_kill", issuer: "https://idp.test", subject: "kill" } });
      await db.provider.create({ data: { id: "prv_kill", slug: "kill", displayName: "Kill", kind: "api_key", resourceUrls: ["https://kill.test"] } });
      await db.grant.create({ data: { id: "grt_kill", userId: "usr_kill", providerId: "prv_kill", scopes: [] } });
      await db.requesterApproval.create({ data: { id: "apr_kill", grantId: "grt_kill", gatewayId, approvedBy: "user", approvedById: "usr_kill" } });

      const child = await startInstance(["revoke", "grt_kill"], { FRONTDESK_URL: "http://frontdesk-b.test", OUTBOX_LEASE_MS: "3000" });
      // The child committed the revocation and its event, and is now inside the delivery.
      await receiver.waitFor((r) => r.length === 1);
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
      const leaseEnd = (await db.outboxEvent.findFirstOrThrow({ where: { target: gatewayId } })).nextAttemptAt.getTime();
      killed = true;
      const grant = await db.grant.findUniqueOrThrow({ where: { id: "grt_kill" } });
      expect(grant.status).toBe("revoked");

      // This instance takes over after the victim's lease (3 s) and delivers the same event.
      startOutboxWorker();
      await receiver.waitFor((r) => r.length === 2);
      await drainOutbox();
      stopOutboxWorker();
      const [first, second] = receiver.received;
      expect(second!.jti).toBe(first!.jti);
      // Not before the victim's lease ran out (no second delivery while the first could be in flight).
      expect(second!.at).toBeGreaterThanOrEqual(leaseEnd);
      const row = await db.outboxEvent.findUniqueOrThrow({ where: { id: first!.jti } });
      expect([row.kind, row.target, row.attempts, row.deliveredAt !== null]).toEqual(["gateway.credential_change", gatewayId, 2, true]);
    } finally {
      await receiver.close();
    }
  });

  it("two instances share the work: every event arrives, never twice for one attempt, never at the same time", { timeout: 120_000 }, async () => {
    const receiver = await startReceiver(async () => {
      await new Promise((r) => setTimeout(r, 20));
      return 202;
    });
    try {
      const gatewayId = await gatewayFor(receiver);
      const [a, b] = await Promise.all([
        startInstance(["worker"], { FRONTDESK_URL: "http://instance-a.test" }),
        startInstance(["worker"], { FRONTDESK_URL: "http://instance-b.test" }),
      ]);
      const ids: string[] = [];
      for (let batch = 0; batch < 10; batch++) {
        ids.push(...(await db.$transaction((tx) => enqueueOutboxEvents(tx, Array.from({ length: 12 }, (_, i) => changeEvent(gatewayId, batch * 12 + i))))));
      }
      await receiver.waitFor((r) => new Set(r.map((e) => e.jti)).size === ids.length, 60_000).catch((e) => {
        throw new Error(`${e.message}; unique ${new Set(receiver.received.map((x) => x.jti)).size}`);
      });
      // Let both record their outcomes before they stop (a stop in between would leave a lease behind).
      const allRecorded = async () => (await db.outboxEvent.count({ where: { id: { in: ids }, deliveredAt: { not: null } } })) === ids.length;
      await vi.waitFor(async () => expect(await allRecorded()).toBe(true), { timeout: 60_000, interval: 100 });
      await Promise.all([stopInstance(a), stopInstance(b)]);

      expect(new Set(receiver.received.map((e) => e.jti))).toEqual(new Set(ids));
      expect(receiver.maxConcurrentPerJti).toBe(1);
      // At least once, never twice for one attempt: an event arrives again only after an earlier
      // attempt of it ended unrecorded as delivered (on a loaded machine an answer can come after
      // the attempt's deadline, and that attempt counts as failed). So each event arrived at most
      // as many times as it was attempted, and every event attempted once arrived exactly once.
      const rows = await db.outboxEvent.findMany({ where: { id: { in: ids } }, select: { id: true, attempts: true } });
      const arrivals = (id: string) => receiver.received.filter((e) => e.jti === id).length;
      for (const row of rows) expect({ id: row.id, arrivals: arrivals(row.id) <= row.attempts }).toEqual({ id: row.id, arrivals: true });
      expect(receiver.received.length - ids.length).toBeLessThanOrEqual(rows.reduce((n, r) => n + r.attempts - 1, 0));
      // Both took part (each signs with its own FRONTDESK_URL as issuer).
      expect([...new Set(receiver.received.map((e) => String(e.claims.iss)))].sort()).toEqual(["http://instance-a.test", "http://instance-b.test"]);
      // (Attempts are not asserted: on a loaded machine an attempt that cannot start in time is
      // given up before it sends and retried; what matters is one delivery per id, never two at once.)
    } finally {
      await receiver.close();
    }
  });
});
