// Replay protection for actor tokens (design.md invariant 12), in the ReplayNonce store that
// client-assertion jtis use (lib/gateways/replay.ts), kept until the token expires.
//
// An actor token is a workload's bearer credential: SPIRE hands a workload one JWT-SVID that it
// presents until it expires, and a client-credentials access token is reused for its lifetime
// (ToolHive keeps subject tokens reusable for the same reason: tokenexchange/handler.go). So the
// default is not "once", but "through one gateway": the first gateway to present a token owns
// it, and the same token presented through any other gateway is a replay (a token leaked from,
// or by, one gateway cannot be spent through another that trusts the same issuer). An issuer
// whose workloads mint a fresh actor token per call can be marked `singleUse`; then every second
// presentation is a replay, whichever gateway sends it.
//
// A token is known by (issuer, jti), or by its SHA-256 when it carries no jti (JWT-SVIDs usually
// do not). The row lives until exp plus the verification skew: after that the token itself no
// longer verifies, so forgetting it opens nothing.
import { sha256Hex } from "@/lib/crypto/hash";
import { getDb } from "@/lib/db/client";
import { noteNonceStored } from "@/lib/gateways/replay";
import { TtlCache } from "@/lib/gateways/ttl-cache";
import { CLOCK_SKEW_SECONDS } from "@/lib/subject-tokens/verify";

export type ActorTokenUse = "first" | "again_same_gateway" | "replayed";

// What this instance already knows: a token's owner never changes while the token is valid, so
// a repeat through the same gateway needs no round trip. Single-use tokens are never cached.
const owners = new TtlCache<string>(5 * 60_000);

export function actorTokenKey(issuer: string, jti: string | undefined, token: string): string {
  return `actor:${sha256Hex(`${issuer}\n${jti !== undefined ? `jti:${jti}` : `token:${sha256Hex(token)}`}`)}`;
}

async function claimOwner(key: string, gatewayId: string, expiresAt: Date): Promise<{ first: boolean; owner: string }> {
  const db = await getDb();
  // ON CONFLICT DO NOTHING: concurrent first presentations queue on the key and exactly one wins.
  const inserted = await db.$executeRaw`
    INSERT INTO "ReplayNonce" ("key", "expiresAt", "boundTo") VALUES (${key}, ${expiresAt}, ${gatewayId})
    ON CONFLICT DO NOTHING`;
  if (inserted === 1) {
    noteNonceStored();
    return { first: true, owner: gatewayId };
  }
  const row = await db.replayNonce.findUnique({ where: { key }, select: { boundTo: true } });
  // A row without an owner cannot come from this module; treat it as someone else's (fail closed).
  return { first: false, owner: row?.boundTo ?? "" };
}

/** Records this presentation of a verified actor token and says whether it is a replay. */
export async function recordActorTokenUse(input: {
  issuer: string;
  jti: string | undefined;
  token: string;
  exp: number;
  gatewayId: string;
  singleUse: boolean;
}): Promise<ActorTokenUse> {
  const key = actorTokenKey(input.issuer, input.jti, input.token);
  const expiresAt = new Date((input.exp + CLOCK_SKEW_SECONDS) * 1000);
  if (input.singleUse) return (await claimOwner(key, input.gatewayId, expiresAt)).first ? "first" : "replayed";
  let first = false;
  const owner = await owners.get(key, async () => {
    const claim = await claimOwner(key, input.gatewayId, expiresAt);
    first = claim.first;
    return claim.owner;
  });
  if (owner !== input.gatewayId) return "replayed";
  return first ? "first" : "again_same_gateway";
}
