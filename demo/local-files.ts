// Files the demo keeps in its data folder (<FRONTDESK_DATA_DIR>/demo), readable by the owner only:
// the Notes OAuth client secret (stable across restarts, because Frontdesk stores it sealed in the
// Notes provider row) and the demo users' identity tokens, rewritten at every start.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

export function demoDir(dataDir: string): string {
  const dir = path.resolve(dataDir, "demo");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export function readOrCreateSecret(dataDir: string, name: string): string {
  const file = path.join(demoDir(dataDir), name);
  try {
    const value = readFileSync(file, "utf8").trim();
    if (value.length >= 32) return value;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const value = randomBytes(32).toString("base64url");
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

/** Writes a user's token for the demo MCP client; returns the file path. */
export function writeUserToken(dataDir: string, user: string, token: string): string {
  const file = path.join(demoDir(dataDir), `${user}.jwt`);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}
