// The provider client secret: sealed on write, opened only to build an OAuth client config.
import { openField, sealFields, type SealBinding } from "@/lib/crypto/envelope";
import { getDb } from "@/lib/db/client";

// Provider secrets belong to no user; the binding still names the row and the provider.
function binding(providerId: string): SealBinding {
  return { table: "Provider", id: providerId, owner: "", provider: providerId };
}

export async function sealClientSecret(providerId: string, clientSecret: string) {
  const sealed = await sealFields(binding(providerId), { clientSecret });
  return { clientSecretCipher: sealed.ciphertexts.clientSecret, wrappedKey: sealed.wrappedKey, keyVersion: sealed.keyVersion };
}

/** The decrypted client secret, or null when the provider has none (public client, api_key). */
export async function openClientSecret(providerId: string): Promise<string | null> {
  const db = await getDb();
  const row = await db.provider.findUnique({
    where: { id: providerId },
    select: { clientSecretCipher: true, wrappedKey: true, keyVersion: true },
  });
  if (!row?.clientSecretCipher || !row.wrappedKey || !row.keyVersion) return null;
  return openField(binding(providerId), { wrappedKey: row.wrappedKey, keyVersion: row.keyVersion }, "clientSecret", row.clientSecretCipher);
}
