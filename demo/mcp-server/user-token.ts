// Who is calling the MCP server: a JWT from the organization's identity provider, verified with
// the issuer's published keys (OIDC discovery -> jwks_uri), its `iss`, `aud` and lifetime, and
// asymmetric algorithms only. The same token is what the gateway presents to Frontdesk as the
// RFC 8693 subject token, so Frontdesk verifies it again on its own.
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from "jose";

export interface VerifiedUser {
  issuer: string;
  subject: string;
  email: string | null;
  token: string;
}

const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"];

export class UserTokenVerifier {
  private keys: Promise<JWTVerifyGetKey> | undefined;

  constructor(
    private readonly issuer: string,
    private readonly audience: string,
  ) {}

  private keySet(): Promise<JWTVerifyGetKey> {
    this.keys ??= (async () => {
      const res = await fetch(`${this.issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`, {
        signal: AbortSignal.timeout(5_000),
        redirect: "error",
      });
      const meta = (await res.json()) as { issuer?: string; jwks_uri?: string };
      if (!res.ok || meta.issuer !== this.issuer || !meta.jwks_uri) throw new Error("identity provider discovery failed");
      return createRemoteJWKSet(new URL(meta.jwks_uri));
    })();
    this.keys.catch(() => (this.keys = undefined));
    return this.keys;
  }

  /** The verified user, or null for a missing, forged, expired or foreign token. */
  async verify(authorization: string | undefined): Promise<VerifiedUser | null> {
    const token = /^Bearer ([A-Za-z0-9._-]+)$/.exec(authorization ?? "")?.[1];
    if (!token) return null;
    try {
      const { payload } = await jwtVerify(token, await this.keySet(), {
        issuer: this.issuer,
        audience: this.audience,
        algorithms: ALGORITHMS,
        requiredClaims: ["sub", "exp"],
        clockTolerance: 30,
      });
      return {
        issuer: this.issuer,
        subject: payload.sub!,
        email: typeof payload.email === "string" ? payload.email : null,
        token,
      };
    } catch {
      return null;
    }
  }
}
