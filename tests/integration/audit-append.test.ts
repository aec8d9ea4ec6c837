import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import readline from "node:readline";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { AppError } from "@/lib/errors";
import { useTestDatabase } from "../helpers/test-db";

const url = await useTestDatabase();

const { appendAudit, appendAuditMany, flushAudit, getAuditWriteStats } = await import("@/lib/audit/append");
const { verifyAuditChain } = await import("@/lib/audit/verify");
const { computeAuditHash } = await import("@/lib/audit/hash");
const { AUDIT_CHAIN_LOCK } = await import("@/lib/audit/chain");
const { getDb } = await import("@/lib/db/client");

const root = path.resolve(import.meta.dirname, "../..");
let sql: pg.Client;

beforeAll(async () => {
  sql = new pg.Client({ connectionString: url });
  await sql.connect();
});
afterAll(async () => {
  await flushAudit();
  await sql.end();
});

function event(i: number, extra: Record<string, unknown> = {}) {
  return { actorType: "system" as const, action: "test.append", decision: "info" as const, context: { i }, ...extra };
}

async function countRows(): Promise<number> {
  const r = await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM "AuditEvent"`);
  return Number(r.rows[0]!.n);
}

async function seqs(): Promise<bigint[]> {
  const r = await sql.query<{ seq: string }>(`SELECT e.seq::text AS seq FROM "AuditEvent" e ORDER BY e.seq`);
  return r.rows.map((row) => BigInt(row.seq));
}

function expectContiguous(list: bigint[]) {
  list.forEach((s, i) => expect(s).toBe(BigInt(i + 1)));
}

describe("appendAudit", () => {
  it("chains events from seq 1 with the genesis hash and verifies", async () => {
    const first = await appendAudit(event(0, { userId: "usr_1", gatewayId: "gw_1", providerId: "prv_1", requestId: "req_1" }));
    const second = await appendAudit(event(1));
    expect(first.seq).toBe(1n);
    expect(second.seq).toBe(2n);
    const rows = await sql.query(`SELECT e.seq::text, e."prevHash", e.hash, e."userId", e.decision::text FROM "AuditEvent" e ORDER BY e.seq`);
    expect(rows.rows[0]).toMatchObject({ seq: "1", prevHash: "0".repeat(64), hash: first.hash, userId: "usr_1", decision: "info" });
    expect(rows.rows[1]).toMatchObject({ seq: "2", prevHash: first.hash, hash: second.hash });
    expect(await verifyAuditChain()).toEqual({ ok: true, count: 2 });
  });

  it("gives events ids that sort in creation order in the database's collation, so the id index grows at one edge", async () => {
    // Times on both sides of the hex digits' 9 -> a and f -> 10 boundaries.
    const base = Math.floor(Date.now() / 0x10000) * 0x10000 + 0x9fff;
    for (const at of [base, base + 1, base + 0x5000, base + 0x6001, base + 0x10000, base + 0x100000]) {
      vi.useFakeTimers({ toFake: ["Date"], now: at });
      const appended = appendAudit(event(at, { action: "test.id_order" }));
      vi.useRealTimers();
      await appended;
    }
    const order = async (by: string) =>
      (await sql.query<{ id: string }>(`SELECT id FROM "AuditEvent" WHERE action = 'test.id_order' ORDER BY ${by}`)).rows.map((r) => r.id);
    const bySeq = await order("seq");
    expect(bySeq).toHaveLength(6);
    expect(bySeq[0]).toMatch(/^evt_[0-9a-f]{12}[A-Za-z0-9_-]{14}$/);
    expect(await order("id")).toEqual(bySeq);
  });

  it("rejects malformed events before they reach a batch", async () => {
    await expect(appendAudit({ actorType: "system", action: "Not A Verb", decision: "info" })).rejects.toThrow(/action/);
    await expect(appendAudit({ actorType: "robot" as never, action: "x", decision: "info" })).rejects.toThrow(/actorType/);
    await expect(appendAudit({ actorType: "system", action: "x", decision: "maybe" as never })).rejects.toThrow(/decision/);
  });

  it("never stores a token or secret from the context or reason", async () => {
    const idToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz";
    const secrets = ["gho_AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "s3cr3t-client-secret-value", "opaque-access-token-1234", idToken, "pkce-verifier-xyz"];
    const { id } = await appendAudit({
      actorType: "gateway",
      actorId: "gw_1",
      action: "resolve",
      decision: "allow",
      reason: `upstream said: Authorization: Bearer ${secrets[2]} for ${idToken}`,
      context: {
        accessToken: secrets[2],
        client_secret: secrets[1],
        nested: { refresh_token: "rt", list: [{ codeVerifier: secrets[4] }, `token is ${secrets[0]}`], note: idToken },
        headers: { Authorization: `Bearer ${secrets[2]}` },
        url: `https://api.example.test/cb?code=abc123&state=st4te&x=1`,
        tool: "create_issue",
        scopes: ["repo", "read:org"],
      },
    });
    const row = await sql.query<{ j: string }>(`SELECT row_to_json(e)::text AS j FROM "AuditEvent" e WHERE id = $1`, [id]);
    const stored = row.rows[0]!.j;
    for (const s of [...secrets, "abc123", "st4te", "rt\""]) expect(stored).not.toContain(s);
    // Useful, harmless context survives.
    expect(stored).toContain("create_issue");
    expect(stored).toContain("read:org");
    expect(stored).toContain("[redacted]");
    expect(await verifyAuditChain()).toMatchObject({ ok: true });
  });

  it("inside a caller transaction that rolls back, leaves no event and a valid chain", async () => {
    const db = await getDb();
    const before = await countRows();
    await expect(
      db.$transaction(async (tx) => {
        await appendAudit(event(1, { action: "grant.revoked" }), tx);
        await appendAuditMany([event(2), event(3)], tx);
        throw new Error("rolled back on purpose");
      }),
    ).rejects.toThrow("rolled back on purpose");
    expect(await countRows()).toBe(before);
    const next = await appendAudit(event(4));
    expect(next.seq).toBe(BigInt(before + 1));
    expect(await verifyAuditChain()).toEqual({ ok: true, count: before + 1 });
  });

  it("inside a caller transaction that commits, stores the change and its audit together", async () => {
    const db = await getDb();
    const key = `nonce-${Date.now()}`;
    const appended = await db.$transaction(async (tx) => {
      await tx.replayNonce.create({ data: { key, expiresAt: new Date(Date.now() + 60_000) } });
      return appendAuditMany([event(1, { action: "admin.nonce.created" }), event(2)], tx);
    });
    expect(appended.map((a) => a.seq)).toEqual([appended[0]!.seq, appended[0]!.seq + 1n]);
    expect(await db.replayNonce.count({ where: { key } })).toBe(1);
    expect((await sql.query(`SELECT 1 FROM "AuditEvent" WHERE id = $1`, [appended[1]!.id])).rowCount).toBe(1);
  });
});

