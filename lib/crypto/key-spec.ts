// Parsing of key-encryption-key lists (`version:base64(32 bytes)`, comma separated, first is
// active). Pure and dependency-free so lib/env.ts can validate FRONTDESK_KEYS at boot with the
// same rules lib/crypto uses. Messages say what is wrong with which entry, never the key itself.
import { randomBytes } from "node:crypto";

export const KEK_BYTES = 32;
export const KEY_VERSION_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const VERSION_PATTERN = KEY_VERSION_PATTERN;
// Standard or URL-safe base64, padding optional; Buffer.from() silently skips bad characters,
// so the alphabet is checked first.
const BASE64_PATTERN = /^[A-Za-z0-9+/_-]+={0,2}$/;

export interface KeySpec {
  version: string;
  key: Buffer;
}

export class KeySpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeySpecError";
  }
}

/**
 * Parses a key list. Throws KeySpecError naming `source` (the variable or file) and the entry
 * position, never the key bytes or the raw text.
 */
export function parseKeySpecs(text: string, source = "FRONTDESK_KEYS"): KeySpec[] {
  const entries = text.split(",").map((s) => s.trim());
  if (entries.length === 1 && entries[0] === "") {
    throw new KeySpecError(`${source} is empty; expected version:base64key (generate one with: npm run frontdesk -- keys generate)`);
  }
  const seen = new Set<string>();
  return entries.map((entry, i) => {
    const where = `${source} entry ${i + 1}`;
    if (entry === "") throw new KeySpecError(`${where} is empty (stray comma?)`);
    const colon = entry.indexOf(":");
    if (colon < 0) throw new KeySpecError(`${where} must look like version:base64key`);
    const version = entry.slice(0, colon);
    const encoded = entry.slice(colon + 1).trim();
    if (!VERSION_PATTERN.test(version)) {
      throw new KeySpecError(`${where} has an invalid version label (allowed: 1-32 of A-Z a-z 0-9 _ -)`);
    }
    if (seen.has(version)) throw new KeySpecError(`${where} repeats key version "${version}"; versions must be unique`);
    seen.add(version);
    if (!BASE64_PATTERN.test(encoded) || encoded.replace(/=+$/, "").length % 4 === 1) {
      throw new KeySpecError(`${where} (version "${version}") is not valid base64`);
    }
    const key = Buffer.from(encoded, encoded.includes("-") || encoded.includes("_") ? "base64url" : "base64");
    if (key.length !== KEK_BYTES) {
      throw new KeySpecError(`${where} (version "${version}") decodes to ${key.length} bytes; a key must be exactly ${KEK_BYTES} bytes`);
    }
    return { version, key };
  });
}

/** A new random key line, ready to paste in front of the existing FRONTDESK_KEYS entries. */
export function generateKeySpec(version: string): string {
  if (!VERSION_PATTERN.test(version)) throw new KeySpecError(`invalid key version label "${version}"`);
  return `${version}:${randomBytes(KEK_BYTES).toString("base64")}`;
}

/** The next free `vN` label after the given versions (v1 when there are none). */
export function nextKeyVersion(existing: readonly string[]): string {
  const numbers = existing.map((v) => /^v(\d+)$/.exec(v)?.[1]).filter((n): n is string => n !== undefined).map(Number);
  return `v${numbers.length ? Math.max(...numbers) + 1 : 1}`;
}
