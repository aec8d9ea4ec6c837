// Key-encryption keys held in a PKCS#11 token (an HSM; SoftHSM2 in tests). Each KEK is an AES-256
// secret key object inside the token, non-extractable and sensitive: its bytes never reach this
// process. Data keys are wrapped and unwrapped by the token with CKM_AES_GCM, the AAD being the
// same binding the local keys use (lib/crypto/envelope.ts dataKeyAad: table, row id, KEK version).
// The stored layout is the local keyring's (format 1 | IV | tag | ciphertext), so the envelope,
// rotation and `keys status` code does not know which kind of key wrapped a row.
//
// Key versions are the keys' CKA_LABELs; FRONTDESK_PKCS11_KEYS lists them, first active.
//
// Start-up fails closed (KeySpecError, exit 1): module not loadable, no such token, wrong PIN, a
// listed key missing, ambiguous, extractable, not sensitive, not AES-256, or unable to do an
// AES-GCM round trip. Messages name the module, token, file and key label; never the PIN.
// At run time, an error of the token itself (device, session, login) is a KeyStoreUnavailableError
// (503 + Retry-After to the caller); the connection is rebuilt (sessions, login, key handles) and
// the operation tried once more before giving up.
import { randomBytes } from "node:crypto";
import type * as Pkcs11Module from "pkcs11js";
import { KeySpecError } from "./key-spec";
import type { KeyEncryptionKeys, KeySource } from "./keyring";
import { KeyStoreUnavailableError } from "./key-store-unavailable";
import { PrivateFileError, readPrivateFile } from "./private-file";

type Pkcs11Js = typeof Pkcs11Module;
type Handle = Buffer;

export interface Pkcs11Config {
  /** Path of the vendor's PKCS#11 library (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so). */
  module: string;
  /** The token, by its label (preferred: slot ids can change when tokens are added)... */
  tokenLabel?: string;
  /** ...or by slot id, as `softhsm2-util --show-slots` / `pkcs11-tool -L` list it. */
  slot?: number;
  /** File holding the user PIN (owner-only, like the key file), read at every (re)connect. */
  pinFile: string;
  /** Labels of the AES keys that are KEKs, first active; the labels are the stored key versions. */
  keyLabels: readonly string[];
  /** Sessions opened for concurrent wraps/unwraps (one operation per session at a time). */
  sessions?: number;
}

const WRAP_FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEK_BYTES = 32;
const DEFAULT_SESSIONS = 4;

// Errors that say the token, session or login is gone rather than that the data is wrong.
const UNAVAILABLE_CODES = new Set([
  "CKR_DEVICE_ERROR",
  "CKR_DEVICE_MEMORY",
  "CKR_DEVICE_REMOVED",
  "CKR_TOKEN_NOT_PRESENT",
  "CKR_TOKEN_NOT_RECOGNIZED",
  "CKR_SESSION_HANDLE_INVALID",
  "CKR_SESSION_CLOSED",
  "CKR_SESSION_COUNT",
  "CKR_USER_NOT_LOGGED_IN",
  "CKR_KEY_HANDLE_INVALID",
  "CKR_OBJECT_HANDLE_INVALID",
  "CKR_CRYPTOKI_NOT_INITIALIZED",
  "CKR_FUNCTION_FAILED",
]);

function errorCode(e: unknown): string {
  return e instanceof Error && /^CKR_[A-Z0-9_]+$/.test(e.message) ? e.message : e instanceof Error ? e.name : "error";
}

// One library instance per module path per process: C_Initialize may run only once, and the dev
// server's copies of lib/ must share it (a production build has one copy per process).
const holder = globalThis as typeof globalThis & { __frontdeskPkcs11?: Map<string, Pkcs11Module.PKCS11> };

async function loadBinding(): Promise<Pkcs11Js> {
  try {
    const mod = (await import("pkcs11js")) as Pkcs11Js & { default?: Pkcs11Js };
    return mod.default ?? mod;
  } catch {
    throw new KeySpecError("the PKCS#11 binding (npm package pkcs11js) is not installed or did not build; run npm install with a C++ compiler present");
  }
}

