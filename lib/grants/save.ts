// Stores a user's credential for a provider (after consent): one grant per (user, provider),
// scopes unioned (incremental consent), status active, secrets sealed with a fresh data key.
import { appendAudit, type AuditTx } from "@/lib/audit/append";
import { sealFields } from "@/lib/crypto/envelope";
import { getDb } from "@/lib/db/client";
import { newId } from "@/lib/ids";
import { lockGrant, type Tx } from "./lock";
import { grantBinding, openRefreshToken, SEALED_GRANT_SELECT } from "./sealed";

export type GrantCredential =
  | { kind: "oauth"; accessToken: string; refreshToken?: string | null; expiresAt?: Date | null; tokenType?: string | null }
  | { kind: "api_key"; apiKey: string };

export interface SaveGrantInput {
  userId: string;
  providerId: string;
  scopes: string[];
  credential: GrantCredential;
  tx?: AuditTx;
  /**
   * Store exactly `scopes` instead of adding them to the grant's: the token was issued for these
   * and no more (cross-app access asks for everything the grant should hold, lib/cross-app).
   */
  replaceScopes?: boolean;
  /** How the credential was obtained, for the audit row (e.g. cross-app access). */
  via?: "cross_app_access";
}

async function saveIn(tx: Tx, input: SaveGrantInput): Promise<{ grantId: string; scopes: string[] }> {
  // Serializes concurrent saves for the same (user, provider) so the upsert cannot race.
  await lockGrant(tx, `${input.userId}|${input.providerId}`);
  const existing = await tx.grant.findUnique({
    where: { userId_providerId: { userId: input.userId, providerId: input.providerId } },
    select: SEALED_GRANT_SELECT,
  });
  const id = existing?.id ?? newId("grt");
  // And with a refresh in flight on the same grant.
  if (existing) await lockGrant(tx, id);
  const binding = grantBinding({ id, userId: input.userId, providerId: input.providerId });
  const c = input.credential;
  // A re-authorization without a new refresh token keeps the previous one (many providers only
  // issue it on first consent); an invalid one is discovered at the next refresh. A replacing save
  // keeps none: the old refresh token was issued for other scopes.
  const keptRefresh =
    c.kind === "oauth" && !c.refreshToken && !input.replaceScopes && existing && existing.status !== "revoked" ? await openRefreshToken(existing) : null;
  const sealed = await sealFields(binding, {
    accessToken: c.kind === "oauth" ? c.accessToken : null,
    refreshToken: c.kind === "oauth" ? (c.refreshToken ?? keptRefresh) : null,
    apiKey: c.kind === "api_key" ? c.apiKey : null,
  });
  const previousScopes = existing && existing.status !== "revoked" && !input.replaceScopes ? existing.scopes : [];
  const scopes = [...new Set([...previousScopes, ...input.scopes])];
  const data = {
    scopes,
    status: "active" as const,
    tokenType: c.kind === "oauth" ? (c.tokenType ?? "Bearer") : null,
    accessTokenCipher: sealed.ciphertexts.accessToken,
    refreshTokenCipher: sealed.ciphertexts.refreshToken,
    apiKeyCipher: sealed.ciphertexts.apiKey,
    wrappedKey: sealed.wrappedKey,
    keyVersion: sealed.keyVersion,
    expiresAt: c.kind === "oauth" ? (c.expiresAt ?? null) : null,
    revokedAt: null,
    // New tokens from the user's consent: an earlier interrupted refresh no longer matters.
    refreshStartedAt: null,
  };
  if (existing) await tx.grant.update({ where: { id }, data });
  else await tx.grant.create({ data: { id, userId: input.userId, providerId: input.providerId, ...data } });
  await appendAudit(
    {
      actorType: "user",
      actorId: input.userId,
      userId: input.userId,
      providerId: input.providerId,
      action: "grant.created",
      decision: "info",
      reason: existing ? "updated" : "created",
      context: { grantId: id, scopes, kind: c.kind, ...(input.via ? { via: input.via } : {}) },
    },
    tx,
  );
  return { grantId: id, scopes };
}

export async function saveGrant(input: SaveGrantInput): Promise<{ grantId: string; scopes: string[] }> {
  if (input.tx) return saveIn(input.tx, input);
  const db = await getDb();
  return db.$transaction((tx) => saveIn(tx, input), { timeout: 15_000 });
}
