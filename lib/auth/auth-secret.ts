// The secret next-auth uses for its CSRF token and cookies. From AUTH_SECRET when set; with the
// embedded database (a local, single-machine install) a random one is generated once into
// `<data>/auth-secret` (mode 0600), like the local key file. On PostgreSQL in production every
// replica must share one secret, so it must come from configuration.
import { randomBytes } from "node:crypto";
import path from "node:path";
import { env, type Env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { PrivateFileError, readOrCreatePrivateFile } from "@/lib/crypto/private-file";

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

function readOrCreateSecretFile(file: string): string {
  try {
    const { content } = readOrCreatePrivateFile(file, () => randomBytes(32).toString("base64url"));
    if (content.length < 32) throw new AppError("config_error", `${file} does not hold a usable secret`);
    return content;
  } catch (e) {
    if (e instanceof PrivateFileError) throw new AppError("config_error", e.message);
    throw e;
  }
}