async function openLibrary(modulePath: string): Promise<{ js: Pkcs11Js; lib: Pkcs11Module.PKCS11 }> {
  const js = await loadBinding();
  holder.__frontdeskPkcs11 ??= new Map();
  let lib = holder.__frontdeskPkcs11.get(modulePath);
  if (!lib) {
    const fresh = new js.PKCS11();
    try {
      fresh.load(modulePath);
    } catch (e) {
      throw new KeySpecError(`cannot load the PKCS#11 module ${modulePath} (${errorCode(e)})`);
    }
    try {
      // Async calls run on libuv's threads: the library must lock for itself.
      fresh.C_Initialize({ flags: js.CKF_OS_LOCKING_OK });
    } catch (e) {
      if (errorCode(e) !== "CKR_CRYPTOKI_ALREADY_INITIALIZED") throw new KeySpecError(`the PKCS#11 module ${modulePath} failed to initialise (${errorCode(e)})`);
    }
    holder.__frontdeskPkcs11.set(modulePath, fresh);
    lib = fresh;
  }
  return { js, lib };
}

function handleNumber(handle: Handle): number {
  return handle.length >= 8 ? Number(handle.readBigUInt64LE(0)) : handle.readUInt32LE(0);
}

function describeToken(config: Pkcs11Config): string {
  return config.tokenLabel !== undefined ? `token "${config.tokenLabel}"` : `slot ${config.slot}`;
}

function findSlot(js: Pkcs11Js, lib: Pkcs11Module.PKCS11, config: Pkcs11Config): Handle {
  const slots = lib.C_GetSlotList(true);
  const matches = slots.filter((slot) => {
    if (config.slot !== undefined) return handleNumber(slot) === config.slot;
    const info = lib.C_GetTokenInfo(slot);
    return (info.flags & js.CKF_TOKEN_INITIALIZED) !== 0 && info.label.trim() === config.tokenLabel;
  });
  if (matches.length === 0) throw new KeySpecError(`no ${describeToken(config)} is present in PKCS#11 module ${config.module}`);
  if (matches.length > 1) throw new KeySpecError(`more than one ${describeToken(config)} in PKCS#11 module ${config.module}; give FRONTDESK_PKCS11_SLOT instead`);
  return matches[0]!;
}

