// The encrypted shape of a grant and the only place its secrets are opened. Ciphertext never
// leaves lib/grants; callers get plaintext credentials only through openGrantCredential.
import { openField, type SealBinding } from "@/lib/crypto/envelope";
import type { Prisma } from "@/lib/generated/prisma/client";

export const SEALED_GRANT_SELECT = {
  id: true,
  userId: true,
  providerId: true,
  scopes: true,
  status: true,
  tokenType: true,
  accessTokenCipher: true,
  refreshTokenCipher: true,
  apiKeyCipher: true,
  wrappedKey: true,
  keyVersion: true,
  expiresAt: true,
  lastRefreshedAt: true,
} as const satisfies Prisma.GrantSelect;

export type SealedGrant = Prisma.GrantGetPayload<{ select: typeof SEALED_GRANT_SELECT }>;

export function grantBinding(grant: { id: string; userId: string; providerId: string }): SealBinding {
  return { table: "Grant", id: grant.id, owner: grant.userId, provider: grant.providerId };
}

export type OpenCredential =
  | { kind: "oauth"; accessToken: string; tokenType: string | null; expiresAt: Date | null }
  | { kind: "api_key"; apiKey: string };

function keyRef(grant: SealedGrant) {
  if (!grant.wrappedKey || !grant.keyVersion) throw new Error(`grant ${grant.id} has no data key`);
  return { wrappedKey: grant.wrappedKey, keyVersion: grant.keyVersion };
}

/** Decrypts the credential a gateway receives (never the refresh token). */
export async function openGrantCredential(grant: SealedGrant): Promise<OpenCredential> {
  const binding = grantBinding(grant);
  if (grant.apiKeyCipher) {
    return { kind: "api_key", apiKey: await openField(binding, keyRef(grant), "apiKey", grant.apiKeyCipher) };
  }
  if (!grant.accessTokenCipher) throw new Error(`grant ${grant.id} has no credential`);
  return {
    kind: "oauth",
    accessToken: await openField(binding, keyRef(grant), "accessToken", grant.accessTokenCipher),
    tokenType: grant.tokenType,
    expiresAt: grant.expiresAt,
  };
}

export async function openRefreshToken(grant: SealedGrant): Promise<string | null> {
  if (!grant.refreshTokenCipher) return null;
  return openField(grantBinding(grant), keyRef(grant), "refreshToken", grant.refreshTokenCipher);
}

export async function openAccessToken(grant: SealedGrant): Promise<string | null> {
  if (!grant.accessTokenCipher) return null;
  return openField(grantBinding(grant), keyRef(grant), "accessToken", grant.accessTokenCipher);
}

/** Scopes in `wanted` that the grant does not cover. */
export function missingScopes(granted: readonly string[], wanted: readonly string[]): string[] {
  const have = new Set(granted);
  return [...new Set(wanted)].filter((s) => !have.has(s));
}
