// Identifiers. Ids that reach people or gateways carry a type prefix; ids that guard
// something (elicitations, state) carry 256 bits from the CSPRNG.
import { randomBytes } from "node:crypto";

export type IdPrefix = "usr" | "prv" | "gw" | "pol" | "grt" | "eli" | "evt" | "req" | "agt" | "rsk" | "apr" | "dlg";

export function newId(prefix: IdPrefix, bytes = 16): string {
  return `${prefix}_${randomBytes(bytes).toString("base64url")}`;
}

/** An opaque, unguessable token (256 bits), base64url. */
export function newSecretToken(): string {
  return randomBytes(32).toString("base64url");
}