describe("group commit", () => {
  it("commits N concurrent appends in fewer than N transactions, each resolving only after its commit", async () => {
    await flushAudit();
    const before = getAuditWriteStats();
    const n = 100;
    const visibleOnResolve = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        appendAudit(event(i)).then(async ({ id }) => {
          // Seen from another connection the moment the promise resolves: committed, not pending.
          const r = await sql.query(`SELECT 1 FROM "AuditEvent" WHERE id = $1`, [id]);
          return r.rowCount === 1;
        }),
      ),
    );
    const after = getAuditWriteStats();
    const transactions = after.batches - before.batches;
    console.log(`group commit: ${n} concurrent appends -> ${transactions} transaction(s)`);
    expect(visibleOnResolve.every(Boolean)).toBe(true);
    expect(after.events - before.events).toBe(n);
    expect(transactions).toBeLessThan(n);
    expect(transactions).toBeGreaterThanOrEqual(1);
    expectContiguous(await seqs());
  });

  it("stores quotes and backslashes in a batch exactly as given, and the chain still verifies", async () => {
    await flushAudit();
    // The batch travels as one escaped SQL literal (writer-pool.ts sqlLiteral): an escaping
    // mistake would store other text, break the hash check, or fail the whole batch.
    const texts = ["O'Brien", "C:\\temp\\new", "'; DROP TABLE \"AuditEvent\"; --", "\\'\\''", "line\nbreak \u00e9\u2028 \\u0041"];
    const appended = await Promise.all(texts.map((text, i) => appendAudit(event(i, { reason: `r${i}`, context: { i, text } }))));
    const r = await sql.query<{ id: string; context: { text: string } }>(`SELECT id, context FROM "AuditEvent" WHERE id = ANY($1)`, [appended.map((a) => a.id)]);
    const stored = new Map(r.rows.map((row) => [row.id, row.context.text]));
    expect(appended.map((a) => stored.get(a.id))).toEqual(texts);
    expect((await verifyAuditChain()).ok).toBe(true);
  });

  it("stores every field as given and hashes it in the database exactly as computeAuditHash does", async () => {
    await flushAudit();
    // frontdesk_audit_append reads the columns from the event's serialization and hashes it in
    // SQL; the verifier recomputes the hash in JS. Both must agree on every field shape.
    const inputs = [
      { actorType: "gateway" as const, actorId: "gw_1", userId: "usr_1", gatewayId: "gw_1", agentId: "agt_1", providerId: "prv_1", action: "resolve", decision: "allow" as const, reason: null, requestId: "req_1", context: { z: 1, a: [1, 0.1, 1e21, -5], nested: { b: true, a: null } } },
      { actorType: "user" as const, actorId: null, userId: "https://idp.example|sub", action: "grant.revoked", decision: "deny" as const, reason: "emoji \u{1F600} \u4E2D\u6587 tab\tquote\" back\\", context: { text: "\u{10FFFF} \u00e9 \u2028" } },
      { actorType: "system" as const, action: "test.append", decision: "info" as const },
    ];
    const appended = await appendAuditMany(inputs);
    const rows = await getDb().then((db) => db.auditEvent.findMany({ where: { id: { in: appended.map((a) => a.id) } }, orderBy: { seq: "asc" } }));
    expect(rows.map((r) => r.id)).toEqual(appended.map((a) => a.id));
    rows.forEach((row, i) => {
      const input = inputs[i]!;
      expect(row).toMatchObject({
        actorType: input.actorType,
        actorId: input.actorId ?? null,
        userId: input.userId ?? null,
        gatewayId: input.gatewayId ?? null,
        agentId: input.agentId ?? null,
        providerId: input.providerId ?? null,
        action: input.action,
        decision: input.decision,
        reason: input.reason ?? null,
        requestId: input.requestId ?? null,
        context: input.context ?? {},
        hash: appended[i]!.hash,
      });
      expect(row.seq).toBe(appended[i]!.seq);
      expect(computeAuditHash(row)).toBe(row.hash);
      if (i > 0) expect(row.prevHash).toBe(rows[i - 1]!.hash);
    });
  });

  it("takes the chain lock lib/audit names (AUDIT_CHAIN_LOCK, which archiving also takes): an append waits while another session holds it", async () => {
    await flushAudit();
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    const key = AUDIT_CHAIN_LOCK.toString();
    try {
      await holder.query("SELECT pg_advisory_lock($1::bigint)", [key]);
      let settled = false;
      const pending = appendAudit(event(1)).finally(() => (settled = true));
      // The audit connection waits for exactly that key (a bigint key is classid:objid).
      await vi.waitFor(
        async () => {
          const { rows } = await holder.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND ((classid::bigint << 32) | objid::bigint) = $1::bigint`,
            [key],
          );
          expect(rows[0]!.n).toBe(1);
        },
        { timeout: 30_000, interval: 20 },
      );
      expect(settled).toBe(false);
      await holder.query("SELECT pg_advisory_unlock($1::bigint)", [key]);
      const appended = await pending;
      expect((await sql.query(`SELECT 1 FROM "AuditEvent" WHERE id = $1`, [appended.id])).rowCount).toBe(1);
    } finally {
      await holder.end();
    }
  });

  it("rejects every caller of a failing batch, stores none of it, and keeps the chain valid", async () => {
    await flushAudit();
    // A real database failure: a trigger refuses one event, which aborts the whole batch.
    await sql.query(`
      CREATE OR REPLACE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.reason = 'refuse-me' THEN RAISE EXCEPTION 'refused by test trigger'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER audit_refuse BEFORE INSERT ON "AuditEvent" FOR EACH ROW EXECUTE FUNCTION audit_refuse();`);
    try {
      const before = await countRows();
      const stats = getAuditWriteStats();
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => appendAudit(event(i, i === 7 ? { reason: "refuse-me" } : {}))),
      );
      expect(results.every((r) => r.status === "rejected")).toBe(true);
      const refusal = (results[0] as PromiseRejectedResult).reason as AppError;
      expect(refusal.code).toBe("service_unavailable");
      expect(String(refusal.cause)).toMatch(/refused by test trigger/);
      expect(getAuditWriteStats().failedBatches).toBe(stats.failedBatches + 1);
      expect(await countRows()).toBe(before);
      // The next batch continues the chain where the last committed one ended.
      const ok = await Promise.all([appendAudit(event(100)), appendAudit(event(101))]);
      expect(ok.map((o) => o.seq)).toEqual([BigInt(before + 1), BigInt(before + 2)]);
    } finally {
      await sql.query(`DROP TRIGGER audit_refuse ON "AuditEvent"; DROP FUNCTION audit_refuse();`);
    }
    expect(await verifyAuditChain()).toMatchObject({ ok: true });
  });

  it("survives the server closing the writer's connection: the next batch reconnects", async () => {
    await appendAudit(event(1));
    await flushAudit();
    const killed = await sql.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'frontdesk-audit' AND datname = current_database()`,
    );
    expect(killed.rowCount).toBe(1);
    const next = await appendAudit(event(2));
    expect((await sql.query(`SELECT 1 FROM "AuditEvent" WHERE id = $1`, [next.id])).rowCount).toBe(1);
    expect(await verifyAuditChain()).toMatchObject({ ok: true });
  });

  it("measures appends/second: sequential single appends vs 64 concurrent appenders", async () => {
    await flushAudit();
    const sequentialCount = 300;
    let t0 = performance.now();
    for (let i = 0; i < sequentialCount; i++) await appendAudit(event(i));
    const sequentialRate = sequentialCount / ((performance.now() - t0) / 1000);

    const before = getAuditWriteStats();
    const perAppender = 40;
    const appenders = 64;
    t0 = performance.now();
    await Promise.all(
      Array.from({ length: appenders }, async (_, a) => {
        for (let i = 0; i < perAppender; i++) await appendAudit(event(i, { actorId: `appender-${a}` }));
      }),
    );
    const concurrentRate = (appenders * perAppender) / ((performance.now() - t0) / 1000);
    const after = getAuditWriteStats();
    const batches = after.batches - before.batches;
    console.log(
      `audit appends/s: sequential ${sequentialRate.toFixed(0)}, 64 concurrent ${concurrentRate.toFixed(0)} ` +
        `(${appenders * perAppender} events in ${batches} transactions, mean batch ${((appenders * perAppender) / batches).toFixed(1)}, largest ${after.largestBatch})`,
    );
    expect(batches).toBeLessThan(appenders * perAppender);
    expect(await verifyAuditChain()).toMatchObject({ ok: true });
  });
});

