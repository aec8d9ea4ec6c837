// Local secrets kept in the data folder (the embedded default's key-encryption key and auth
// secret): owner-only files, created atomically so that processes starting at once agree on one
// value and nobody ever reads a half-written file.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";

export class PrivateFileError extends Error {
  override name = "PrivateFileError";
}

/** Reads a private file, refusing one that other users can access (like ssh with private keys). */
export function readPrivateFile(file: string): string {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new PrivateFileError(`${file} is accessible by other users (mode ${mode.toString(8)}); run: chmod 600 ${file}`);
  }
  return readFileSync(file, "utf8").trim();
}

/** Reads the file, or creates it (mode 0600) with `create()`'s content if it does not exist. */
export function readOrCreatePrivateFile(file: string, create: () => string): { content: string; created: boolean } {
  try {
    return { content: readPrivateFile(file), created: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Write a complete file under a private name, then link() it into place: link fails if the
  // target exists (unlike rename), so a concurrent starter's value is never overwritten.
  const temp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(temp, "wx", 0o600);
  try {
    writeSync(fd, `${create()}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file);
    return { content: readPrivateFile(file), created: true };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    return { content: readPrivateFile(file), created: false };
  } finally {
    unlinkSync(temp);
  }
}
