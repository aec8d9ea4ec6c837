// The secret next-auth uses for its CSRF token and cookies. From AUTH_SECRET when set; with the
// embedded database (a local, single-machine install) a random one is generated once into
// `<data>/auth-secret` (mode 0600), like the local key file. On PostgreSQL in production every
// replica must share one secret, so it must come from configuration.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";
import { env, type Env } from "@/lib/env";
import { AppError } from "@/lib/errors";

export const AUTH_SECRET_FILE = "auth-secret";

let cached: string | undefined;

export function getAuthSecret(): string {
  cached ??= resolveAuthSecret(env());
  return cached;
}

export function resolveAuthSecret(e: Pick<Env, "AUTH_SECRET" | "DATABASE_URL" | "NODE_ENV" | "FRONTDESK_DATA_DIR">): string {
  if (e.AUTH_SECRET) return e.AUTH_SECRET;
  if (e.DATABASE_URL && e.NODE_ENV === "production") {
    throw new AppError("config_error", "AUTH_SECRET is required when DATABASE_URL is set in production (all replicas must share it)");
  }
  return readOrCreateSecretFile(path.resolve(e.FRONTDESK_DATA_DIR, AUTH_SECRET_FILE));
}

function readSecretFile(file: string): string {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) throw new AppError("config_error", `${file} is readable by other users; run: chmod 600 ${file}`);
  const value = readFileSync(file, "utf8").trim();
  if (value.length < 32) throw new AppError("config_error", `${file} does not hold a usable secret`);
  return value;
}

// Written under a private name, then link()ed into place: link fails if the file exists, so two
// processes starting at once agree on one secret and nobody reads a half-written file.
function readOrCreateSecretFile(file: string): string {
  try {
    return readSecretFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(temp, "wx", 0o600);
  try {
    writeSync(fd, `${randomBytes(32).toString("base64url")}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  } finally {
    unlinkSync(temp);
  }
  return readSecretFile(file);
}
