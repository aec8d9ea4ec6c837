// Frontdesk's own signing key (webhook JWS; published in /.well-known/jwks.json). Generated once
// for the whole deployment: the first instance to need it creates it under an advisory lock, so
// concurrent instances agree on one key. The private key is stored sealed (lib/crypto).
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { openField, sealFields } from "@/lib/crypto/envelope";
import { getDb } from "@/lib/db/client";

export const SIGNING_ALG = "ES256";

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
}

const KEY_SELECT = { id: true, alg: true, privateKeyCipher: true, wrappedKey: true, keyVersion: true } as const;

function binding(kid: string) {
  return { table: "SigningKey" as const, id: kid, owner: "", provider: "" };
}

async function openKey(row: { id: string; alg: string; privateKeyCipher: string; wrappedKey: string; keyVersion: string }): Promise<SigningKey> {
  const jwk = JSON.parse(await openField(binding(row.id), row, "privateKey", row.privateKeyCipher)) as JWK;
  const privateKey = (await importJWK(jwk, row.alg)) as CryptoKey;
  return { kid: row.id, alg: row.alg, privateKey };
}

async function loadOrCreate(): Promise<SigningKey> {
  const db = await getDb();
  const where = { status: "active" as const };
  const existing = await db.signingKey.findFirst({ where, orderBy: { createdAt: "desc" }, select: KEY_SELECT });
  if (existing) return openKey(existing);
  return db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('frontdesk.signing-key'))`;
    const again = await tx.signingKey.findFirst({ where, orderBy: { createdAt: "desc" }, select: KEY_SELECT });
    if (again) return openKey(again);
    const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const sealed = await sealFields(binding(kid), { privateKey: JSON.stringify(await exportJWK(privateKey)) });
    await tx.signingKey.create({
      data: {
        id: kid,
        alg: SIGNING_ALG,
        publicJwk: { ...publicJwk, kid, alg: SIGNING_ALG, use: "sig" },
        privateKeyCipher: sealed.ciphertexts.privateKey as string,
        wrappedKey: sealed.wrappedKey,
        keyVersion: sealed.keyVersion,
      },
    });
    return { kid, alg: SIGNING_ALG, privateKey: privateKey as CryptoKey };
  });
}

let current: Promise<SigningKey> | undefined;

/** The active signing key, loaded (or created) once per process. */
export function getSigningKey(): Promise<SigningKey> {
  if (!current) {
    const attempt = loadOrCreate();
    current = attempt;
    attempt.catch(() => {
      if (current === attempt) current = undefined;
    });
  }
  return current;
}

/** Public keys of every active signing key, for the JWKS endpoint. */
export async function listPublicJwks(): Promise<JWK[]> {
  await getSigningKey();
  const db = await getDb();
  const rows = await db.signingKey.findMany({ where: { status: "active" }, orderBy: { createdAt: "desc" }, select: { publicJwk: true } });
  return rows.map((r) => r.publicJwk as unknown as JWK);
}

/** Test helper: forget the cached key (e.g. after the database changed). */
export function forgetSigningKey(): void {
  current = undefined;
}
