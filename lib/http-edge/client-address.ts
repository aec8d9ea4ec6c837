// The address a request comes from, decided once at the edge (server.ts) and handed to the
// handlers in one internal header. Any copy of that header a client sends is removed first, so
// handlers can believe it. X-Forwarded-For is believed only from FRONTDESK_TRUSTED_PROXIES
// (rightmost address that is not itself a trusted proxy); otherwise the socket address counts.
import type { IncomingMessage } from "node:http";
import { BlockList, isIP } from "node:net";
import { env } from "@/lib/env";
import type { HeaderReader } from "./raw-headers";

/** Set by server.ts on every request; absent when a handler is called some other way (tests, `next start`). */
export const CLIENT_ADDRESS_HEADER = "x-frontdesk-client-address";

let trusted: { spec: string; list: BlockList } | undefined;

/** The trusted proxies, or null when there are none (the common case: no address needs checking). */
function trustedProxies(): BlockList | null {
  const specs = env().FRONTDESK_TRUSTED_PROXIES;
  if (specs.length === 0) return null;
  const spec = specs.join(",");
  if (trusted?.spec === spec) return trusted.list;
  const list = new BlockList();
  for (const entry of specs) {
    const [address, prefix] = entry.split("/");
    const family = isIP(address ?? "") === 6 ? "ipv6" : "ipv4";
    if (!isIP(address ?? "")) throw new Error(`FRONTDESK_TRUSTED_PROXIES: ${entry} is not an IP address or CIDR range`);
    if (prefix === undefined) list.addAddress(address!, family);
    else list.addSubnet(address!, Number(prefix), family);
  }
  trusted = { spec, list };
  return list;
}

function normalize(address: string): string {
  const a = address.trim();
  return a.startsWith("::ffff:") && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? "ipv6" : "ipv4");
}

export function clientAddressOf(socketAddress: string | undefined, forwardedFor: string[]): string {
  let address = normalize(socketAddress ?? "unknown");
  const list = trustedProxies();
  // BlockList.check builds a SocketAddress per call (about 0.5% of a resolve's CPU).
  if (list === null || !isTrusted(list, address)) return address;
  const hops = forwardedFor.flatMap((v) => v.split(",")).map(normalize).filter(Boolean);
  while (hops.length > 0) {
    const hop = hops.pop()!;
    if (isIP(hop) === 0) break; // garbage from the client side of the chain: stop at the last good hop
    address = hop;
    if (!isTrusted(list, hop)) break;
  }
  return address;
}

/** Replaces any client-sent copy of the internal header with the decided address. */
export function stampClientAddress(req: IncomingMessage): void {
  const forwarded: string[] = [];
  const raw: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    if (name === CLIENT_ADDRESS_HEADER) continue;
    if (name === "x-forwarded-for") forwarded.push(req.rawHeaders[i + 1]!);
    raw.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  }
  const address = clientAddressOf(req.socket.remoteAddress, forwarded);
  raw.push(CLIENT_ADDRESS_HEADER, address);
  req.rawHeaders.splice(0, req.rawHeaders.length, ...raw);
  req.headers[CLIENT_ADDRESS_HEADER] = address;
}

/** The stamped address from a request's headers, "unknown" when it was not set by server.ts. */
export function clientAddress(headers: HeaderReader): string {
  return headers.get(CLIENT_ADDRESS_HEADER) ?? "unknown";
}

/**
 * The key under which a source is counted (rate limits, audit aggregation): the IPv4 address,
 * or the /64 of an IPv6 address (one host usually holds a whole /64 and can rotate within it).
 */
export function sourceKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const groups = expandIpv6(address);
  return groups ? `${groups.slice(0, 4).join(":")}::/64` : address;
}

function expandIpv6(address: string): string[] | null {
  const [head, tail] = address.split("::");
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  if (t.some((g) => g.includes(".")) || h.some((g) => g.includes("."))) return null;
  const missing = 8 - h.length - t.length;
  const groups = tail === undefined ? h : [...h, ...Array<string>(missing).fill("0"), ...t];
  return groups.length === 8 ? groups.map((g) => g.toLowerCase().replace(/^0+(?=.)/, "")) : null;
}
