// Envelope encryption: round trips, and every way a sealed value could be tampered with or
// moved must fail to open (design.md invariant 2).
import { randomBytes } from "node:crypto";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { DecryptError, openField, sealFields, type DataKeyRef, type SealBinding } from "@/lib/crypto/envelope";
import { parseKeySpecs } from "@/lib/crypto/key-spec";
import { createLocalKeyring, setKeyring } from "@/lib/crypto/keyring";

const k1 = `v1:${randomBytes(32).toString("base64")}`;
const k2 = `v2:${randomBytes(32).toString("base64")}`;
const ring = (spec: string) => createLocalKeyring(parseKeySpecs(spec));

const grant: SealBinding = { table: "Grant", id: "grt_a", owner: "usr_alice", provider: "prv_github" };
const ACCESS = "gho_access-token-of-alice";
const REFRESH = "ghr_refresh-token-of-alice";

beforeEach(() => setKeyring(ring(k1)));
afterAll(() => setKeyring(undefined));

/** Flips one bit of the decoded bytes at `index` (negative counts from the end). */
function flip(b64: string, index: number): string {
  const raw = Buffer.from(b64, "base64url");
  const i = index < 0 ? raw.length + index : index;
  raw[i] = raw[i]! ^ 0x01;
  return raw.toString("base64url");
}

async function expectDecryptError(p: Promise<unknown>, message?: RegExp): Promise<DecryptError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DecryptError);
  if (message) expect((error as Error).message).toMatch(message);
  return error as DecryptError;
}

