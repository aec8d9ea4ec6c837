// Online key rotation on real PostgreSQL: rows sealed under v1, config becomes `v2,v1`,
// rotation runs while readers decrypt in a loop (no read may fail), everything ends on v2,
// a second run changes nothing, and with `v2` alone every row still decrypts. Also: a concurrent
// writer wins over rotation, an interrupted run resumes, and unrotatable rows are reported.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it, vi } from "vitest";
import { runCli } from "@/lib/cli/main";
import { openField, sealFields, type SealBinding, type SealedTable } from "@/lib/crypto/envelope";
import { parseKeySpecs } from "@/lib/crypto/key-spec";
import { createLocalKeyring, setKeyring } from "@/lib/crypto/keyring";
import { rotateDataKeys } from "@/lib/crypto/rotate";
import { getDb } from "@/lib/db/client";
import { useTestDatabase } from "../helpers/test-db";

const url = await useTestDatabase();

const keys = Object.fromEntries(["v1", "v2", "v3", "v4", "old0"].map((v) => [v, `${v}:${randomBytes(32).toString("base64")}`]));
const useKeys = (...versions: string[]) => setKeyring(createLocalKeyring(parseKeySpecs(versions.map((v) => keys[v]).join(","))));
afterAll(() => setKeyring(undefined));

/** What every sealed field should decrypt to: `${table}/${id}/${field}` -> plaintext. */
const expected = new Map<string, string>();
const USERS = 24;
const PROVIDERS = ["prv_a", "prv_b", "prv_c"];

async function seed() {
  const db = await getDb();
  for (const id of PROVIDERS) {
    const b: SealBinding = { table: "Provider", id, owner: "", provider: id };
    const s = await sealFields(b, { clientSecret: `client-secret-${id}` });
    expected.set(`Provider/${id}/clientSecret`, `client-secret-${id}`);
    await db.provider.create({
      data: { id, slug: id, displayName: id, kind: "oauth2", clientSecretCipher: s.ciphertexts.clientSecret, wrappedKey: s.wrappedKey, keyVersion: s.keyVersion },
    });
  }
  for (let u = 0; u < USERS; u++) {
    const userId = `usr_${String(u).padStart(2, "0")}`;
    await db.user.create({ data: { id: userId, issuer: "https://idp.test", subject: `s${u}` } });
    for (const providerId of PROVIDERS) {
      const id = `grt_${userId}_${providerId}`;
      const values = { accessToken: `access-${id}`, refreshToken: `refresh-${id}` };
      const s = await sealFields({ table: "Grant", id, owner: userId, provider: providerId }, values);
      expected.set(`Grant/${id}/accessToken`, values.accessToken);
      expected.set(`Grant/${id}/refreshToken`, values.refreshToken);
      await db.grant.create({
        data: {
          id, userId, providerId, scopes: ["read"],
          accessTokenCipher: s.ciphertexts.accessToken, refreshTokenCipher: s.ciphertexts.refreshToken,
          wrappedKey: s.wrappedKey, keyVersion: s.keyVersion,
        },
      });
    }
  }
  await db.gateway.create({ data: { id: "gw_1", name: "gw", authMethod: "client_secret_basic" } });
  await db.elicitation.create({
    data: { id: "eli_1", userIssuer: "https://idp.test", userSubject: "s0", gatewayId: "gw_1", providerId: "prv_a", scopes: ["read"], expiresAt: new Date(Date.now() + 600_000) },
  });
  for (let i = 0; i < 3; i++) {
    const stateHash = `state-hash-${i}`;
    const s = await sealFields({ table: "OAuthTransaction", id: stateHash, owner: "usr_00", provider: "prv_a" }, { codeVerifier: `verifier-${i}` });
    expected.set(`OAuthTransaction/${stateHash}/codeVerifier`, `verifier-${i}`);
    await db.oAuthTransaction.create({
      data: { stateHash, elicitationId: "eli_1", sessionHash: "sh", codeVerifierCipher: s.ciphertexts.codeVerifier!, wrappedKey: s.wrappedKey, keyVersion: s.keyVersion, expiresAt: new Date(Date.now() + 600_000) },
    });
  }
  for (let i = 0; i < 2; i++) {
    const id = `kid-${i}`;
    const s = await sealFields({ table: "SigningKey", id, owner: "", provider: "" }, { privateKey: `private-jwk-${i}` });
    expected.set(`SigningKey/${id}/privateKey`, `private-jwk-${i}`);
    await db.signingKey.create({
      data: { id, alg: "ES256", publicJwk: {}, privateKeyCipher: s.ciphertexts.privateKey!, wrappedKey: s.wrappedKey, keyVersion: s.keyVersion },
    });
  }
}

