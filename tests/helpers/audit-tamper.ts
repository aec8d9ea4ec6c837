// Raw-SQL tampering with the audit table, the way someone with database access would do it,
// for the verifier's tests. "Forging" attackers know the hash algorithm and recompute hashes.
import type pg from "pg";
import { computeAuditHash, GENESIS_HASH } from "@/lib/audit/hash";
import type { Db } from "@/lib/db/client";

const T = `"AuditEvent"`;

export async function hashAt(sql: pg.Client, seq: number): Promise<string> {
  const r = await sql.query<{ hash: string }>(`SELECT hash FROM ${T} WHERE seq = $1`, [seq]);
  if (!r.rows[0]) throw new Error(`no event at seq ${seq}`);
  return r.rows[0].hash;
}

export async function updateEvent(sql: pg.Client, seq: number, set: string): Promise<void> {
  const r = await sql.query(`UPDATE ${T} SET ${set} WHERE seq = $1`, [seq]);
  if (r.rowCount !== 1) throw new Error(`no event at seq ${seq}`);
}

export async function deleteEvents(sql: pg.Client, from: number, to = from): Promise<void> {
  await sql.query(`DELETE FROM ${T} WHERE seq BETWEEN $1 AND $2`, [from, to]);
}

/** Adds `delta` to every seq >= from (two steps, so the primary key never collides mid-update). */
export async function shiftSeqs(sql: pg.Client, from: number, delta: number): Promise<void> {
  await sql.query("BEGIN");
  await sql.query(`UPDATE ${T} SET seq = -(seq + $2) WHERE seq >= $1`, [from, delta]);
  await sql.query(`UPDATE ${T} SET seq = -seq WHERE seq < 0`);
  await sql.query("COMMIT");
}

/** Swaps the positions of two events (every column but seq changes places). */
export async function swapEvents(sql: pg.Client, a: number, b: number): Promise<void> {
  await sql.query("BEGIN");
  await sql.query(`UPDATE ${T} SET seq = -1 WHERE seq = $1`, [a]);
  await sql.query(`UPDATE ${T} SET seq = $1 WHERE seq = $2`, [a, b]);
  await sql.query(`UPDATE ${T} SET seq = $1 WHERE seq = -1`, [b]);
  await sql.query("COMMIT");
}

/** Recomputes and stores one event's hash, as an attacker covering a modification would. */
export async function rehashEvent(db: Db, sql: pg.Client, seq: number): Promise<void> {
  const row = await db.auditEvent.findUniqueOrThrow({ where: { seq: BigInt(seq) } });
  await updateEvent(sql, seq, `hash = '${computeAuditHash(row)}'`);
}

/**
 * Inserts a fabricated "allow" event at `seq` linking to `prevHash` (default: the hash of
 * seq - 1). With `forgeHash` its own hash is computed correctly; otherwise it is garbage.
 */
export async function insertForgedEvent(
  sql: pg.Client,
  seq: number,
  opts: { prevHash?: string; forgeHash: boolean },
): Promise<void> {
  const prevHash = opts.prevHash ?? (seq === 1 ? GENESIS_HASH : await hashAt(sql, seq - 1));
  const fields = {
    seq: BigInt(seq),
    id: `evt_forged_${seq}`,
    at: new Date(),
    actorType: "gateway",
    actorId: "gw_evil",
    userId: "usr_victim",
    gatewayId: "gw_evil",
    providerId: "prv_bank",
    action: "resolve",
    decision: "allow",
    reason: null,
    context: {},
    requestId: null,
    prevHash,
  };
  const hash = opts.forgeHash ? computeAuditHash(fields) : "f".repeat(64);
  await sql.query(
    `INSERT INTO ${T} (seq, id, at, "actorType", "actorId", "userId", "gatewayId", "providerId", action, decision, context, "prevHash", hash)
     VALUES ($1, $2, $3::timestamp, $4, $5, $6, $7, $8, $9, $10::"Decision", '{}'::jsonb, $11, $12)`,
    [seq, fields.id, fields.at.toISOString(), fields.actorType, fields.actorId, fields.userId, fields.gatewayId,
      fields.providerId, fields.action, fields.decision, prevHash, hash],
  );
}
