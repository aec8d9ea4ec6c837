// Compact JWS signed with Frontdesk's key; receivers verify with /.well-known/jwks.json.
import { SignJWT, type JWTPayload } from "jose";
import { publicUrl } from "@/lib/env";
import { newSecretToken } from "@/lib/ids";
import { getSigningKey } from "./key";

/**
 * `jti` defaults to a fresh random value; outbox events pass their own id so that every retry of
 * one event carries the same `jti` (receivers deduplicate by it). Without expiresInSeconds the
 * token has no `exp` (RFC 8417 Security Event Tokens: receivers bound their age by `iat`).
 */
export async function signFrontdeskJwt(
  claims: JWTPayload,
  opts: { audience: string; expiresInSeconds?: number; typ: string; jti?: string },
): Promise<string> {
  const key = await getSigningKey();
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: opts.typ })
    .setIssuer(publicUrl())
    .setAudience(opts.audience)
    .setIssuedAt()
    .setJti(opts.jti ?? newSecretToken());
  if (opts.expiresInSeconds !== undefined) jwt.setExpirationTime(`${opts.expiresInSeconds}s`);
  return jwt.sign(key.privateKey);
}
