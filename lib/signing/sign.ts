// Compact JWS signed with Frontdesk's key; receivers verify with /.well-known/jwks.json.
import { SignJWT, type JWTPayload } from "jose";
import { publicUrl } from "@/lib/env";
import { newSecretToken } from "@/lib/ids";
import { getSigningKey } from "./key";

export async function signFrontdeskJwt(
  claims: JWTPayload,
  opts: { audience: string; expiresInSeconds: number; typ: string },
): Promise<string> {
  const key = await getSigningKey();
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: opts.typ })
    .setIssuer(publicUrl())
    .setAudience(opts.audience)
    .setIssuedAt()
    .setJti(newSecretToken())
    .setExpirationTime(`${opts.expiresInSeconds}s`)
    .sign(key.privateKey);
}
