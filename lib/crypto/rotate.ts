// Online key rotation: re-wraps every row's data key under the active key-encryption key.
// Field ciphertexts are never touched (the DEK stays the same), so readers keep decrypting
// throughout: a reader sees either the old wrapped key (the old KEK is still configured) or
// the new one. Each row is updated with a guard on its previous wrappedKey and keyVersion, so a
// concurrent writer always wins; its row is re-read and handled again. Re-running is cheap and
// safe (rows already on the active key are only counted), which makes an interrupted run
// resumable. Operational order (README "Key rotation"; `keys status` walks it): add the new key
// decrypt-only (`old,new`) on every instance, then promote it (`new,old`) on every instance, run
// this, then drop `old`.
import { getDb } from "@/lib/db/client";
import { log } from "@/lib/log";
import { unwrapDataKey, wrapDataKey, type SealedTable } from "./envelope";
import { ensureKeyring, type KeyEncryptionKeys } from "./keyring";
import { isSealedTable, sealedTables } from "./sealed-tables";

export interface RotationResult {
  /** Rows holding a wrapped data key that were looked at. */
  scanned: number;
  rewrapped: number;
  alreadyCurrent: number;
  /** Rows whose data key could not be unwrapped (unknown version or corrupt); logged by id. */
  failed: number;
}

export interface RotationProgress extends RotationResult {
  table: SealedTable;
}

export interface RotationOptions {
  batchSize?: number;
  /** Called after each batch (progress output; tests use it to interrupt a run). */
  onBatch?: (progress: RotationProgress) => void | Promise<void>;
}

interface KeyRow {
  id: string;
  wrappedKey: string | null;
  keyVersion: string | null;
}

type Db = Awaited<ReturnType<typeof getDb>>;

const DEFAULT_BATCH_SIZE = 200;
// A row lost to concurrent writers this many times in a row is left for the next run.
const MAX_ROW_ATTEMPTS = 5;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function quote(identifier: string): string {
  if (!IDENTIFIER.test(identifier)) throw new Error(`unexpected SQL identifier ${identifier}`);
  return `"${identifier}"`;
}

/** Registered tables that exist in this database; throws on an unregistered sealed table. */
async function findSealedTables(db: Db): Promise<SealedTable[]> {
  const rows = await db.$queryRawUnsafe<{ table_name: string; column_name: string }[]>(
    `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()`,
  );
  const columns = new Map<string, Set<string>>();
  for (const r of rows) {
    if (!columns.has(r.table_name)) columns.set(r.table_name, new Set());
    columns.get(r.table_name)!.add(r.column_name);
  }
  const found: SealedTable[] = [];
  for (const [table, cols] of columns) {
    if (!cols.has("wrappedKey") || !cols.has("keyVersion")) continue;
    if (!isSealedTable(table)) {
      throw new Error(
        `table ${table} holds wrapped data keys but is not registered in lib/crypto/sealed-tables.ts; ` +
          "refusing to rotate (its rows would not decrypt after the old key is removed)",
      );
    }
    if (!cols.has(sealedTables[table].idColumn)) {
      throw new Error(`table ${table} has no column ${sealedTables[table].idColumn} (registered id column)`);
    }
    found.push(table);
  }
  return found.sort();
}

/** Re-wraps every data key under the active KEK. Online, idempotent, resumable. */
export async function rotateDataKeys(opts: RotationOptions = {}): Promise<RotationResult> {
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 5000) {
    throw new Error("batchSize must be an integer between 1 and 5000");
  }
  const keyring = await ensureKeyring();
  const db = await getDb();
  const total: RotationResult = { scanned: 0, rewrapped: 0, alreadyCurrent: 0, failed: 0 };
  for (const table of await findSealedTables(db)) {
    const result = await rotateTable(db, keyring, table, batchSize, opts.onBatch);
    total.scanned += result.scanned;
    total.rewrapped += result.rewrapped;
    total.alreadyCurrent += result.alreadyCurrent;
    total.failed += result.failed;
  }
  return total;
}

