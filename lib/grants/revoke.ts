// Revokes a grant: ciphertext deleted and status revoked in one audited transaction (effective
// at once on every instance), then RFC 7009 revocation at the provider where it offers it.
import * as client from "openid-client";
import { appendAudit } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { log } from "@/lib/log";
import { enqueueCredentialChange } from "@/lib/outbox/credential-change";
import { wakeOutbox } from "@/lib/outbox/wake";
import { findProviderById } from "@/lib/providers/find";
import { getOAuthConfig } from "@/lib/providers/oauth-config";
import { lockGrant } from "./lock";
import { openAccessToken, openRefreshToken, SEALED_GRANT_SELECT } from "./sealed";

export async function revokeGrant(
  grantId: string,
  actor: { type: "user" | "admin"; id: string },
  opts: { requestId?: string; expectedUserId?: string } = {},
): Promise<{ upstreamRevoked: boolean }> {
  const db = await getDb();
  const tokens = await db.$transaction(
    async (tx) => {
      await lockGrant(tx, grantId);
      const grant = await tx.grant.findFirst({
        where: { id: grantId, ...(opts.expectedUserId ? { userId: opts.expectedUserId } : {}) },
        select: SEALED_GRANT_SELECT,
      });
      if (!grant) throw new AppError("not_found", "No such connection");
      if (grant.status === "revoked") return null;
      // Read the tokens before the ciphertext is deleted, for the upstream revocation.
      const refreshToken = await openRefreshToken(grant).catch(() => null);
      const accessToken = await openAccessToken(grant).catch(() => null);
      await tx.grant.update({
        where: { id: grant.id },
        data: {
          status: "revoked",
          revokedAt: new Date(),
          accessTokenCipher: null,
          refreshTokenCipher: null,
          apiKeyCipher: null,
          wrappedKey: null,
          keyVersion: null,
        },
      });
      // Its requesters' approvals end with it: a reconnect asks for each requester afresh. The
      // rows stay as the record of who was handed the grant's tokens.
      await tx.requesterApproval.updateMany({
        where: { grantId: grant.id, withdrawnAt: null },
        data: { withdrawnAt: new Date(), withdrawnById: `${actor.type}:${actor.id}` },
      });
      // And so do its standing delegations (lib/delegations): a reconnect does not revive them.
      await tx.delegation.updateMany({
        where: { grantId: grant.id, revokedAt: null },
        data: { revokedAt: new Date(), revokedById: `${actor.type}:${actor.id}` },
      });
      await appendAudit(
        {
          actorType: actor.type,
          actorId: actor.id,
          userId: grant.userId,
          providerId: grant.providerId,
          action: "grant.revoked",
          decision: "info",
          context: { grantId: grant.id, scopes: grant.scopes },
          requestId: opts.requestId ?? null,
        },
        tx,
      );
      // Every gateway that was handed one of its tokens is told (RFC 8417 SET), so it drops its cache.
      await enqueueCredentialChange(tx, grant, { changeType: "revoke", initiatingEntity: actor.type, reason: `revoked_by_${actor.type}` });
      return { providerId: grant.providerId, refreshToken, accessToken };
    },
    { timeout: 15_000 },
  );
  if (!tokens) return { upstreamRevoked: false };
  wakeOutbox();
  return { upstreamRevoked: await revokeUpstream(grantId, tokens) };
}

/** Best effort: the grant is already unusable through Frontdesk whatever the provider says. */
async function revokeUpstream(
  grantId: string,
  tokens: { providerId: string; refreshToken: string | null; accessToken: string | null },
): Promise<boolean> {
  try {
    const provider = await findProviderById(tokens.providerId);
    if (!provider || provider.kind === "api_key") return false;
    const config = await getOAuthConfig(provider);
    if (!config.serverMetadata().revocation_endpoint) return false;
    // Revoking the refresh token ends the whole grant at most providers (RFC 7009 2.1); the
    // access token is revoked too for providers that do not cascade.
    if (tokens.refreshToken) await client.tokenRevocation(config, tokens.refreshToken, { token_type_hint: "refresh_token" });
    if (tokens.accessToken) await client.tokenRevocation(config, tokens.accessToken, { token_type_hint: "access_token" });
    return true;
  } catch (e) {
    log.warn("upstream revocation failed", { grantId, reason: e instanceof Error ? e.name : "unknown" });
    return false;
  }
}
