// Identifiers. Ids that reach people or gateways carry a type prefix; ids that guard
// something (elicitations, state) carry 256 bits from the CSPRNG.
//
// The bytes come from the CSPRNG in 4 KiB draws, each byte handed out once: one call into
// OpenSSL costs about as much for 16 bytes as for 4 KiB here (about 10 µs, measured in the
// bench's profile of elicitation creation, which takes four ids per request). Node's own
// crypto.randomUUID caches its entropy the same way.
import { randomBytes } from "node:crypto";

export type IdPrefix = "usr" | "prv" | "gw" | "pol" | "grt" | "eli" | "evt" | "req" | "agt" | "rsk" | "apr" | "dlg";

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

/** `n` fresh CSPRNG bytes (n <= 4096), never handed out before (the caller must not write to them). */
export function freshBytes(n: number): Buffer {
  if (offset + n > pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + n);
  offset += n;
  return bytes;
}

export function newId(prefix: IdPrefix, bytes = 16): string {
  return `${prefix}_${freshBytes(bytes).toString("base64url")}`;
}

/**
 * An id that starts with its creation time (milliseconds, 12 hex digits), then 80 random bits,
 * for rows of an append-only table such as AuditEvent. Its unique index then grows at one edge
 * like the primary key: a random id puts every insert on a random page of an index that grows
 * with the table (62 MB at 1,000,000 events), and after each checkpoint the first change to each
 * such page writes the whole 8 KB page to the WAL. Only for ids that guard nothing: the time is
 * readable and the random part is shorter than newId's.
 */
export function newTimeOrderedId(prefix: IdPrefix, now = Date.now()): string {
  return `${prefix}_${now.toString(16).padStart(12, "0")}${freshBytes(10).toString("base64url")}`;
}

/** An opaque, unguessable token (256 bits), base64url. */
export function newSecretToken(): string {
  return freshBytes(32).toString("base64url");
}
