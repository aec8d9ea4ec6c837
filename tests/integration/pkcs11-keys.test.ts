// Key-encryption keys in a PKCS#11 token, for real against SoftHSM2 (its own token folder) and
// PostgreSQL: `keys hsm create` makes a non-extractable key whose value the token refuses to
// give out; data keys are wrapped inside the token with the same AAD binding as the local keys;
// start-up fails closed (exit 1, clear message, no PIN) on a missing token, a wrong PIN, a missing
// or extractable key; a migration runs mixed (the old local key decrypts, the token's key wraps)
// until `keys rotate` has moved every record; a rotation between two token keys under load
// (real resolves and reads meanwhile) has no failure; a token that drops its sessions is
// reconnected, and one that stays unreachable is a retryable 503, never a "corrupt row".
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSoftHsm, SOFTHSM_MODULE } from "../helpers/softhsm";
import { useTestDatabase } from "../helpers/test-db";

// SoftHSM scans its token folder once per process: every token exists before any PKCS#11 use.
const hsm = createSoftHsm(["frontdesk", "spare"]);
afterAll(() => hsm.cleanup());
const dbUrl = await useTestDatabase();
const LOCAL = `local1:${randomBytes(32).toString("base64")}`;
const { createTokenKey, pkcs11KeySource } = await import("@/lib/crypto/pkcs11-keys");
await createTokenKey(hsm.config("frontdesk", []), "hsm1");
// The process configuration (env() is read once): the old local key plus the token, as during a
// migration; and the gateway test bed (IdP, upstream, gateways) for real resolves.
Object.assign(process.env, { FRONTDESK_KEYS: LOCAL, ...hsm.env("frontdesk", ["hsm1"]) });
const { startGatewayTestbed, connectNotes, resolveRequest, basicAuth, SUBJECT_AUDIENCE } = await import("../helpers/gateway-testbed");
const bed = await startGatewayTestbed();
afterAll(() => bed.close());

const { runCli } = await import("@/lib/cli/main");
const { dataKeyAad, openField, sealFields, unwrapDataKey, DecryptError } = await import("@/lib/crypto/envelope");
const { parseKeySpecs, KeySpecError } = await import("@/lib/crypto/key-spec");
const keyring = await import("@/lib/crypto/keyring");
const { combineKeyrings, configuredKeySource, createLocalKeyring, ensureKeyring, setKeyring, useKeySource, KeyStoreUnavailableError } = keyring;
const { rotateDataKeys } = await import("@/lib/crypto/rotate");
const { sealedTables } = await import("@/lib/crypto/sealed-tables");
const { getDb } = await import("@/lib/db/client");
const { toAppError } = await import("@/lib/errors");
const pkcs11js = (await import("pkcs11js")).default;

const token = hsm.tokens.frontdesk!;
const localKeys = () => createLocalKeyring(parseKeySpecs(LOCAL));
const tokenSource = (labels: string[]) => pkcs11KeySource(hsm.config("frontdesk", labels));
afterAll(() => setKeyring(undefined));

/** The raw PKCS#11 view of the token, as an attacker with the PIN would use it. */
function rawSession() {
  const lib = (globalThis as { __frontdeskPkcs11?: Map<string, InstanceType<typeof pkcs11js.PKCS11>> }).__frontdeskPkcs11!.get(SOFTHSM_MODULE)!;
  const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === "frontdesk")!;
  const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  const find = (label: string) => {
    lib.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: label }]);
    const found = lib.C_FindObjects(session, 4);
    lib.C_FindObjectsFinal(session);
    return found;
  };
  return { lib, slot, session, find, close: () => lib.C_CloseSession(session) };
}

/** Unwraps every stored data key with `keys` (the KEK layer of every sealed row); returns the versions seen. */
async function unwrapEverything(keys: import("@/lib/crypto/keyring").KeyEncryptionKeys): Promise<Record<string, number>> {
  const db = await getDb();
  const seen: Record<string, number> = {};
  for (const [table, info] of Object.entries(sealedTables) as [keyof typeof sealedTables, { idColumn: string }][]) {
    const rows = await db.$queryRawUnsafe<{ id: string; wrappedKey: string; keyVersion: string }[]>(
      `SELECT "${info.idColumn}" AS id, "wrappedKey", "keyVersion" FROM "${table}" WHERE "wrappedKey" IS NOT NULL`,
    );
    for (const row of rows) {
      const dek = await unwrapDataKey(keys, table, row.id, row, `${table} ${row.id}`);
      expect(dek.length).toBe(32);
      seen[row.keyVersion] = (seen[row.keyVersion] ?? 0) + 1;
    }
  }
  return seen;
}