const TOTAL_ROWS = PROVIDERS.length + USERS * PROVIDERS.length + 3 + 2;

/** Decrypts every sealed field in the database and checks it; returns the key versions seen. */
async function readAll(): Promise<Set<string>> {
  const db = await getDb();
  const versions = new Set<string>();
  const check = async (table: SealedTable, binding: Omit<SealBinding, "table">, ref: { wrappedKey: string | null; keyVersion: string | null }, fields: Record<string, string | null>) => {
    versions.add(ref.keyVersion!);
    for (const [field, ct] of Object.entries(fields)) {
      const plain = await openField({ table, ...binding }, { wrappedKey: ref.wrappedKey!, keyVersion: ref.keyVersion! }, field, ct!);
      if (plain !== expected.get(`${table}/${binding.id}/${field}`)) throw new Error(`wrong plaintext for ${table}/${binding.id}/${field}`);
    }
  };
  const [providers, grants, txs, sks] = await Promise.all([
    db.provider.findMany({ select: { id: true, clientSecretCipher: true, wrappedKey: true, keyVersion: true } }),
    db.grant.findMany({ select: { id: true, userId: true, providerId: true, accessTokenCipher: true, refreshTokenCipher: true, wrappedKey: true, keyVersion: true } }),
    db.oAuthTransaction.findMany({ select: { stateHash: true, codeVerifierCipher: true, wrappedKey: true, keyVersion: true } }),
    db.signingKey.findMany({ select: { id: true, privateKeyCipher: true, wrappedKey: true, keyVersion: true } }),
  ]);
  for (const p of providers) await check("Provider", { id: p.id, owner: "", provider: p.id }, p, { clientSecret: p.clientSecretCipher });
  for (const g of grants) {
    await check("Grant", { id: g.id, owner: g.userId, provider: g.providerId }, g, { accessToken: g.accessTokenCipher, refreshToken: g.refreshTokenCipher });
  }
  for (const t of txs) await check("OAuthTransaction", { id: t.stateHash, owner: "usr_00", provider: "prv_a" }, t, { codeVerifier: t.codeVerifierCipher });
  for (const k of sks) await check("SigningKey", { id: k.id, owner: "", provider: "" }, k, { privateKey: k.privateKeyCipher });
  expect(providers.length + grants.length + txs.length + sks.length).toBe(TOTAL_ROWS);
  return versions;
}

/** Row counts per key version over every sealed table. */
async function versionCounts(): Promise<Record<string, number>> {
  const db = await getDb();
  const rows = await db.$queryRawUnsafe<{ v: string; n: number }[]>(
    `SELECT v, count(*)::int AS n FROM (
       SELECT "keyVersion" AS v FROM "Grant" UNION ALL SELECT "keyVersion" FROM "Provider"
       UNION ALL SELECT "keyVersion" FROM "OAuthTransaction" UNION ALL SELECT "keyVersion" FROM "SigningKey") x GROUP BY v`,
  );
  return Object.fromEntries(rows.map((r) => [r.v, r.n]));
}