describe("several processes appending at once", () => {
  function startWorker(n: number, label: string) {
    const child = spawn("npx", ["tsx", "tests/helpers/audit-append-worker.ts", String(n), label], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: "warn" },
      stdio: ["pipe", "pipe", "pipe"],
    }) as ChildProcessWithoutNullStreams;
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const lines = readline.createInterface({ input: child.stdout });
    const ready = new Promise<void>((resolve, reject) => {
      lines.on("line", (l) => l === "ready" && resolve());
      child.once("exit", (code) => reject(new Error(`worker ${label} exited ${code} before ready: ${stderr}`)));
    });
    const exited = once(child, "exit").then(([code]) => {
      if (code !== 0) throw new Error(`worker ${label} exited ${code}: ${stderr}`);
    });
    return { child, ready, exited };
  }

  it("produce one valid chain with contiguous seqs (2 processes x 200 + 200 in-process)", { timeout: 120_000 }, async () => {
    await flushAudit();
    await sql.query(`TRUNCATE "AuditEvent"`);
    const workers = [startWorker(200, "proc-a"), startWorker(200, "proc-b")];
    try {
      await Promise.all(workers.map((w) => w.ready));
      for (const w of workers) w.child.stdin.end("go\n");
      // Meanwhile this process appends too: through group commit and inside caller transactions.
      const db = await getDb();
      const local = Array.from({ length: 200 }, (_, i) =>
        i % 4 === 0
          ? // 50 transactions queue for a handful of pooled connections while the chain lock is
            // contended by two other processes: Prisma's 2 s wait for a connection only ends hangs here.
            db.$transaction((tx) => appendAudit(event(i, { actorId: "local-tx" }), tx), { maxWait: 120_000, timeout: 120_000 })
          : appendAudit(event(i, { actorId: "local" })),
      );
      await Promise.all([...local, ...workers.map((w) => w.exited)]);
    } finally {
      for (const w of workers) if (w.child.exitCode === null) w.child.kill();
    }
    const rows = await sql.query<{ seq: string; actor: string }>(
      `SELECT e.seq::text AS seq, e."actorId" AS actor FROM "AuditEvent" e ORDER BY e.seq`,
    );
    expect(rows.rowCount).toBe(600);
    expectContiguous(rows.rows.map((r) => BigInt(r.seq)));
    const byActor = new Map<string, number>();
    let switches = 0;
    rows.rows.forEach((r, i) => {
      byActor.set(r.actor, (byActor.get(r.actor) ?? 0) + 1);
      if (i > 0 && rows.rows[i - 1]!.actor.startsWith("proc") && r.actor.startsWith("proc") && rows.rows[i - 1]!.actor !== r.actor) switches++;
    });
    expect(byActor.get("proc-a")).toBe(200);
    expect(byActor.get("proc-b")).toBe(200);
    expect((byActor.get("local") ?? 0) + (byActor.get("local-tx") ?? 0)).toBe(200);
    console.log(`multi-process: 600 events, ${switches} direct hand-overs between the two processes`);
    // The two processes really interleaved (otherwise this would not test concurrency).
    expect(switches).toBeGreaterThan(1);
    expect(await verifyAuditChain()).toEqual({ ok: true, count: 600 });
  });
});
