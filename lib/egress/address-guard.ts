// The SSRF guard's network half: resolve an upstream host once, refuse private, loopback,
// link-local and otherwise special addresses (unless the provider is explicitly configured to
// reach them), and hand back the one address the connection will use. The caller connects to
// that address (with the hostname kept for TLS SNI, certificate checks and Host), so an answer
// that changes between this check and the connect (DNS rebinding) is never consulted: there is
// no second lookup.
import { BlockList, isIP } from "node:net";
import { lookup } from "node:dns/promises";
import { Resolver } from "node:dns/promises";
import { AppError } from "@/lib/errors";

const blocked = new BlockList();
// IPv4: "this network", private (RFC 1918), carrier-grade NAT, loopback, link-local (cloud
// metadata lives at 169.254.169.254), IETF protocol assignments, documentation, benchmarking,
// multicast, reserved and broadcast.
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  blocked.addSubnet(net, prefix, "ipv4");
}
// IPv6: unspecified, loopback, discard, documentation, unique local, link-local, site-local
// (deprecated), multicast. IPv4-mapped, NAT64 and 6to4 addresses are checked by the IPv4 they carry.
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["ff00::", 8],
] as const) {
  blocked.addSubnet(net, prefix, "ipv6");
}

function embeddedIpv4(address: string): string | null {
  const lower = address.toLowerCase();
  // ::ffff:a.b.c.d or ::ffff:XXXX:XXXX (mapped), 64:ff9b::/96 (NAT64), ::a.b.c.d (compatible, deprecated)
  const dotted = /^(?:::ffff:|64:ff9b::|::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1]!;
  const hex = /^(?:::ffff:|64:ff9b::|::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  // 6to4: 2002:AABB:CCDD::/48 carries AA.BB.CC.DD
  const sixToFour = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4})(?::|$)/.exec(lower);
  if (sixToFour) {
    const hi = parseInt(sixToFour[1]!, 16);
    const lo = parseInt(sixToFour[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return null;
}

/** Whether an IP address is one the proxy refuses by default (private, loopback, link-local, special). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, "ipv4");
  if (family === 6) {
    const v4 = embeddedIpv4(address);
    if (v4 !== null) return blocked.check(v4, "ipv4");
    return blocked.check(address, "ipv6");
  }
  // Not an IP literal: refuse rather than guess.
  return true;
}

export interface PinnedAddress {
  address: string;
  family: 4 | 6;
}

export type HostResolver = (hostname: string) => Promise<PinnedAddress[]>;

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), every address it returns. */
export const systemResolver: HostResolver = async (hostname) => {
  const answers = await lookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** A resolver that asks the given DNS servers directly (A and AAAA), bypassing /etc/hosts. */
export function dnsServerResolver(servers: string[]): HostResolver {
  const resolver = new Resolver({ timeout: 3_000, tries: 2 });
  resolver.setServers(servers);
  return async (hostname) => {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(hostname), resolver.resolve6(hostname)]);
    const out: PinnedAddress[] = [];
    if (v4.status === "fulfilled") for (const a of v4.value) out.push({ address: a, family: 4 });
    if (v6.status === "fulfilled") for (const a of v6.value) out.push({ address: a, family: 6 });
    return out;
  };
}

/**
 * Resolves `hostname` (a URL's hostname: IPv6 literals in brackets) once and returns the address
 * to connect to. Every answer must be acceptable, not just the first: a name that resolves to a
 * public and a private address is refused, since a retry or another client could pick either.
 */
export async function resolvePinned(hostname: string, opts: { allowPrivate: boolean; resolver: HostResolver }): Promise<PinnedAddress> {
  const bare = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  const literal = isIP(bare);
  let answers: PinnedAddress[];
  if (literal) {
    answers = [{ address: bare, family: literal === 6 ? 6 : 4 }];
  } else {
    try {
      answers = await opts.resolver(bare);
    } catch {
      answers = [];
    }
    if (answers.length === 0) throw new AppError("upstream_unavailable", "The provider's API host did not resolve", { egress: "dns_failed" });
  }
  if (!opts.allowPrivate && answers.some((a) => isPrivateAddress(a.address))) {
    throw new AppError("upstream_error", "The provider's API host resolves to a private or special address, which this provider is not configured to reach", {
      egress: "private_address",
    });
  }
  return answers[0]!;
}
