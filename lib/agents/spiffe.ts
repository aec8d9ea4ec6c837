// SPIFFE IDs (SPIFFE-ID spec section 2): spiffe://<trust domain>/<path>, trust domain of
// [a-z0-9.-_], path segments of [A-Za-z0-9.-_] that are neither empty nor "." / "..", no query,
// fragment, port or user info. A JWT-SVID's `sub` must be one; anything looser is refused so that
// a prefix rule ("spiffe://corp.example/ns/prod/") cannot be escaped with "..".
const SPIFFE_ID = /^spiffe:\/\/([a-z0-9._-]+)((?:\/[A-Za-z0-9._-]+)+)$/;

export function isSpiffeId(value: string): boolean {
  const m = SPIFFE_ID.exec(value);
  if (!m || value.length > 2048) return false;
  return m[2]!.split("/").slice(1).every((seg) => seg !== "." && seg !== "..");
}

/** The trust domain of a valid SPIFFE ID, else null. */
export function spiffeTrustDomain(value: string): string | null {
  if (!isSpiffeId(value)) return null;
  return SPIFFE_ID.exec(value)![1]!;
}
