// Key-encryption keys (KEKs): versioned, the first configured is active, older ones still
// unwrap. They come from FRONTDESK_KEYS; with the embedded database and no keys configured, a
// key is generated into the data folder for local use. Everything above this module sees only
// the KeyEncryptionKeys interface, so a KMS adapter (wrap/unwrap done by the KMS, with the AAD
// as encryption context) can replace the local keys without touching envelope or rotation code.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import path from "node:path";
import { env } from "@/lib/env";
import { generateKeySpec, KeySpecError, parseKeySpecs, type KeySpec } from "./key-spec";
import { PrivateFileError, readOrCreatePrivateFile } from "./private-file";

export { KeySpecError } from "./key-spec";

/** The KMS seam: the only operations that touch key-encryption keys. */
export interface KeyEncryptionKeys {
  /** Version new data keys are wrapped under. */
  readonly activeVersion: string;
  /** Every version that can unwrap, active first. */
  readonly versions: readonly string[];
  hasVersion(version: string): boolean;
  /** Wraps a data key under `version`; `aad` must be given again to unwrap. */
  wrap(version: string, dataKey: Buffer, aad: Buffer): Promise<Buffer>;
  /** Unwraps; throws if the version is unknown or the blob/AAD do not authenticate. */
  unwrap(version: string, wrapped: Buffer, aad: Buffer): Promise<Buffer>;
}

export const EMBEDDED_KEY_FILE = "frontdesk.key";

const WRAP_FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** KEKs held in process memory (from env or the embedded key file). */
export function createLocalKeyring(specs: readonly KeySpec[]): KeyEncryptionKeys {
  const first = specs[0];
  if (!first) throw new KeySpecError("at least one key-encryption key is required");
  const keys = new Map(specs.map((s) => [s.version, Buffer.from(s.key)]));
  if (keys.size !== specs.length) throw new KeySpecError("key versions must be unique");
  const keyFor = (version: string): Buffer => {
    const key = keys.get(version);
    if (!key) throw new KeySpecError(`key version ${version} unknown`);
    return key;
  };
  return {
    activeVersion: first.version,
    versions: specs.map((s) => s.version),
    hasVersion: (version) => keys.has(version),
    async wrap(version, dataKey, aad) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", keyFor(version), iv);
      cipher.setAAD(aad);
      const body = Buffer.concat([cipher.update(dataKey), cipher.final()]);
      return Buffer.concat([Buffer.of(WRAP_FORMAT), iv, cipher.getAuthTag(), body]);
    },
    async unwrap(version, wrapped, aad) {
      const key = keyFor(version);
      if (wrapped.length <= 1 + IV_BYTES + TAG_BYTES || wrapped[0] !== WRAP_FORMAT) {
        throw new Error("wrapped key has an unknown format");
      }
      const iv = wrapped.subarray(1, 1 + IV_BYTES);
      const tag = wrapped.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
      const decipher = createDecipheriv("aes-256-gcm", key, iv);
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(wrapped.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
    },
  };
}

export interface KeyringConfig {
  /** FRONTDESK_KEYS as configured (undefined or "" when unset). */
  keys?: string;
  /** Set when Frontdesk runs on a real PostgreSQL server: then keys must come from config. */
  databaseUrl?: string;
  /** Embedded data folder, where a local key is generated when none is configured. */
  dataDir: string;
}

function writeStderr(message: string) {
  process.stderr.write(message);
}

/**
 * Resolves the key-encryption keys from configuration. Fails closed: with DATABASE_URL set,
 * FRONTDESK_KEYS is required; a malformed key always fails; nothing ever falls back to plaintext.
 */
export function loadKeyring(config: KeyringConfig, warn: (message: string) => void = writeStderr): KeyEncryptionKeys {
  if (config.keys !== undefined && config.keys.trim() !== "") {
    return createLocalKeyring(parseKeySpecs(config.keys, "FRONTDESK_KEYS"));
  }
  if (config.databaseUrl) {
    throw new KeySpecError(
      "FRONTDESK_KEYS is required when DATABASE_URL is set (refusing to store credentials without a key-encryption key); " +
        "generate one with: npm run frontdesk -- keys generate",
    );
  }
  const file = path.resolve(config.dataDir, EMBEDDED_KEY_FILE);
  const { specs, created } = readOrCreateKeyFile(file);
  warn(
    [
      "",
      "!!! WARNING: Frontdesk is using a key-encryption key generated on this machine, for LOCAL USE ONLY.",
      `!!! ${created ? "Created" : "Using"} ${file} (mode 0600). Anyone who can read it can decrypt every stored credential;`,
      "!!! losing it loses them. For production set DATABASE_URL and FRONTDESK_KEYS (npm run frontdesk -- keys generate).",
      "",
    ].join("\n"),
  );
  return createLocalKeyring(specs);
}

/** Reads the embedded key file, or creates it with a fresh key. */
function readOrCreateKeyFile(file: string): { specs: KeySpec[]; created: boolean } {
  try {
    const { content, created } = readOrCreatePrivateFile(file, () => generateKeySpec("v1"));
    return { specs: parseKeySpecs(content, file), created };
  } catch (e) {
    if (e instanceof PrivateFileError) throw new KeySpecError(e.message);
    throw e;
  }
}

// On globalThis so every bundle Next.js builds shares one keyring per process.
const holder = globalThis as typeof globalThis & { __frontdeskKeyring?: KeyEncryptionKeys };

/** The process keyring, loaded from configuration on first use (start-up loads it eagerly). */
export function getKeyring(): KeyEncryptionKeys {
  if (!holder.__frontdeskKeyring) {
    const e = env();
    holder.__frontdeskKeyring = loadKeyring({ keys: e.FRONTDESK_KEYS, databaseUrl: e.DATABASE_URL, dataDir: e.FRONTDESK_DATA_DIR });
  }
  return holder.__frontdeskKeyring;
}

/**
 * Installs a keyring for this process (a KMS adapter at boot, or tests switching key sets);
 * `undefined` makes the next getKeyring() load from configuration again.
 */
export function setKeyring(keyring: KeyEncryptionKeys | undefined): void {
  holder.__frontdeskKeyring = keyring;
}
