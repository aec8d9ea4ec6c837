// The chain's hash function. Every stored field of an event, including its seq, id and time,
// goes into its hash together with the previous event's hash, so changing, removing,
// inserting or moving a row breaks the chain at that row. The serialization is canonical
// (fixed field order, object keys sorted) so that a context read back from jsonb, which
// reorders keys, hashes exactly as it did when written.
import { createHash } from "node:crypto";

/** prevHash of the first event (seq 1). */
export const GENESIS_HASH = "0".repeat(64);

/** Bumped if the serialization ever changes; part of every hash. */
const FORMAT = "frontdesk.audit.v1";

export interface HashableEvent {
  seq: bigint;
  id: string;
  at: Date;
  actorType: string;
  actorId: string | null;
  userId: string | null;
  gatewayId: string | null;
  /** Added with agents (issue 11); optional so callers hashing pre-agent rows need not name it. */
  agentId?: string | null;
  providerId: string | null;
  action: string;
  decision: string;
  reason: string | null;
  context: unknown;
  requestId: string | null;
  prevHash: string;
}

/** JSON with object keys sorted recursively; stable across jsonb round trips. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
  }
  if (typeof value === "bigint") return JSON.stringify(value.toString());
  return JSON.stringify(value) ?? "null";
}

/**
 * hash = sha256(prevHash || canonical serialization of every stored field), hex. `agentId` joins
 * the serialization only when set: every row written before the column existed (agentId null)
 * hashes exactly as it did, so old chains still verify, while setting or clearing the agent of
 * any row changes its hash.
 */
export function computeAuditHash(e: HashableEvent): string {
  return chainedHash(e.prevHash, e.seq, e.id, e.at, serializedFields(e));
}

/**
 * The serialization of the fields that do not depend on the event's place in the chain (all but
 * seq, time and prevHash), without its brackets. Computed when an event is prepared, so that the
 * writer, holding the chain lock, only places and hashes it (chainedHash).
 */
export function serializedFields(e: Omit<HashableEvent, "seq" | "id" | "at" | "prevHash">): string {
  const fields: unknown[] = [e.actorType, e.actorId, e.userId, e.gatewayId, e.providerId, e.action, e.decision, e.reason, e.context ?? {}, e.requestId];
  if (e.agentId !== null && e.agentId !== undefined) fields.push(["agentId", e.agentId]);
  return fields.map(canonicalJson).join(",");
}

/** The hash of an event placed at `seq` and `at` after `prevHash`, from its serializedFields. */
export function chainedHash(prevHash: string, seq: bigint, id: string, at: Date, fields: string): string {
  const body = `[${JSON.stringify(FORMAT)},${JSON.stringify(seq.toString())},${JSON.stringify(id)},${JSON.stringify(at.toISOString())},${fields}]`;
  return createHash("sha256").update(prevHash).update("\n").update(body).digest("hex");
}
