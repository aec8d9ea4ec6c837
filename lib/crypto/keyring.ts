// Key-encryption keys (KEKs): versioned; the first configured is active (new data keys are
// wrapped under it), every other one is decrypt-only (it still unwraps). They come from a key
// source: FRONTDESK_KEYS, a key file (FRONTDESK_KEYS_FILE, e.g. a mounted secret), a PKCS#11
// token (FRONTDESK_PKCS11_*, lib/crypto/pkcs11-keys.ts: the HSM wraps and unwraps, the keys never
// leave it), or, with the embedded database and no keys configured, a key generated into the data
// folder for local use. With a token and local keys both configured (a migration to the HSM), the
// token's first key is active and the local keys decrypt-only, unless FRONTDESK_ACTIVE_KEY_VERSION
// names another. Everything above this module sees only the KeyEncryptionKeys interface, so
// another source (a cloud KMS doing wrap/unwrap itself, with the AAD as encryption context) is a
// KeySource and one branch in configuredKeySource (docs/operations.md "Key sources").
//
// Rolling rotation (README "Key rotation"): a new key is first added decrypt-only on every
// instance, then promoted to first. While instances disagree, a row wrapped under a version this
// process has not loaded makes it read its key source again (keyringWithVersion), so a source that
// every instance shares (a key file, an HSM) is safe even when the order is not followed.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import path from "node:path";
import { env, type Env } from "@/lib/env";
import { generateKeySpec, KeySpecError, parseKeySpecs, type KeySpec } from "./key-spec";
import { log } from "@/lib/log";
import { pkcs11KeySource, type Pkcs11Config } from "./pkcs11-keys";
import { PrivateFileError, readOrCreatePrivateFile, readPrivateFile } from "./private-file";

export { KeySpecError } from "./key-spec";
export { KeyStoreUnavailableError } from "./key-store-unavailable";

/** The KMS seam: the only operations that touch key-encryption keys. */
export interface KeyEncryptionKeys {
  /** Version new data keys are wrapped under. */
  readonly activeVersion: string;
  /** Every version that can unwrap, active first. */
  readonly versions: readonly string[];
  hasVersion(version: string): boolean;
  /** Wraps a data key under `version`; `aad` must be given again to unwrap. */
  wrap(version: string, dataKey: Buffer, aad: Buffer): Promise<Buffer>;
  /**
   * Unwraps; throws if the version is unknown or the blob/AAD do not authenticate, and
   * KeyStoreUnavailableError when a remote key store cannot answer (retryable, 503).
   */
  unwrap(version: string, wrapped: Buffer, aad: Buffer): Promise<Buffer>;
}

/**
 * One keyring over two (a migration between sources): `activeVersion` (default: the first of
 * `primary`) wraps, every version of either unwraps. Versions must not repeat across them.
 */
export function combineKeyrings(primary: KeyEncryptionKeys, secondary: KeyEncryptionKeys, activeVersion = primary.activeVersion): KeyEncryptionKeys {
  const repeated = primary.versions.filter((v) => secondary.hasVersion(v));
  if (repeated.length) throw new KeySpecError(`key version ${repeated.join(", ")} is configured twice (token and local keys); versions must be unique`);
  const owner = (version: string) => (primary.hasVersion(version) ? primary : secondary.hasVersion(version) ? secondary : undefined);
  if (!owner(activeVersion)) throw new KeySpecError(`FRONTDESK_ACTIVE_KEY_VERSION ${activeVersion} is not a configured key version`);
  const of = (version: string) => {
    const keys = owner(version);
    if (!keys) throw new KeySpecError(`key version ${version} unknown`);
    return keys;
  };
  const all = [...primary.versions, ...secondary.versions];
  return {
    activeVersion,
    versions: [activeVersion, ...all.filter((v) => v !== activeVersion)],
    hasVersion: (version) => owner(version) !== undefined,
    wrap: (version, dataKey, aad) => of(version).wrap(version, dataKey, aad),
    unwrap: (version, wrapped, aad) => of(version).unwrap(version, wrapped, aad),
  };
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
  /** FRONTDESK_KEYS_FILE: a file holding the same list, read again when an unknown version is met. */
  keysFile?: string;
  /** Set when Frontdesk runs on a real PostgreSQL server: then keys must come from config. */
  databaseUrl?: string;
  /** Embedded data folder, where a local key is generated when none is configured. */
  dataDir: string;
  /** FRONTDESK_PKCS11_*: KEKs in a PKCS#11 token; then FRONTDESK_KEYS(_FILE), if set, decrypt-only. */
  pkcs11?: Pkcs11Config;
  /** FRONTDESK_ACTIVE_KEY_VERSION: with a token and local keys, which one wraps (rolling migration). */
  activeVersion?: string;
}