function readPin(file: string): string {
  try {
    const pin = readPrivateFile(file);
    if (pin === "") throw new KeySpecError(`PIN file ${file} is empty`);
    return pin;
  } catch (e) {
    if (e instanceof KeySpecError) throw e;
    if (e instanceof PrivateFileError) throw new KeySpecError(e.message);
    throw new KeySpecError(`cannot read PIN file ${file} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/** A logged-in connection to one token: a slot, a login and a small pool of sessions. */
export class TokenConnection {
  private idle: Handle[] = [];
  private waiters: ((session: Handle) => void)[] = [];
  private readonly sessions = new Set<Handle>();

  private constructor(
    readonly js: Pkcs11Js,
    readonly lib: Pkcs11Module.PKCS11,
    readonly slot: Handle,
    private readonly maxSessions: number,
  ) {}

  /** Finds the token and logs in; throws KeySpecError with a clear reason. */
  static async connect(config: Pkcs11Config): Promise<TokenConnection> {
    const { js, lib } = await openLibrary(config.module);
    const slot = findSlot(js, lib, config);
    const pin = readPin(config.pinFile);
    const conn = new TokenConnection(js, lib, slot, config.sessions ?? DEFAULT_SESSIONS);
    const session = conn.newSession();
    try {
      lib.C_Login(session, js.CKU_USER, pin);
    } catch (e) {
      const code = errorCode(e);
      if (code !== "CKR_USER_ALREADY_LOGGED_IN") {
        lib.C_CloseSession(session);
        const why =
          code === "CKR_PIN_INCORRECT" ? `the PIN in ${config.pinFile} is wrong`
          : code === "CKR_PIN_LOCKED" ? "the user PIN is locked (too many wrong PINs); the token's security officer must reset it"
          : `login failed`;
        throw new KeySpecError(`cannot log in to ${describeToken(config)} of ${config.module}: ${why} (${code})`);
      }
    }
    conn.idle.push(session);
    return conn;
  }

  private newSession(): Handle {
    const session = this.lib.C_OpenSession(this.slot, this.js.CKF_SERIAL_SESSION | this.js.CKF_RW_SESSION);
    this.sessions.add(session);
    return session;
  }

  /** Runs `work` on a session of its own (a PKCS#11 session holds one operation at a time). */
  async withSession<T>(work: (session: Handle) => Promise<T> | T): Promise<T> {
    const session = await this.acquire();
    try {
      return await work(session);
    } finally {
      this.release(session);
    }
  }

  private acquire(): Promise<Handle> {
    const session = this.idle.pop();
    if (session) return Promise.resolve(session);
    if (this.sessions.size < this.maxSessions) return Promise.resolve(this.newSession());
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(session: Handle): void {
    const next = this.waiters.shift();
    if (next) next(session);
    else this.idle.push(session);
  }

  /**
   * Closes this connection's sessions (only its own: C_CloseAllSessions would close those of
   * another connection to the token in this process too). The login ends with the last session.
   */
  close(): void {
    for (const session of this.sessions) {
      try {
        this.lib.C_CloseSession(session);
      } catch {
        // Already gone with the token.
      }
    }
    this.sessions.clear();
    this.idle = [];
  }

  /** The secret key objects labelled `label` (token objects only). */
  findKeys(session: Handle, label: string): Handle[] {
    const { js, lib } = this;
    lib.C_FindObjectsInit(session, [
      { type: js.CKA_CLASS, value: js.CKO_SECRET_KEY },
      { type: js.CKA_TOKEN, value: true },
      { type: js.CKA_LABEL, value: label },
    ]);
    try {
      return lib.C_FindObjects(session, 8);
    } finally {
      lib.C_FindObjectsFinal(session);
    }
  }
}

export interface Pkcs11KeyAttributes {
  keyType: "AES" | "other";
  valueLength: number;
  extractable: boolean;
  sensitive: boolean;
  neverExtractable: boolean;
  encrypt: boolean;
  decrypt: boolean;
}

/** The attributes that make a key fit to be a KEK, read from the token. */
export function readKeyAttributes(conn: TokenConnection, session: Handle, key: Handle): Pkcs11KeyAttributes {
  const { js, lib } = conn;
  const [type, len, extractable, sensitive, never, encrypt, decrypt] = lib
    .C_GetAttributeValue(session, key, [
      { type: js.CKA_KEY_TYPE },
      { type: js.CKA_VALUE_LEN },
      { type: js.CKA_EXTRACTABLE },
      { type: js.CKA_SENSITIVE },
      { type: js.CKA_NEVER_EXTRACTABLE },
      { type: js.CKA_ENCRYPT },
      { type: js.CKA_DECRYPT },
    ])
    .map((a) => a.value as Buffer);
  const bool = (b: Buffer | undefined) => b !== undefined && b.length > 0 && b[0] !== 0;
  const num = (b: Buffer | undefined) => (b === undefined || b.length === 0 ? 0 : b.length >= 8 ? Number(b.readBigUInt64LE(0)) : b.readUInt32LE(0));
  return {
    keyType: num(type) === js.CKK_AES ? "AES" : "other",
    valueLength: num(len),
    extractable: bool(extractable),
    sensitive: bool(sensitive),
    neverExtractable: bool(never),
    encrypt: bool(encrypt),
    decrypt: bool(decrypt),
  };
}

/** Why a key may not be a KEK, or undefined when it fits. */
function unfitReason(a: Pkcs11KeyAttributes): string | undefined {
  if (a.keyType !== "AES" || a.valueLength !== KEK_BYTES) return "is not an AES-256 key";
  if (a.extractable) return "is extractable (CKA_EXTRACTABLE true); a KEK must never leave the token";
  if (!a.sensitive) return "is not sensitive (CKA_SENSITIVE false)";
  if (!a.encrypt || !a.decrypt) return "may not encrypt and decrypt (CKA_ENCRYPT / CKA_DECRYPT)";
  return undefined;
}

function gcm(js: Pkcs11Js, iv: Buffer, aad: Buffer): Pkcs11Module.Mechanism {
  const parameter: Pkcs11Module.GcmParams = { type: js.CK_PARAMS_AES_GCM, iv, ivBits: IV_BYTES * 8, aad, tagBits: TAG_BYTES * 8 };
  return { mechanism: js.CKM_AES_GCM, parameter };
}

async function encrypt(conn: TokenConnection, session: Handle, key: Handle, iv: Buffer, aad: Buffer, data: Buffer): Promise<Buffer> {
  conn.lib.C_EncryptInit(session, gcm(conn.js, iv, aad), key);
  // PKCS#11 GCM output is ciphertext || tag.
  return conn.lib.C_EncryptAsync(session, data, Buffer.alloc(data.length + TAG_BYTES));
}

async function decrypt(conn: TokenConnection, session: Handle, key: Handle, iv: Buffer, aad: Buffer, data: Buffer): Promise<Buffer> {
  conn.lib.C_DecryptInit(session, gcm(conn.js, iv, aad), key);
  return conn.lib.C_DecryptAsync(session, data, Buffer.alloc(data.length));
}

interface Connected {
  conn: TokenConnection;
  keys: Map<string, Handle>;
}

/**
 * Connects (or reuses `live`), finds every listed key, checks its attributes and does one AES-GCM
 * round trip with it.
 */
async function connectAndCheck(config: Pkcs11Config, live?: TokenConnection): Promise<Connected> {
  const conn = live ?? (await TokenConnection.connect(config));
  try {
    const keys = new Map<string, Handle>();
    await conn.withSession(async (session) => {
      for (const label of config.keyLabels) {
        const found = conn.findKeys(session, label);
        const where = `key "${label}" in ${describeToken(config)}`;
        if (found.length === 0) throw new KeySpecError(`${where} does not exist (create it with: npm run frontdesk -- keys hsm create --label ${label})`);
        if (found.length > 1) throw new KeySpecError(`${where} is ambiguous: ${found.length} secret keys have that label`);
        const key = found[0]!;
        const reason = unfitReason(readKeyAttributes(conn, session, key));
        if (reason) throw new KeySpecError(`${where} ${reason}`);
        const probe = randomBytes(KEK_BYTES);
        const iv = randomBytes(IV_BYTES);
        const aad = Buffer.from("frontdesk/kek-self-test");
        try {
          const back = await decrypt(conn, session, key, iv, aad, await encrypt(conn, session, key, iv, aad, probe));
          if (!back.equals(probe)) throw new Error("mismatch");
        } catch (e) {
          throw new KeySpecError(`${where} cannot do an AES-GCM round trip (${errorCode(e)})`);
        }
        keys.set(label, key);
      }
    });
    return { conn, keys };
  } catch (e) {
    if (!live) conn.close();
    throw e;
  }
}

/**
 * A key source over a PKCS#11 token. `load()` connects (or reuses the live connection), checks
 * every listed key and returns a keyring whose wrap/unwrap run inside the token.
 */
export function pkcs11KeySource(config: Pkcs11Config): KeySource {
  if (config.keyLabels.length === 0) {
    throw new KeySpecError("FRONTDESK_PKCS11_KEYS names no key (create one with: npm run frontdesk -- keys hsm create)");
  }
  if (new Set(config.keyLabels).size !== config.keyLabels.length) throw new KeySpecError("FRONTDESK_PKCS11_KEYS repeats a key label");
  const description = `PKCS#11 ${describeToken(config)} (${config.module})`;
  let current: Promise<Connected> | undefined;
  // A failed operation rebuilds the connection once; concurrent failures share one rebuild.
  const reconnect = (broken: Connected) => {
    if (current === undefined) return (current = connectAndCheck(config));
    return current.then((live) => {
      if (live !== broken) return live;
      broken.conn.close();
      current = connectAndCheck(config);
      return current;
    });
  };

  async function run<T>(version: string, op: (c: Connected, session: Handle, key: Handle) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let connected: Connected;
      try {
        connected = await (current ??= connectAndCheck(config));
      } catch {
        current = undefined;
        throw new KeyStoreUnavailableError();
      }
      const key = connected.keys.get(version);
      if (!key) throw new KeySpecError(`key version ${version} unknown`);
      try {
        return await connected.conn.withSession((session) => op(connected, session, key));
      } catch (e) {
        if (!UNAVAILABLE_CODES.has(errorCode(e))) throw e;
        if (attempt >= 2) throw new KeyStoreUnavailableError();
        await reconnect(connected).catch(() => {
          current = undefined;
        });
      }
    }
  }

  const keyring: KeyEncryptionKeys = {
    activeVersion: config.keyLabels[0]!,
    versions: [...config.keyLabels],
    hasVersion: (version) => config.keyLabels.includes(version),
    async wrap(version, dataKey, aad) {
      const iv = randomBytes(IV_BYTES);
      const out = await run(version, ({ conn }, session, key) => encrypt(conn, session, key, iv, aad, dataKey));
      const body = out.subarray(0, out.length - TAG_BYTES);
      return Buffer.concat([Buffer.of(WRAP_FORMAT), iv, out.subarray(out.length - TAG_BYTES), body]);
    },
    async unwrap(version, wrapped, aad) {
      if (wrapped.length <= 1 + IV_BYTES + TAG_BYTES || wrapped[0] !== WRAP_FORMAT) throw new Error("wrapped key has an unknown format");
      const iv = wrapped.subarray(1, 1 + IV_BYTES);
      const tag = wrapped.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
      const body = wrapped.subarray(1 + IV_BYTES + TAG_BYTES);
      return run(version, ({ conn }, session, key) => decrypt(conn, session, key, Buffer.from(iv), aad, Buffer.concat([body, tag])));
    },
  };

  return {
    description,
    async load() {
      // Start-up and re-reads check the token and every key afresh, so a bad token fails here
      // rather than at first use; a re-read reuses the live connection.
      const live = await current?.catch(() => undefined);
      current = connectAndCheck(config, live?.conn).catch((e: unknown) => {
        if (!live) throw e;
        // The live connection may be what broke: check once more over a fresh one.
        live.conn.close();
        return connectAndCheck(config);
      });
      try {
        await current;
      } catch (e) {
        current = undefined;
        throw e;
      }
      return keyring;
    },
  };
}

/** Generates a new KEK in the token: AES-256, non-extractable, sensitive, a token object. */
export async function createTokenKey(config: Omit<Pkcs11Config, "keyLabels">, label: string): Promise<Pkcs11KeyAttributes> {
  const conn = await TokenConnection.connect({ ...config, keyLabels: [] });
  try {
    return await conn.withSession((session) => {
      const { js, lib } = conn;
      if (conn.findKeys(session, label).length > 0) throw new KeySpecError(`a key labelled "${label}" already exists in ${describeToken({ ...config, keyLabels: [] })}`);
      const key = lib.C_GenerateKey(session, { mechanism: js.CKM_AES_KEY_GEN }, [
        { type: js.CKA_CLASS, value: js.CKO_SECRET_KEY },
        { type: js.CKA_KEY_TYPE, value: js.CKK_AES },
        { type: js.CKA_VALUE_LEN, value: KEK_BYTES },
        { type: js.CKA_LABEL, value: label },
        { type: js.CKA_TOKEN, value: true },
        { type: js.CKA_PRIVATE, value: true },
        { type: js.CKA_SENSITIVE, value: true },
        { type: js.CKA_EXTRACTABLE, value: false },
        { type: js.CKA_MODIFIABLE, value: false },
        { type: js.CKA_ENCRYPT, value: true },
        { type: js.CKA_DECRYPT, value: true },
        { type: js.CKA_WRAP, value: false },
        { type: js.CKA_UNWRAP, value: false },
      ]);
      return readKeyAttributes(conn, session, key);
    });
  } finally {
    conn.close();
  }
}