describe("sealFields / openField", () => {
  it("round-trips every field, keeps null/undefined as null, handles empty and unicode values", async () => {
    const sealed = await sealFields(grant, { accessToken: ACCESS, refreshToken: REFRESH, apiKey: null, extra: undefined, empty: "", uni: "ключ🔑" });
    expect(sealed.keyVersion).toBe("v1");
    expect(sealed.ciphertexts.apiKey).toBeNull();
    expect(sealed.ciphertexts.extra).toBeNull();
    expect(sealed.ciphertexts.accessToken).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(sealed.ciphertexts.accessToken).not.toContain(ACCESS);
    expect(await openField(grant, sealed, "accessToken", sealed.ciphertexts.accessToken!)).toBe(ACCESS);
    expect(await openField(grant, sealed, "refreshToken", sealed.ciphertexts.refreshToken!)).toBe(REFRESH);
    expect(await openField(grant, sealed, "empty", sealed.ciphertexts.empty!)).toBe("");
    expect(await openField(grant, sealed, "uni", sealed.ciphertexts.uni!)).toBe("ключ🔑");
  });

  it("uses a fresh data key and IV every time", async () => {
    const a = await sealFields(grant, { accessToken: ACCESS });
    const b = await sealFields(grant, { accessToken: ACCESS });
    expect(a.wrappedKey).not.toBe(b.wrappedKey);
    expect(a.ciphertexts.accessToken).not.toBe(b.ciphertexts.accessToken);
    // b's data key cannot open a's ciphertext.
    await expectDecryptError(openField(grant, b, "accessToken", a.ciphertexts.accessToken!));
  });

  it("with an existing data key updates one field while the others stay readable", async () => {
    const first = await sealFields(grant, { accessToken: ACCESS, refreshToken: REFRESH });
    const update = await sealFields(grant, { accessToken: "rotated-access" }, first);
    expect(update.wrappedKey).toBe(first.wrappedKey);
    expect(await openField(grant, update, "accessToken", update.ciphertexts.accessToken!)).toBe("rotated-access");
    expect(await openField(grant, update, "refreshToken", first.ciphertexts.refreshToken!)).toBe(REFRESH);
  });

  it("re-wraps a reused data key under the active key when the row is on an older one", async () => {
    const onV1 = await sealFields(grant, { accessToken: ACCESS, refreshToken: REFRESH });
    setKeyring(ring(`${k2},${k1}`));
    const update = await sealFields(grant, { accessToken: "new" }, onV1);
    expect(update.keyVersion).toBe("v2");
    setKeyring(ring(k2));
    expect(await openField(grant, update, "refreshToken", onV1.ciphertexts.refreshToken!)).toBe(REFRESH);
  });

  describe("tampering fails", () => {
    let sealed: Awaited<ReturnType<typeof sealFields<"accessToken">>>;
    let ct: string;
    beforeEach(async () => {
      sealed = await sealFields(grant, { accessToken: ACCESS });
      ct = sealed.ciphertexts.accessToken!;
    });
    // Layout: format byte | 12-byte IV | 16-byte tag | ciphertext.
    it("ciphertext body", () => expectDecryptError(openField(grant, sealed, "accessToken", flip(ct, -1)), /does not authenticate/));
    it("tag", () => expectDecryptError(openField(grant, sealed, "accessToken", flip(ct, 1 + 12 + 3))));
    it("IV", () => expectDecryptError(openField(grant, sealed, "accessToken", flip(ct, 2))));
    it("format byte", () => expectDecryptError(openField(grant, sealed, "accessToken", flip(ct, 0)), /unknown ciphertext format/));
    it("truncation", () => expectDecryptError(openField(grant, sealed, "accessToken", ct.slice(0, 20))));
    it("appended bytes", () =>
      expectDecryptError(openField(grant, sealed, "accessToken", Buffer.concat([Buffer.from(ct, "base64url"), Buffer.of(0)]).toString("base64url"))));
    it("wrapped key (body, tag, IV)", async () => {
      for (const index of [-1, 1 + 12 + 2, 3]) {
        const ref: DataKeyRef = { keyVersion: "v1", wrappedKey: flip(sealed.wrappedKey, index) };
        await expectDecryptError(openField(grant, ref, "accessToken", ct), /data key does not authenticate/);
      }
    });
    it("key version label on the row (v1-wrapped key claimed to be v2)", async () => {
      setKeyring(ring(`${k2},${k1}`));
      await expectDecryptError(openField(grant, { ...sealed, keyVersion: "v2" }, "accessToken", ct));
    });
  });

  describe("a ciphertext moved elsewhere fails (AAD binds table, row, owner, provider, field)", () => {
    const moves: [string, SealBinding, string][] = [
      ["another row", { ...grant, id: "grt_b" }, "accessToken"],
      ["another owner", { ...grant, owner: "usr_mallory" }, "accessToken"],
      ["another provider", { ...grant, provider: "prv_google" }, "accessToken"],
      ["another field", grant, "refreshToken"],
      ["another table", { ...grant, table: "Provider" }, "accessToken"],
    ];
    it.each(moves)("%s", async (_name, binding, field) => {
      const sealed = await sealFields(grant, { accessToken: ACCESS });
      // Keep the wrapped key with the ciphertext (the whole sealed tuple copied over):
      // opening still fails, because the binding differs.
      await expectDecryptError(openField(binding, sealed, field, sealed.ciphertexts.accessToken!));
    });

    it("a row's ciphertext with another row's wrapped key fails, in both directions", async () => {
      const bBinding = { ...grant, id: "grt_b" };
      const a = await sealFields(grant, { accessToken: ACCESS });
      const b = await sealFields(bBinding, { accessToken: "bob" });
      await expectDecryptError(openField(grant, b, "accessToken", a.ciphertexts.accessToken!), /data key does not authenticate/);
      await expectDecryptError(openField(bBinding, a, "accessToken", b.ciphertexts.accessToken!), /data key does not authenticate/);
    });

    it("ids that would collide under naive concatenation stay distinct", async () => {
      const x: SealBinding = { table: "Grant", id: "a|b", owner: "c", provider: "d" };
      const y: SealBinding = { table: "Grant", id: "a", owner: "b|c", provider: "d" };
      const sealed = await sealFields(x, { f: "secret" });
      await expectDecryptError(openField(y, sealed, "f", sealed.ciphertexts.f!));
    });
  });

  it("an unknown key version fails with a clear message that carries no key material or plaintext", async () => {
    const sealed = await sealFields(grant, { accessToken: ACCESS });
    setKeyring(ring(k2));
    const error = await expectDecryptError(
      openField(grant, sealed, "accessToken", sealed.ciphertexts.accessToken!),
      /^cannot decrypt Grant\.accessToken \(key version v1 unknown\)$/,
    );
    for (const secret of [ACCESS, k1.slice(3), k2.slice(3), sealed.wrappedKey]) expect(error.message).not.toContain(secret);
    expect(error.name).toBe("DecryptError");
  });

  it("sealing with an existing data key under an unknown version fails instead of silently making a new key", async () => {
    const sealed = await sealFields(grant, { accessToken: ACCESS });
    setKeyring(ring(k2));
    await expectDecryptError(sealFields(grant, { refreshToken: REFRESH }, sealed), /key version v1 unknown/);
  });
});
