// Header hygiene for the egress proxy. Toward the upstream: the caller's own credentials
// (Authorization, Cookie, Proxy-Authorization), hop-by-hop headers, headers the Connection header
// names, forwarding metadata and Frontdesk's own request headers are dropped; the one credential
// header Frontdesk adds is the only one that authenticates. Toward the caller: hop-by-hop headers
// and cookies the upstream sets are dropped (a session cookie minted for the user's upstream
// account must not land in a gateway), and so are Frontdesk-* headers (only Frontdesk sets those).
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
]);

const NEVER_UPSTREAM = new Set(["authorization", "cookie", "cookie2", "host", "expect", "forwarded", "x-real-ip"]);
const NEVER_DOWNSTREAM = new Set(["set-cookie", "set-cookie2", "alt-svc"]);

function connectionListed(get: (name: string) => string | null | undefined): Set<string> {
  const value = get("connection") ?? "";
  return new Set(
    value
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}

/** Request headers to send upstream (lower-case names), before the credential is added. */
export function upstreamRequestHeaders(incoming: Headers, credentialHeaderName: string): Record<string, string> {
  const listed = connectionListed((n) => incoming.get(n));
  const credential = credentialHeaderName.toLowerCase();
  const out: Record<string, string> = {};
  incoming.forEach((value, name) => {
    if (HOP_BY_HOP.has(name) || NEVER_UPSTREAM.has(name) || listed.has(name) || name === credential) return;
    if (name.startsWith("frontdesk-") || name.startsWith("x-forwarded-")) return;
    out[name] = value;
  });
  return out;
}

/** Response headers to pass back. */
export function downstreamResponseHeaders(incoming: Record<string, string | string[] | undefined>): Headers {
  const listed = connectionListed((n) => {
    const v = incoming[n];
    return Array.isArray(v) ? v.join(",") : v;
  });
  const out = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    // Frontdesk-* response headers are Frontdesk's to set (e.g. Frontdesk-Origin), never the upstream's.
    if (value === undefined || HOP_BY_HOP.has(name) || NEVER_DOWNSTREAM.has(name) || listed.has(name) || name.startsWith("frontdesk-")) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.append(name, v);
  }
  return out;
}