let providerSeq = 0;
/** A Provider row with a sealed client secret under the process keyring. */
async function sealProvider(): Promise<{ id: string; secret: string }> {
  const id = `prv_hsm_${providerSeq++}`;
  const secret = `client-secret-${randomBytes(8).toString("hex")}`;
  const s = await sealFields({ table: "Provider", id, owner: "", provider: id }, { clientSecret: secret });
  await (await getDb()).provider.create({
    data: { id, slug: id, displayName: id, kind: "oauth2", clientSecretCipher: s.ciphertexts.clientSecret, wrappedKey: s.wrappedKey, keyVersion: s.keyVersion },
  });
  return { id, secret };
}

async function openProvider(id: string): Promise<string> {
  const p = await (await getDb()).provider.findUniqueOrThrow({ where: { id }, select: { wrappedKey: true, keyVersion: true, clientSecretCipher: true } });
  return openField({ table: "Provider", id, owner: "", provider: id }, { wrappedKey: p.wrappedKey!, keyVersion: p.keyVersion! }, "clientSecret", p.clientSecretCipher!);
}

beforeAll(async () => {
  // Rows from before the migration: sealed under the local key only.
  setKeyring(localKeys());
  for (let i = 0; i < 12; i++) await sealProvider();
  setKeyring(undefined);
});

describe("keys hsm create", () => {
  it("creates an AES-256 key that is non-extractable and sensitive; the token refuses to give out its value", async () => {
    const out = await runCli(["keys", "hsm", "create", "--label", "hsm-new", "--json"]);
    expect(out.stderr).toBe("");
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({
      label: "hsm-new",
      attributes: { keyType: "AES", valueLength: 32, extractable: false, sensitive: true, neverExtractable: true, encrypt: true, decrypt: true },
    });
    const raw = rawSession();
    try {
      raw.lib.C_Login(raw.session, pkcs11js.CKU_USER, token.pin);
    } catch (e) {
      if ((e as Error).message !== "CKR_USER_ALREADY_LOGGED_IN") throw e;
    }
    try {
      const [key] = raw.find("hsm-new");
      const [extractable] = raw.lib.C_GetAttributeValue(raw.session, key!, [{ type: pkcs11js.CKA_EXTRACTABLE }]);
      expect(extractable!.value).toEqual(Buffer.of(0));
      expect(() => raw.lib.C_GetAttributeValue(raw.session, key!, [{ type: pkcs11js.CKA_VALUE }])).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
      // Nor can it be made extractable afterwards.
      expect(() => raw.lib.C_SetAttributeValue(raw.session, key!, [{ type: pkcs11js.CKA_EXTRACTABLE, value: true }])).toThrow(/CKR_/);
    } finally {
      raw.close();
    }
    // The label is taken (in the configuration, or in the token).
    const configured = await runCli(["keys", "hsm", "create", "--label", "hsm1"]);
    expect(configured.exitCode).toBe(2);
    expect(configured.stderr).toMatch(/key version "hsm1" is already configured/);
    const dup = await createTokenKey(hsm.config("frontdesk", []), "hsm-new").catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(KeySpecError);
    expect(String(dup)).toMatch(/a key labelled "hsm-new" already exists/);
  });
});