/**
 * Where the key-encryption keys come from: the seam for KMS/HSM adapters. `load()` runs at
 * start-up and again (throttled, one at a time) when a stored row names a key version the loaded
 * keys lack, so a key added to the source is picked up without a restart.
 */
export interface KeySource {
  /** Names the source in messages and logs; never key material. */
  readonly description: string;
  load(): KeyEncryptionKeys | Promise<KeyEncryptionKeys>;
}

function writeStderr(message: string) {
  process.stderr.write(message);
}

/** FRONTDESK_KEYS: fixed for the life of the process. */
export function envKeySource(text: string): KeySource {
  const keyring = createLocalKeyring(parseKeySpecs(text, "FRONTDESK_KEYS"));
  return { description: "FRONTDESK_KEYS", load: () => keyring };
}

/** A file holding a key list (owner-only, like the embedded key file); read on every load. */
export function fileKeySource(file: string): KeySource {
  const load = () => {
    try {
      return createLocalKeyring(parseKeySpecs(readPrivateFile(file), file));
    } catch (e) {
      if (e instanceof PrivateFileError) throw new KeySpecError(e.message);
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new KeySpecError(`key file ${file} does not exist`);
      throw e;
    }
  };
  return { description: `key file ${file}`, load };
}

/**
 * The key source configuration names. Fails closed: with DATABASE_URL set, FRONTDESK_KEYS or
 * FRONTDESK_KEYS_FILE is required; a malformed key always fails; nothing falls back to plaintext.
 */
export function configuredKeySource(config: KeyringConfig, warn: (message: string) => void = writeStderr): KeySource {
  const hasKeys = config.keys !== undefined && config.keys.trim() !== "";
  if (hasKeys && config.keysFile) throw new KeySpecError("set FRONTDESK_KEYS or FRONTDESK_KEYS_FILE, not both");
  const local = hasKeys ? envKeySource(config.keys!) : config.keysFile ? fileKeySource(path.resolve(config.keysFile)) : undefined;
  if (config.pkcs11) return mixedKeySource(pkcs11KeySource(config.pkcs11), local, config.activeVersion);
  if (config.activeVersion) throw new KeySpecError("FRONTDESK_ACTIVE_KEY_VERSION only applies with a PKCS#11 token and local keys together");
  if (local) return local;
  if (config.databaseUrl) {
    throw new KeySpecError(
      "FRONTDESK_KEYS is required when DATABASE_URL is set (or FRONTDESK_KEYS_FILE; refusing to store credentials without a key-encryption key); " +
        "generate one with: npm run frontdesk -- keys generate",
    );
  }
  const file = path.resolve(config.dataDir, EMBEDDED_KEY_FILE);
  return {
    description: `embedded key file ${file}`,
    load() {
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
    },
  };
}

/** The token's keys, and (during a migration) local keys that decrypt what was sealed before. */
function mixedKeySource(token: KeySource, local: KeySource | undefined, activeVersion: string | undefined): KeySource {
  if (!local) {
    if (activeVersion) throw new KeySpecError("FRONTDESK_ACTIVE_KEY_VERSION only applies with a PKCS#11 token and local keys together");
    return token;
  }
  return {
    description: `${token.description}, with ${local.description} decrypt-only`,
    async load() {
      const tokenKeys = await token.load();
      return combineKeyrings(tokenKeys, await local.load(), activeVersion ?? tokenKeys.activeVersion);
    },
  };
}

