// The registry of tables whose rows carry a wrapped data key (`wrappedKey`, `keyVersion`
// columns). Key rotation walks exactly these; it refuses to run if the database has another
// table with those columns, because rows it skipped would stop decrypting once the old key is
// removed from configuration. A new sealed model: add its name to SealedTable (envelope.ts)
// and one line here.
import type { SealedTable } from "./envelope";

export interface SealedTableInfo {
  /** Primary-key column: the record id bound into the AADs. */
  idColumn: string;
}

export const sealedTables: Record<SealedTable, SealedTableInfo> = {
  Grant: { idColumn: "id" },
  Provider: { idColumn: "id" },
  OAuthTransaction: { idColumn: "stateHash" },
  SigningKey: { idColumn: "id" },
  RequestStateKey: { idColumn: "id" },
};

export function isSealedTable(name: string): name is SealedTable {
  return Object.hasOwn(sealedTables, name);
}