describe("wrap and unwrap inside the token", () => {
  it("round trips with the stored layout, and only under the same AAD, key and unaltered blob", async () => {
    const keys = await tokenSource(["hsm1", "hsm-new"]).load();
    expect(keys.activeVersion).toBe("hsm1");
    const dek = randomBytes(32);
    const aad = dataKeyAad("Grant", "grt_1", "hsm1");
    const wrapped = await keys.wrap("hsm1", dek, aad);
    // format 1 | 12-byte IV | 16-byte tag | 32-byte ciphertext, as the local keys store it.
    expect(wrapped.length).toBe(1 + 12 + 16 + 32);
    expect(wrapped[0]).toBe(1);
    expect((await keys.unwrap("hsm1", wrapped, aad)).equals(dek)).toBe(true);
    expect(wrapped.includes(dek.subarray(0, 8))).toBe(false);
    await expect(keys.unwrap("hsm1", wrapped, dataKeyAad("Grant", "grt_2", "hsm1"))).rejects.toThrow();
    await expect(keys.unwrap("hsm1", wrapped, dataKeyAad("Provider", "grt_1", "hsm1"))).rejects.toThrow();
    await expect(keys.unwrap("hsm-new", wrapped, aad)).rejects.toThrow();
    const tampered = Buffer.from(wrapped);
    tampered[tampered.length - 1]! ^= 1;
    await expect(keys.unwrap("hsm1", tampered, aad)).rejects.toThrow();
    expect(keys.hasVersion("local1")).toBe(false);
  });

  it("through the envelope: a wrapped data key copied to another row does not open there", async () => {
    await useKeySource(tokenSource(["hsm1"]));
    const a = await sealProvider();
    const b = await sealProvider();
    expect(await openProvider(a.id)).toBe(a.secret);
    const db = await getDb();
    const rowA = await db.provider.findUniqueOrThrow({ where: { id: a.id }, select: { wrappedKey: true, keyVersion: true, clientSecretCipher: true } });
    expect(rowA.keyVersion).toBe("hsm1");
    await db.provider.update({ where: { id: b.id }, data: { wrappedKey: rowA.wrappedKey, clientSecretCipher: rowA.clientSecretCipher } });
    await expect(openProvider(b.id)).rejects.toBeInstanceOf(DecryptError);
    await db.provider.delete({ where: { id: b.id } });
    setKeyring(undefined);
  });
});

describe("fail closed at start", () => {
  // A wrong PIN is proven by the start-up process below: in this process the token is already
  // logged in (PKCS#11 logins belong to the process, not the session), so no PIN is asked again.
  it("in process: a missing token, a missing key, an unloadable module, an extractable key are refused with a clear reason", async () => {
    const base = hsm.config("frontdesk", ["hsm1"]);
    const reasons = async (config: typeof base) => {
      const e = await Promise.resolve(pkcs11KeySource(config).load()).then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(KeySpecError);
      const message = (e as Error).message;
      expect(message).not.toContain(token.pin);
      return message;
    };
    expect(await reasons({ ...base, tokenLabel: "no-such-token" })).toMatch(/no token "no-such-token" is present in PKCS#11 module/);
    expect(await reasons({ ...base, keyLabels: ["nope"] })).toMatch(/key "nope" in token "frontdesk" does not exist \(create it with: npm run frontdesk -- keys hsm create --label nope\)/);
    expect(await reasons({ ...base, module: "/nonexistent/libpkcs11.so" })).toMatch(/cannot load the PKCS#11 module \/nonexistent\/libpkcs11\.so/);
    // An extractable AES key made with the raw API is not accepted as a KEK.
    const raw = rawSession();
    try {
      raw.lib.C_GenerateKey(raw.session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        { type: pkcs11js.CKA_LABEL, value: "leaky" },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: true },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
        { type: pkcs11js.CKA_DECRYPT, value: true },
      ]);
    } finally {
      raw.close();
    }
    expect(await reasons({ ...base, keyLabels: ["hsm1", "leaky"] })).toMatch(/key "leaky" in token "frontdesk" is extractable/);
  });

  /** Runs lib/startup.ts in a fresh node (tsx) with exactly this environment. */
  function startProcess(extra: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const START = `const { startFrontdesk } = await import("./lib/startup.ts"); await startFrontdesk(); const { closeDb } = await import("./lib/db/client.ts"); await closeDb();`;
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "--input-type=module", "-e", START],
        {
          cwd: path.resolve(import.meta.dirname, "../.."),
          timeout: 150_000,
          env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", NODE_ENV: "test", DATABASE_URL: dbUrl, AUTH_SECRET: randomBytes(32).toString("base64url"), ...extra },
        },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr }),
      );
    });
  }

  it("a real start-up process exits 1 with the token missing or the PIN wrong, and starts with the right one", async () => {
    const good = hsm.env("frontdesk", ["hsm1"]);
    // One after the other: SoftHSM2 keeps the token in files, and three processes opening it at
    // once made the good start fail with CKR_GENERAL_ERROR in a CI run (a limit of SoftHSM's file
    // store; such a start exits 1, fail closed, and an orchestrator starts it again).
    const missing = await startProcess({ ...good, FRONTDESK_PKCS11_TOKEN_LABEL: "unplugged" });
    const wrongPin = await startProcess({ ...good, FRONTDESK_PKCS11_PIN_FILE: hsm.wrongPinFile });
    const ok = await startProcess({ ...good, FRONTDESK_KEYS: LOCAL });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^Frontdesk cannot start: no token "unplugged" is present in PKCS#11 module \/usr\/lib\/softhsm\/libsofthsm2\.so/m);
    expect(wrongPin.code).toBe(1);
    expect(wrongPin.stderr).toMatch(/^Frontdesk cannot start: cannot log in to token "frontdesk" .*the PIN in .* is wrong \(CKR_PIN_INCORRECT\)/m);
    for (const run of [missing, wrongPin, ok]) expect(run.stdout + run.stderr).not.toContain(token.pin);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/"kekVersion":"hsm1".*"msg":"frontdesk started"/);
  });
});