async function rotateTable(
  db: Db,
  keyring: KeyEncryptionKeys,
  table: SealedTable,
  batchSize: number,
  onBatch: RotationOptions["onBatch"],
): Promise<RotationResult> {
  const t = quote(table);
  const idCol = quote(sealedTables[table].idColumn);
  const active = keyring.activeVersion;
  const counts: RotationResult = { scanned: 0, rewrapped: 0, alreadyCurrent: 0, failed: 0 };

  const [current] = await db.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM ${t} WHERE "wrappedKey" IS NOT NULL AND "keyVersion" = $1`,
    active,
  );
  counts.alreadyCurrent += current?.n ?? 0;
  counts.scanned += current?.n ?? 0;

  // Keyset pagination over the rows not yet on the active key: each batch starts after the last
  // id seen, so rows that fail (and stay on an old version) are not fetched again in this run.
  let cursor: string | null = null;
  for (;;) {
    const rows: KeyRow[] = await db.$queryRawUnsafe<KeyRow[]>(
      `SELECT ${idCol} AS id, "wrappedKey", "keyVersion" FROM ${t}
       WHERE "wrappedKey" IS NOT NULL AND "keyVersion" IS DISTINCT FROM $1 AND ($2::text IS NULL OR ${idCol} > $2::text)
       ORDER BY ${idCol} LIMIT $3::int`,
      active,
      cursor,
      batchSize,
    );
    if (rows.length === 0) break;
    cursor = rows[rows.length - 1]!.id;
    counts.scanned += rows.length;

    let pending = rows;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const rewraps = await rewrapRows(keyring, table, pending, counts);
      const updated = await applyRewraps(db, table, active, rewraps);
      counts.rewrapped += updated.size;
      const lost = rewraps.filter((r) => !updated.has(r.id));
      if (lost.length === 0) break;
      // A concurrent writer changed these rows between our read and our update: read them again.
      const again = await readRows(db, table, lost.map((r) => r.id));
      pending = [];
      for (const row of again) {
        if (row.wrappedKey !== null && row.keyVersion === active) counts.alreadyCurrent++;
        else if (row.wrappedKey !== null) pending.push(row);
        // Rows deleted or cleared meanwhile have nothing left to rotate.
      }
      if (attempt >= MAX_ROW_ATTEMPTS && pending.length > 0) {
        counts.failed += pending.length;
        log.warn("key rotation: rows kept changing under rotation; run it again", { table, ids: pending.map((r) => r.id) });
        break;
      }
    }
    await onBatch?.({ table, ...counts });
  }
  return counts;
}

interface Rewrap {
  id: string;
  oldWrappedKey: string;
  oldKeyVersion: string;
  newWrappedKey: string;
}

async function rewrapRows(keyring: KeyEncryptionKeys, table: SealedTable, rows: KeyRow[], counts: RotationResult): Promise<Rewrap[]> {
  const out: Rewrap[] = [];
  for (const row of rows) {
    if (row.wrappedKey === null || row.keyVersion === null) {
      counts.failed++;
      log.warn("key rotation: row has a wrapped key without a key version", { table, id: row.id });
      continue;
    }
    try {
      const ref = { wrappedKey: row.wrappedKey, keyVersion: row.keyVersion };
      const dataKey = await unwrapDataKey(keyring, table, row.id, ref, `${table} ${row.id}`);
      const next = await wrapDataKey(keyring, table, row.id, dataKey);
      dataKey.fill(0);
      out.push({ id: row.id, oldWrappedKey: row.wrappedKey, oldKeyVersion: row.keyVersion, newWrappedKey: next.wrappedKey });
    } catch (e) {
      counts.failed++;
      log.warn("key rotation: cannot re-wrap data key", { table, id: row.id, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}

/** One guarded UPDATE for the batch; returns the ids it changed. */
async function applyRewraps(db: Db, table: SealedTable, active: string, rewraps: Rewrap[]): Promise<Set<string>> {
  if (rewraps.length === 0) return new Set();
  const t = quote(table);
  const idCol = quote(sealedTables[table].idColumn);
  const params: string[] = [];
  const values = rewraps.map((r) => {
    params.push(r.id, r.oldWrappedKey, r.oldKeyVersion, r.newWrappedKey);
    const n = params.length;
    return `($${n - 3}::text, $${n - 2}::text, $${n - 1}::text, $${n}::text)`;
  });
  const activeParam = params.push(active);
  const rows = await db.$queryRawUnsafe<{ id: string }[]>(
    `UPDATE ${t} AS t SET "wrappedKey" = v.new_key, "keyVersion" = $${activeParam}::text
     FROM (VALUES ${values.join(", ")}) AS v(id, old_key, old_version, new_key)
     WHERE t.${idCol} = v.id AND t."wrappedKey" = v.old_key AND t."keyVersion" = v.old_version
     RETURNING t.${idCol} AS id`,
    ...params,
  );
  return new Set(rows.map((r) => r.id));
}

async function readRows(db: Db, table: SealedTable, ids: string[]): Promise<KeyRow[]> {
  const idCol = quote(sealedTables[table].idColumn);
  return db.$queryRawUnsafe<KeyRow[]>(
    `SELECT ${idCol} AS id, "wrappedKey", "keyVersion" FROM ${quote(table)} WHERE ${idCol} = ANY($1::text[])`,
    ids,
  );
}

/** How many stored data keys are wrapped under each key version, over every sealed table. */
export async function countDataKeysByVersion(): Promise<Record<string, number>> {
  const db = await getDb();
  const counts: Record<string, number> = {};
  for (const table of await findSealedTables(db)) {
    const rows = await db.$queryRawUnsafe<{ version: string | null; n: number }[]>(
      `SELECT "keyVersion" AS version, count(*)::int AS n FROM ${quote(table)} WHERE "wrappedKey" IS NOT NULL GROUP BY 1`,
    );
    for (const r of rows) counts[r.version ?? "(none)"] = (counts[r.version ?? "(none)"] ?? 0) + r.n;
  }
  return counts;
}