/** Loads the key-encryption keys from configuration (synchronous sources only). */
export function loadKeyring(config: KeyringConfig, warn: (message: string) => void = writeStderr): KeyEncryptionKeys {
  const keyring = configuredKeySource(config, warn).load();
  if (keyring instanceof Promise) throw new KeySpecError("this key source loads asynchronously; install it with useKeySource()");
  return keyring;
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

interface KeyringState {
  keyring: KeyEncryptionKeys;
  source: KeySource;
  reloading?: Promise<KeyEncryptionKeys>;
  /** When the source was last read again (0: not since it was installed). */
  lastReloadAt: number;
}

// Rows naming a version the source does not have (a key removed too early) must not turn every
// read into a source read: at most one reload per interval, shared by all waiting readers.
const MIN_RELOAD_INTERVAL_MS = 1_000;

// On globalThis so the dev server's copies of lib/ share one keyring (one load, one HSM session):
// `next dev` (Turbopack) gives instrumentation, route handlers and server actions each their own
// copy of lib/ and re-evaluates modules on edits; a production build has one copy per process
// (scripts/lib-modules.mjs), where this is a plain module variable in effect.
const holder = globalThis as typeof globalThis & { __frontdeskKeys?: KeyringState; __frontdeskKeysLoading?: Promise<KeyEncryptionKeys> };

/** The key source configuration, from the environment (lib/env.ts). */
export function keyringConfigFromEnv(e: Env = env()): KeyringConfig {
  const pkcs11: Pkcs11Config | undefined = e.FRONTDESK_PKCS11_MODULE
    ? {
        module: e.FRONTDESK_PKCS11_MODULE,
        tokenLabel: e.FRONTDESK_PKCS11_TOKEN_LABEL,
        slot: e.FRONTDESK_PKCS11_SLOT,
        pinFile: e.FRONTDESK_PKCS11_PIN_FILE ?? "",
        keyLabels: e.FRONTDESK_PKCS11_KEYS,
        sessions: e.FRONTDESK_PKCS11_SESSIONS,
      }
    : undefined;
  return {
    keys: e.FRONTDESK_KEYS,
    keysFile: e.FRONTDESK_KEYS_FILE,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.FRONTDESK_DATA_DIR,
    pkcs11,
    activeVersion: e.FRONTDESK_ACTIVE_KEY_VERSION,
  };
}

/**
 * The process keyring, loaded from configuration on first use if its source is synchronous.
 * Asynchronous sources (a token, a KMS) are loaded by ensureKeyring() at start-up; the sealing
 * code awaits ensureKeyring() and so works with either.
 */
export function getKeyring(): KeyEncryptionKeys {
  if (!holder.__frontdeskKeys) {
    const source = configuredKeySource(keyringConfigFromEnv());
    const keyring = source.load();
    if (keyring instanceof Promise) throw new KeySpecError(`${source.description} loads asynchronously; install it with useKeySource() at start-up`);
    holder.__frontdeskKeys = { keyring, source, lastReloadAt: 0 };
  }
  return holder.__frontdeskKeys.keyring;
}

/**
 * The process keyring, loading the configured source (any kind) on first use; concurrent first
 * callers share one load, and a failed load is tried again by the next caller.
 */
export function ensureKeyring(): Promise<KeyEncryptionKeys> {
  const state = holder.__frontdeskKeys;
  if (state) return Promise.resolve(state.keyring);
  holder.__frontdeskKeysLoading ??= (async () => {
    try {
      return await useKeySource(configuredKeySource(keyringConfigFromEnv()));
    } finally {
      holder.__frontdeskKeysLoading = undefined;
    }
  })();
  return holder.__frontdeskKeysLoading;
}

/** What the process keyring was loaded from (never key material), or "not loaded". */
export function loadedKeySourceDescription(): string {
  return holder.__frontdeskKeys?.source.description ?? "not loaded";
}

/** Whether the process has its keys loaded (readiness). Never loads them. */
export function isKeyringLoaded(): boolean {
  return holder.__frontdeskKeys !== undefined;
}

/** Installs a key source for this process (a KMS/HSM adapter at boot) and loads it. */
export async function useKeySource(source: KeySource): Promise<KeyEncryptionKeys> {
  const keyring = await source.load();
  holder.__frontdeskKeys = { keyring, source, lastReloadAt: 0 };
  return keyring;
}

/**
 * Installs a fixed keyring for this process (tests switching key sets); `undefined` makes the
 * next getKeyring() load from configuration again.
 */
export function setKeyring(keyring: KeyEncryptionKeys | undefined): void {
  holder.__frontdeskKeys = keyring ? { keyring, source: { description: "installed keyring", load: () => keyring }, lastReloadAt: 0 } : undefined;
}

/**
 * A keyring that has `version`: the given one if it has it; if it is the process keyring and
 * lacks it, the key source is read again (at most once per second, one read shared by all
 * callers) and the reloaded keyring, possibly with a new active version, becomes the process
 * keyring. A failed reload keeps the current keys (logged); the caller then reports the version
 * as unknown.
 */
export async function keyringWithVersion(keyring: KeyEncryptionKeys, version: string): Promise<KeyEncryptionKeys> {
  const state = holder.__frontdeskKeys;
  if (keyring.hasVersion(version) || !state || state.keyring !== keyring) return keyring;
  if (!state.reloading) {
    if (Date.now() - state.lastReloadAt < MIN_RELOAD_INTERVAL_MS) return keyring;
    state.reloading = (async () => {
      try {
        const next = await state.source.load();
        if (holder.__frontdeskKeys === state) state.keyring = next;
        log.info("key-encryption keys reloaded", { source: state.source.description, activeVersion: next.activeVersion, versions: next.versions });
        return next;
      } catch (e) {
        log.warn("key source could not be read again; keeping the loaded keys", {
          source: state.source.description,
          error: e instanceof Error ? e.message : String(e),
        });
        return state.keyring;
      } finally {
        state.lastReloadAt = Date.now();
        state.reloading = undefined;
      }
    })();
  }
  return state.reloading;
}
