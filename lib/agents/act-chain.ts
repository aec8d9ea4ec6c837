// RFC 8693 4.1 `act` claims, nested: {sub, iss?, act: {sub, iss?, act: ...}}. Flattened to a list,
// most recent actor first, keeping only iss/sub per hop (other claims in a nested act are not
// vouched for by anyone we trust, and could be arbitrarily large). Bounded in depth and size.
import type { ActorLink } from "./actor";

export const MAX_ACT_DEPTH = 8;
const MAX_CLAIM = 2048;

/** The chain, [] when `act` is absent, or null when it is malformed. */
export function parseActChain(act: unknown): ActorLink[] | null {
  const chain: ActorLink[] = [];
  let hop = act;
  while (hop !== undefined && hop !== null) {
    if (typeof hop !== "object" || Array.isArray(hop) || chain.length >= MAX_ACT_DEPTH) return null;
    const h = hop as Record<string, unknown>;
    if (typeof h.sub !== "string" || h.sub.length === 0 || h.sub.length > MAX_CLAIM) return null;
    if (h.iss !== undefined && (typeof h.iss !== "string" || h.iss.length > MAX_CLAIM)) return null;
    chain.push(h.iss === undefined ? { sub: h.sub } : { sub: h.sub, iss: h.iss });
    hop = h.act;
  }
  return chain;
}