/** Every field ciphertext, to prove rotation never touches them. */
async function fieldCiphertexts(): Promise<string[]> {
  const db = await getDb();
  const rows = await db.$queryRawUnsafe<{ c: string }[]>(
    `SELECT c FROM (SELECT "accessTokenCipher" AS c FROM "Grant" UNION ALL SELECT "refreshTokenCipher" FROM "Grant"
       UNION ALL SELECT "clientSecretCipher" FROM "Provider" UNION ALL SELECT "codeVerifierCipher" FROM "OAuthTransaction"
       UNION ALL SELECT "privateKeyCipher" FROM "SigningKey") x ORDER BY c`,
  );
  return rows.map((r) => r.c);
}

describe("rotateDataKeys", () => {
  it("re-wraps every row under the new key while concurrent readers never fail", async () => {
    useKeys("v1");
    await seed();
    expect(await versionCounts()).toEqual({ v1: TOTAL_ROWS });
    const ciphertextsBefore = await fieldCiphertexts();

    useKeys("v2", "v1");
    let done = false;
    let readPasses = 0;
    const readErrors: unknown[] = [];
    const reader = async () => {
      while (!done) {
        try {
          await readAll();
          readPasses++;
        } catch (e) {
          readErrors.push(e);
        }
      }
    };
    const readers = [reader(), reader()];
    let sawMixedVersions = false;
    const result = await rotateDataKeys({
      batchSize: 5,
      // A full read pass between batches: the database is then provably half-rotated.
      onBatch: async () => {
        if ((await readAll()).size > 1) sawMixedVersions = true;
      },
    }).finally(() => {
      done = true;
    });
    await Promise.all(readers);

    expect(readErrors).toEqual([]);
    expect(readPasses).toBeGreaterThan(0);
    expect(sawMixedVersions).toBe(true);
    expect(result).toEqual({ scanned: TOTAL_ROWS, rewrapped: TOTAL_ROWS, alreadyCurrent: 0, failed: 0 });
    expect(await versionCounts()).toEqual({ v2: TOTAL_ROWS });
    expect(await fieldCiphertexts()).toEqual(ciphertextsBefore);
  });

  it("is idempotent: a second run (through the CLI) re-wraps nothing", async () => {
    const out = await runCli(["keys", "rotate", "--json"]);
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ activeVersion: "v2", scanned: TOTAL_ROWS, rewrapped: 0, alreadyCurrent: TOTAL_ROWS, failed: 0 });
  });

  it("after rotation the old key can be removed: everything decrypts with v2 alone, nothing with v1 alone", async () => {
    useKeys("v2");
    expect(await readAll()).toEqual(new Set(["v2"]));
    useKeys("v1");
    await expect(readAll()).rejects.toThrow(/key version v2 unknown/);
  });

  it("a concurrent writer wins: its row is not overwritten by rotation and is re-read", async () => {
    useKeys("v3", "v2");
    const db = await getDb();
    const victim = "grt_usr_00_prv_a"; // first id in order, so in rotation's first batch
    const writer = new pg.Client({ connectionString: url });
    await writer.connect();
    try {
      await writer.query("BEGIN");
      await writer.query(`SELECT 1 FROM "Grant" WHERE id = $1 FOR UPDATE`, [victim]);
      const rotation = rotateDataKeys({ batchSize: 100 });
      // Wait until rotation's guarded UPDATE is blocked behind our row lock. (pg_stat_activity's
      // query text lags for the driver's extended-protocol statements; the lock graph does not.)
      // The deadline only ends a hang.
      await vi.waitFor(
        async () => {
          const { rows } = await writer.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))`,
          );
          expect(rows[0].n, "rotation never reached the locked row").toBeGreaterThan(0);
        },
        { timeout: 60_000, interval: 25 },
      );
      // Meanwhile the application re-seals the victim with a fresh data key and new values.
      const values = { accessToken: "access-written-during-rotation", refreshToken: "refresh-written-during-rotation" };
      const s = await sealFields({ table: "Grant", id: victim, owner: "usr_00", provider: "prv_a" }, values);
      await writer.query(
        `UPDATE "Grant" SET "accessTokenCipher" = $2, "refreshTokenCipher" = $3, "wrappedKey" = $4, "keyVersion" = $5 WHERE id = $1`,
        [victim, s.ciphertexts.accessToken, s.ciphertexts.refreshToken, s.wrappedKey, s.keyVersion],
      );
      await writer.query("COMMIT");
      expected.set(`Grant/${victim}/accessToken`, values.accessToken);
      expected.set(`Grant/${victim}/refreshToken`, values.refreshToken);

      const result = await rotation;
      expect(result).toEqual({ scanned: TOTAL_ROWS, rewrapped: TOTAL_ROWS - 1, alreadyCurrent: 1, failed: 0 });
    } finally {
      await writer.end();
    }
    expect(await readAll()).toEqual(new Set(["v3"]));
    const row = await db.grant.findUniqueOrThrow({ where: { id: victim }, select: { keyVersion: true } });
    expect(row.keyVersion).toBe("v3");
  });

  it("is resumable: an interrupted run leaves every row readable and the next run finishes the rest", async () => {
    useKeys("v4", "v3");
    let batches = 0;
    await expect(
      rotateDataKeys({
        batchSize: 4,
        onBatch: () => {
          if (++batches === 3) throw new Error("simulated crash");
        },
      }),
    ).rejects.toThrow("simulated crash");
    // Tables go in name order, Grant first: three batches of four grants were re-wrapped.
    expect(await versionCounts()).toEqual({ v4: 12, v3: TOTAL_ROWS - 12 });
    expect(await readAll()).toEqual(new Set(["v4", "v3"]));

    const rest = await rotateDataKeys({ batchSize: 4 });
    expect(rest).toEqual({ scanned: TOTAL_ROWS, rewrapped: TOTAL_ROWS - 12, alreadyCurrent: 12, failed: 0 });
    useKeys("v4");
    expect(await readAll()).toEqual(new Set(["v4"]));
  });

  it("counts rows it cannot unwrap as failed, leaves them untouched, and the CLI exits 1", async () => {
    const db = await getDb();
    await db.user.create({ data: { id: "usr_orphan", issuer: "https://idp.test", subject: "orphan" } });
    useKeys("old0");
    const s = await sealFields({ table: "Grant", id: "grt_orphan", owner: "usr_orphan", provider: "prv_a" }, { accessToken: "x" });
    await db.grant.create({
      data: { id: "grt_orphan", userId: "usr_orphan", providerId: "prv_a", accessTokenCipher: s.ciphertexts.accessToken, wrappedKey: s.wrappedKey, keyVersion: s.keyVersion },
    });
    useKeys("v4");
    const out = await runCli(["keys", "rotate"]);
    expect(out.exitCode).toBe(1);
    expect(out.stdout).toContain(`scanned ${TOTAL_ROWS + 1}, rewrapped 0, already current ${TOTAL_ROWS}, failed 1`);
    expect(out.stdout).toContain("keep the old keys configured");
    const row = await db.grant.findUniqueOrThrow({ where: { id: "grt_orphan" }, select: { wrappedKey: true, keyVersion: true } });
    expect(row).toEqual({ wrappedKey: s.wrappedKey, keyVersion: "old0" });
    await db.grant.delete({ where: { id: "grt_orphan" } });
  });

  it("refuses to run when a table holds wrapped keys but is not in the registry", async () => {
    const db = await getDb();
    await db.$executeRawUnsafe(`CREATE TABLE "Rogue" (id text PRIMARY KEY, "wrappedKey" text, "keyVersion" text)`);
    try {
      await expect(rotateDataKeys()).rejects.toThrow(/table Rogue holds wrapped data keys but is not registered/);
    } finally {
      await db.$executeRawUnsafe(`DROP TABLE "Rogue"`);
    }
  });
});
