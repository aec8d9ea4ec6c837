// Key-encryption keys: strict parsing of FRONTDESK_KEYS, fail-closed loading, and the embedded
// key file (generated 0600, reused, refused when others can read it).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { openField, sealFields } from "@/lib/crypto/envelope";
import { generateKeySpec, KeySpecError, nextKeyVersion, parseKeySpecs } from "@/lib/crypto/key-spec";
import { EMBEDDED_KEY_FILE, loadKeyring, setKeyring } from "@/lib/crypto/keyring";

const key32 = randomBytes(32);
const good = `v1:${key32.toString("base64")}`;
const tmpDirs: string[] = [];
function tmpDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "frontdesk-keyring-"));
  tmpDirs.push(dir);
  return dir;
}
afterAll(() => tmpDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
afterEach(() => setKeyring(undefined));

function parseError(text: string): KeySpecError {
  try {
    parseKeySpecs(text);
  } catch (e) {
    expect(e).toBeInstanceOf(KeySpecError);
    return e as KeySpecError;
  }
  throw new Error("expected parseKeySpecs to throw");
}

describe("parseKeySpecs", () => {
  it("accepts version:base64 entries (standard or URL-safe, surrounding spaces), first is first", () => {
    const other = randomBytes(32);
    const specs = parseKeySpecs(` k-2_b:${other.toString("base64url")} , ${good}`);
    expect(specs.map((s) => s.version)).toEqual(["k-2_b", "v1"]);
    expect(specs[0]!.key.equals(other)).toBe(true);
    expect(specs[1]!.key.equals(key32)).toBe(true);
  });

  const short = randomBytes(16).toString("base64");
  const long = randomBytes(33).toString("base64");
  const cases: [string, string, RegExp][] = [
    ["empty", "", /is empty/],
    ["only spaces", "   ", /is empty/],
    ["wrong length (16 bytes)", `v1:${short}`, /decodes to 16 bytes; a key must be exactly 32 bytes/],
    ["wrong length (33 bytes)", `v1:${long}`, /decodes to 33 bytes/],
    ["bad base64", `v1:${"!".repeat(43)}=`, /not valid base64/],
    ["base64 with a bad length", `v1:${key32.toString("base64").slice(0, 41)}`, /not valid base64/],
    ["duplicate version", `${good},v1:${randomBytes(32).toString("base64")}`, /repeats key version "v1"/],
    ["missing version", key32.toString("base64"), /must look like version:base64key/],
    ["empty version", `:${key32.toString("base64")}`, /invalid version label/],
    ["version with bad characters", `v 1:${key32.toString("base64")}`, /invalid version label/],
    ["version too long", `${"v".repeat(33)}:${key32.toString("base64")}`, /invalid version label/],
    ["stray comma", `${good},`, /entry 2 is empty/],
  ];
  it.each(cases)("rejects %s, naming the variable but not the value", (_name, text, message) => {
    const error = parseError(text);
    expect(error.message).toMatch(/FRONTDESK_KEYS/);
    expect(error.message).toMatch(message);
    const secretPart = text.split(",").map((e) => e.slice(e.indexOf(":") + 1).trim()).filter((s) => s.length > 4);
    for (const s of secretPart) expect(error.message).not.toContain(s);
    expect(error.message).not.toContain(key32.toString("base64"));
  });

  it("generateKeySpec produces a valid 32-byte key; nextKeyVersion counts up", () => {
    const line = generateKeySpec("v3");
    const [spec] = parseKeySpecs(line);
    expect(spec!.version).toBe("v3");
    expect(spec!.key.length).toBe(32);
    expect(nextKeyVersion([])).toBe("v1");
    expect(nextKeyVersion(["v2", "v10", "prod"])).toBe("v11");
  });
});

describe("loadKeyring", () => {
  const silent = () => undefined;

  it("uses FRONTDESK_KEYS: first is active, all versions unwrap", () => {
    const ring = loadKeyring({ keys: `v2:${randomBytes(32).toString("base64")},${good}`, databaseUrl: "postgresql://db/x", dataDir: tmpDir() }, silent);
    expect(ring.activeVersion).toBe("v2");
    expect(ring.versions).toEqual(["v2", "v1"]);
  });

  it("fails closed with DATABASE_URL set and no key, naming the variable", () => {
    for (const keys of [undefined, ""]) {
      expect(() => loadKeyring({ keys, databaseUrl: "postgresql://u:p@db/x", dataDir: tmpDir() }, silent)).toThrow(
        /FRONTDESK_KEYS is required when DATABASE_URL is set/,
      );
    }
  });

  it("fails on a malformed key whatever the database", () => {
    expect(() => loadKeyring({ keys: "v1:abcd", dataDir: tmpDir() }, silent)).toThrow(KeySpecError);
    expect(() => loadKeyring({ keys: "v1:abcd", databaseUrl: "postgresql://db/x", dataDir: tmpDir() }, silent)).toThrow(KeySpecError);
  });

  it("embedded without keys: generates a 0600 key file atomically, warns loudly, and reuses it next start", async () => {
    const dataDir = path.join(tmpDir(), "nested", "data");
    const warnings: string[] = [];
    const first = loadKeyring({ dataDir }, (m) => warnings.push(m));
    const file = path.join(dataDir, EMBEDDED_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(parseKeySpecs(readFileSync(file, "utf8").trim(), file)).toHaveLength(1);
    expect(warnings.join("")).toMatch(/LOCAL USE ONLY/);
    expect(warnings.join("")).toContain(file);
    expect(warnings.join("")).not.toContain(readFileSync(file, "utf8").trim().slice(3));

    setKeyring(first);
    const binding = { table: "Grant" as const, id: "grt_1", owner: "usr_1", provider: "prv_1" };
    const sealed = await sealFields(binding, { accessToken: "tok" });

    const before = readFileSync(file, "utf8");
    const second = loadKeyring({ dataDir }, (m) => warnings.push(m));
    expect(readFileSync(file, "utf8")).toBe(before);
    expect(warnings).toHaveLength(2);
    setKeyring(second);
    expect(await openField(binding, sealed, "accessToken", sealed.ciphertexts.accessToken!)).toBe("tok");
    // No temporary files are left behind.
    expect(readFileSync(file, "utf8")).toMatch(/^v1:/);
  });

  it("processes starting at once on an empty data folder all end up with the same key", async () => {
    const dataDir = path.join(tmpDir(), "data");
    const root = path.resolve(import.meta.dirname, "../..");
    // Each child loads the keyring and prints a fingerprint of the active key's wrap/unwrap
    // behaviour: it seals a value that the parent then opens with the file's key.
    const script = `
      const { loadKeyring } = await import("./lib/crypto/keyring.ts");
      const ring = loadKeyring({ dataDir: ${JSON.stringify(dataDir)} }, () => {});
      const aad = Buffer.from("probe");
      const wrapped = await ring.wrap(ring.activeVersion, Buffer.alloc(32, 7), aad);
      process.stdout.write(wrapped.toString("base64url"));`;
    const outputs = await Promise.all(
      [1, 2, 3, 4].map(
        () =>
          new Promise<string>((resolve, reject) =>
            execFile(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: root }, (e, out) =>
              e ? reject(e) : resolve(out),
            ),
          ),
      ),
    );
    const ring = loadKeyring({ dataDir }, silent);
    for (const wrapped of outputs) {
      const dek = await ring.unwrap(ring.activeVersion, Buffer.from(wrapped, "base64url"), Buffer.from("probe"));
      expect(dek.equals(Buffer.alloc(32, 7))).toBe(true);
    }
    expect(readdirSync(dataDir)).toEqual([EMBEDDED_KEY_FILE]); // no temporary files left behind
  });

  it("refuses an embedded key file other users can read, and a malformed one (naming the file)", () => {
    const dataDir = tmpDir();
    const file = path.join(dataDir, EMBEDDED_KEY_FILE);
    writeFileSync(file, `${good}\n`, { mode: 0o644 });
    chmodSync(file, 0o644);
    expect(() => loadKeyring({ dataDir }, silent)).toThrow(/accessible by other users.*chmod 600/);
    writeFileSync(file, "v1:AAAA\n", { mode: 0o600 });
    chmodSync(file, 0o600);
    expect(() => loadKeyring({ dataDir }, silent)).toThrow(new RegExp(`${EMBEDDED_KEY_FILE} entry 1 .*decodes to`));
  });

  it("configured keys take precedence over an existing embedded key file", () => {
    const dataDir = tmpDir();
    loadKeyring({ dataDir }, silent);
    const ring = loadKeyring({ keys: `prod:${randomBytes(32).toString("base64")}`, dataDir }, silent);
    expect(ring.versions).toEqual(["prod"]);
  });
});

describe("rolling rotation", () => {
  const silent = () => undefined;
  const line = (version: string) => `${version}:${randomBytes(32).toString("base64")}`;
  const binding = { table: "Grant" as const, id: "grt_roll", owner: "usr_1", provider: "prv_1" };

  it("the documented order (add decrypt-only, then promote) never leaves an instance unable to open what another sealed", async () => {
    const v1 = line("v1");
    const v2 = line("v2");
    // Two instances, each with its own configuration, at every stage of the roll: each seals, and
    // every other instance at the same or the neighbouring stage opens it.
    const stages = [[v1], [v1, v2], [v2, v1], [v2]];
    for (let s = 0; s + 1 < stages.length; s++) {
      const before = loadKeyring({ keys: stages[s]!.join(","), dataDir: tmpDir() }, silent);
      const after = loadKeyring({ keys: stages[s + 1]!.join(","), dataDir: tmpDir() }, silent);
      // The last step (dropping v1) is only taken after `keys rotate`: nothing is on v1 any more.
      const writers = s + 1 === stages.length - 1 ? [after] : [before, after];
      for (const writer of writers) {
        setKeyring(writer);
        const sealed = await sealFields(binding, { accessToken: `stage ${s}` });
        for (const reader of [before, after]) {
          if (s + 1 === stages.length - 1 && reader === after && sealed.keyVersion === "v1") continue;
          setKeyring(reader);
          expect(await openField(binding, sealed, "accessToken", sealed.ciphertexts.accessToken!)).toBe(`stage ${s}`);
        }
      }
    }
    // Promoting first (the old documented order) is exactly what fails: v1-only cannot open v2.
    setKeyring(loadKeyring({ keys: `${v2},${v1}`, dataDir: tmpDir() }, silent));
    const early = await sealFields(binding, { accessToken: "promoted too early" });
    setKeyring(loadKeyring({ keys: v1, dataDir: tmpDir() }, silent));
    await expect(openField(binding, early, "accessToken", early.ciphertexts.accessToken!)).rejects.toThrow(/key version v2 unknown/);
  });

  it("FRONTDESK_KEYS_FILE: a row under a version not loaded yet makes the process read the file again (once, shared)", async () => {
    const dir = tmpDir();
    const file = path.join(dir, "keys");
    const v1 = line("v1");
    const v2 = line("v2");
    writeFileSync(file, `${v1}\n`, { mode: 0o600 });
    const config = { keysFile: file, databaseUrl: "postgresql://db/x", dataDir: dir };
    // "Instance B" loaded the file before the new key was added.
    const b = loadKeyring(config, silent);
    // "Instance A" already has v2 first and seals under it.
    setKeyring(loadKeyring({ keys: `${v2},${v1}`, dataDir: dir }, silent));
    const sealed = await sealFields(binding, { accessToken: "fresh" });
    expect(sealed.keyVersion).toBe("v2");
    writeFileSync(file, `${v2},${v1}\n`, { mode: 0o600 });

    const { configuredKeySource, useKeySource, getKeyring } = await import("@/lib/crypto/keyring");
    let loads = 0;
    const source = configuredKeySource(config, silent);
    await useKeySource({ description: source.description, load: () => (loads++ === 0 ? b : source.load()) });
    expect(getKeyring().hasVersion("v2")).toBe(false);
    // Many readers at once share one read of the source.
    const opened = await Promise.all([1, 2, 3].map(() => openField(binding, sealed, "accessToken", sealed.ciphertexts.accessToken!)));
    expect(opened).toEqual(["fresh", "fresh", "fresh"]);
    expect(loads).toBe(2);
    expect(getKeyring().activeVersion).toBe("v2");
    // A version no source has, right after a read: no further read per row (throttled).
    const bogus = { ...sealed, keyVersion: "v9" };
    for (let i = 0; i < 3; i++) await expect(openField(binding, bogus, "accessToken", sealed.ciphertexts.accessToken!)).rejects.toThrow(/v9 unknown/);
    expect(loads).toBe(2);
  });

  it("a key file is refused when others can read it, missing, or given with FRONTDESK_KEYS too", () => {
    const dir = tmpDir();
    const file = path.join(dir, "keys");
    expect(() => loadKeyring({ keysFile: file, dataDir: dir }, silent)).toThrow(/does not exist/);
    writeFileSync(file, `${line("v1")}\n`, { mode: 0o644 });
    chmodSync(file, 0o644);
    expect(() => loadKeyring({ keysFile: file, dataDir: dir }, silent)).toThrow(/accessible by other users/);
    expect(() => loadKeyring({ keys: line("v1"), keysFile: file, dataDir: dir }, silent)).toThrow(/not both/);
  });
});