describe("migration from a local key to the token", () => {
  it("mixed: the local key decrypts, the token's key wraps; keys rotate moves every record; then the token alone opens everything", async () => {
    // The process configuration: FRONTDESK_KEYS (local1) and the token (hsm1).
    const keys = await ensureKeyring();
    expect(keys.activeVersion).toBe("hsm1");
    expect(keys.versions).toEqual(["hsm1", "local1"]);
    const before = await unwrapEverything(keys);
    expect(before.local1).toBeGreaterThanOrEqual(12);
    const fresh = await sealProvider();
    expect((await (await getDb()).provider.findUniqueOrThrow({ where: { id: fresh.id } })).keyVersion).toBe("hsm1");
    const oldest = await openProvider("prv_hsm_0");
    expect(oldest).toMatch(/^client-secret-/);

    const status = await runCli(["keys", "status"]);
    expect(status.stdout).toMatch(/Key source: PKCS#11 token "frontdesk" .*with FRONTDESK_KEYS decrypt-only/);
    expect(status.stdout).toMatch(/local1\s+decrypt-only\s+wraps [1-9]\d* data key/);

    const rotated = await runCli(["keys", "rotate", "--json"]);
    expect(rotated.exitCode).toBe(0);
    const result = JSON.parse(rotated.stdout);
    expect(result).toMatchObject({ activeVersion: "hsm1", failed: 0 });
    expect(result.rewrapped).toBe(before.local1);

    const tokenOnly = await tokenSource(["hsm1"]).load();
    const after = await unwrapEverything(tokenOnly);
    expect(Object.keys(after)).toEqual(["hsm1"]);
    await expect(unwrapEverything(localKeys())).rejects.toThrow(/key version hsm1 unknown/);
    await useKeySource(tokenSource(["hsm1"]));
    expect(await openProvider("prv_hsm_0")).toBe(oldest);
    setKeyring(undefined);
  });

  it("FRONTDESK_ACTIVE_KEY_VERSION keeps the local key wrapping while every instance learns the token's key", async () => {
    const source = configuredKeySource({ keys: LOCAL, dataDir: hsm.dir, databaseUrl: dbUrl, pkcs11: hsm.config("frontdesk", ["hsm1"]), activeVersion: "local1" });
    const keys = await source.load();
    expect(keys.activeVersion).toBe("local1");
    expect(keys.versions).toEqual(["local1", "hsm1"]);
    expect(() => combineKeyrings(localKeys(), localKeys())).toThrow(/configured twice/);
    await expect(configuredKeySource({ keys: LOCAL, dataDir: hsm.dir, pkcs11: hsm.config("frontdesk", ["hsm1"]), activeVersion: "v9" }).load()).rejects.toThrow(/FRONTDESK_ACTIVE_KEY_VERSION v9 is not a configured key version/);
  });
});

describe("rotation between token keys under load", () => {
  it("readers and real resolves keep working while every record moves to the new token key: 0 failures", async () => {
    await useKeySource(tokenSource(["hsm1"]));
    try {
      const { handleResolve } = await import("@/lib/gateway-api/resolve");
      const notes = await connectNotes(bed, { scope: "notes:read" });
      const subject = await bed.idp.signSubjectToken({ sub: bed.idp.users.alice.sub, aud: SUBJECT_AUDIENCE });
      const resolveOnce = async () => {
        const res = await handleResolve(resolveRequest(bed.frontdeskUrl, { subject_token: subject, provider: "notes" }, { authorization: basicAuth(bed.basic.id, bed.basic.secret!) }));
        const body = await res.text();
        if (res.status !== 200 || !body.includes(notes.accessToken)) throw new Error(`resolve answered ${res.status}`);
      };
      await resolveOnce();
      for (let i = 0; i < 20; i++) await sealProvider();

      // The documented order: the new key added decrypt-only, then promoted, then keys rotate.
      await createTokenKey(hsm.config("frontdesk", []), "hsm2");
      await useKeySource(tokenSource(["hsm1", "hsm2"]));
      await useKeySource(tokenSource(["hsm2", "hsm1"]));
      const failures: unknown[] = [];
      let resolves = 0;
      let reads = 0;
      let done = false;
      const loop = (work: () => Promise<void>, count: () => void) => async () => {
        while (!done) {
          try {
            await work();
            count();
          } catch (e) {
            failures.push(e);
          }
        }
      };
      const providerIds = Array.from({ length: 20 }, (_, i) => `prv_hsm_${providerSeq - 20 + i}`);
      const readAll = async () => {
        for (const id of providerIds) expect(await openProvider(id)).toMatch(/^client-secret-/);
      };
      const workers = [
        loop(resolveOnce, () => resolves++)(),
        loop(resolveOnce, () => resolves++)(),
        loop(readAll, () => reads++)(),
        loop(async () => void (await sealProvider()), () => undefined)(),
      ];
      let batches = 0;
      const result = await rotateDataKeys({
        batchSize: 4,
        onBatch: () => {
          batches++;
        },
      }).finally(() => {
        done = true;
      });
      await Promise.all(workers);
      expect(failures).toEqual([]);
      expect(result.failed).toBe(0);
      expect(batches).toBeGreaterThan(3);
      expect(resolves).toBeGreaterThan(0);
      expect(reads).toBeGreaterThan(0);
      // Everything is on hsm2 now (writers during the run wrapped under it too).
      const after = await unwrapEverything(await tokenSource(["hsm2"]).load());
      expect(Object.keys(after)).toEqual(["hsm2"]);
      await useKeySource(tokenSource(["hsm2"]));
      await resolveOnce();
    } finally {
      setKeyring(undefined);
    }
  });
});

describe("the token failing at run time", () => {
  it("sessions closed under it: the next operation reconnects and succeeds; an unreachable token is a retryable 503", async () => {
    const keys = await useKeySource(tokenSource(["hsm2"]));
    const p = await sealProvider();
    const raw = rawSession();
    // Closes every session of this process on the token (and so its login), as a token reset does.
    raw.lib.C_CloseAllSessions(raw.slot);
    expect(await openProvider(p.id)).toBe(p.secret);

    // Now the re-login fails too (the PIN file changed): the caller gets 503 + Retry-After, not "corrupt".
    writeFileSync(token.pinFile, "0000\n", { mode: 0o600 });
    raw.lib.C_CloseAllSessions(raw.slot);
    const error = await openProvider(p.id).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(KeyStoreUnavailableError);
    expect(toAppError(error)).toMatchObject({ code: "service_unavailable", status: 503 });
    await expect(keys.wrap("hsm2", randomBytes(32), Buffer.from("x"))).rejects.toBeInstanceOf(KeyStoreUnavailableError);

    writeFileSync(token.pinFile, `${token.pin}\n`, { mode: 0o600 });
    expect(await openProvider(p.id)).toBe(p.secret);
    setKeyring(undefined);
  });
});
