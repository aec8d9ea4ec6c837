// Real SoftHSM2 tokens for the PKCS#11 key-source tests. SoftHSM reads SOFTHSM2_CONF and scans its
// token folder once, at the process's first C_Initialize: so a test file creates every token it
// needs first (createSoftHsm), in a temp folder of its own, before anything uses PKCS#11.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Pkcs11Config } from "@/lib/crypto/pkcs11-keys";

export const SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so";

export interface SoftHsmToken {
  label: string;
  pin: string;
  /** Owner-only file holding the PIN. */
  pinFile: string;
}

export interface SoftHsm {
  dir: string;
  /** The config file: SOFTHSM2_CONF for this process (set) and for child processes. */
  conf: string;
  tokens: Record<string, SoftHsmToken>;
  /** A file with another PIN than the token's (mode 0600). */
  wrongPinFile: string;
  /** Key-source config for a token, with the given key labels. */
  config(token: string, keyLabels: string[]): Pkcs11Config;
  /** The FRONTDESK_PKCS11_* variables (and SOFTHSM2_CONF) for a token. */
  env(token: string, keyLabels: string[]): Record<string, string>;
  cleanup(): void;
}

/** Initialises the named tokens in a fresh token folder and points this process at it. */
export function createSoftHsm(tokenLabels: string[]): SoftHsm {
  if (!existsSync(SOFTHSM_MODULE)) throw new Error(`SoftHSM2 is not installed (${SOFTHSM_MODULE}); .ci/run installs the Debian package softhsm2`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "frontdesk-softhsm-"));
  const tokenDir = path.join(dir, "tokens");
  mkdirSync(tokenDir);
  const conf = path.join(dir, "softhsm2.conf");
  writeFileSync(conf, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const pinFile = (name: string, pin: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, `${pin}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    return file;
  };
  const tokens: Record<string, SoftHsmToken> = {};
  for (const label of tokenLabels) {
    const pin = randomBytes(6).toString("hex");
    execFileSync("softhsm2-util", ["--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", randomBytes(6).toString("hex")], {
      env: { ...process.env, SOFTHSM2_CONF: conf },
      stdio: "pipe",
    });
    tokens[label] = { label, pin, pinFile: pinFile(`${label}.pin`, pin) };
  }
  process.env.SOFTHSM2_CONF = conf;
  const config = (token: string, keyLabels: string[]): Pkcs11Config => ({ module: SOFTHSM_MODULE, tokenLabel: token, pinFile: tokens[token]!.pinFile, keyLabels, sessions: 4 });
  return {
    dir,
    conf,
    tokens,
    wrongPinFile: pinFile("wrong.pin", "not-the-pin"),
    config,
    env: (token, keyLabels) => ({
      SOFTHSM2_CONF: conf,
      FRONTDESK_PKCS11_MODULE: SOFTHSM_MODULE,
      FRONTDESK_PKCS11_TOKEN_LABEL: token,
      FRONTDESK_PKCS11_PIN_FILE: tokens[token]!.pinFile,
      FRONTDESK_PKCS11_KEYS: keyLabels.join(","),
    }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
