// The demo organization's identity provider: a real OpenID Connect server (oidc-provider)
// with three password-checked accounts and a `groups` claim. Frontdesk's portal signs people
// in with it; gateways present its JWTs as subject tokens.
import { importJWK, SignJWT } from "jose";
import { ADMIN_GROUP, DEMO_USERS } from "./demo-users";
import { handleInteraction } from "./oidc-interactions";
import { startLocalOidcServer, type LocalClient } from "./local-oidc";
import { GRANT_TYPE_TOKEN_EXCHANGE, registerIdJagIssuance, TOKEN_TYPE_ID_JAG, type CrossAppPolicy, type IdJagDecision } from "./id-jag-issuer";

export { ADMIN_GROUP, DEMO_USERS };

export interface IdentityProvider {
  issuer: string;
  port: number;
  jwksUri: string;
  users: typeof DEMO_USERS;
  /** Signs a JWT as this issuer (RS256, its published key): a subject token for a gateway. */
  signJwt(claims: Record<string, unknown>, opts?: { expiresIn?: number; notBefore?: number; typ?: string }): Promise<string>;
  /** Cross-app access (demo/id-jag-issuer.ts): the live policy, and every ID-JAG decision made. */
  crossAppAccess: CrossAppPolicy;
  idJagDecisions: IdJagDecision[];
  /**
   * Tests: the token endpoint answers 503, never answers, or drops the connection (as when the
   * IdP is down); discovery and keys keep working, so only the ID-JAG exchange fails.
   */
  failTokenEndpoint(mode: "none" | "5xx" | "timeout" | "reset"): void;
  close(): Promise<void>;
}

export async function startIdentityProvider(opts: { clients: LocalClient[]; port?: number; crossAppAccess?: CrossAppPolicy }): Promise<IdentityProvider> {
  const crossAppAccess = opts.crossAppAccess ?? { relationships: [] };
  const idJagDecisions: IdJagDecision[] = [];
  let failure: "none" | "5xx" | "timeout" | "reset" = "none";
  // Every client of this IdP may ask for ID-JAGs; the policy decides what it gets.
  const clients = opts.clients.map((c) => ({ ...c, extraGrantTypes: [...(c.extraGrantTypes ?? []), GRANT_TYPE_TOKEN_EXCHANGE] }));
  const server = await startLocalOidcServer({
    port: opts.port,
    cookiePrefix: "idp",
    accounts: DEMO_USERS,
    clients,
    setup: (provider, srv) => registerIdJagIssuance(provider, srv, crossAppAccess, idJagDecisions),
    configuration: {
      // draft-ietf-oauth-identity-assertion-authz-grant-03 §7: this IdP issues ID-JAGs.
      discovery: { identity_chaining_requested_token_types_supported: [TOKEN_TYPE_ID_JAG] },
      scopes: ["openid", "email", "profile", "groups", "offline_access"],
      claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"], groups: ["groups"] },
      // next-auth reads email, name and groups from the ID token.
      conformIdTokenClaims: false,
      features: { devInteractions: { enabled: false }, revocation: { enabled: true } },
      // The organization's own portal is first-party: no consent screen, only sign-in.
      loadExistingGrant: async (ctx) => {
        const accountId = ctx.oidc.session?.accountId;
        if (!accountId || !ctx.oidc.client) return undefined;
        const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId });
        grant.addOIDCScope("openid email profile groups offline_access");
        grant.addOIDCClaims(["email", "email_verified", "name", "groups"]);
        await grant.save();
        return grant;
      },
    },
    before: (provider) => async (req, res) => {
      if (failure !== "none" && req.method === "POST" && new URL(req.url ?? "/", "http://local").pathname === "/token") {
        if (failure === "5xx") res.writeHead(503, { "content-type": "application/json" }).end('{"error":"temporarily_unavailable"}');
        if (failure === "reset") req.socket.destroy();
        return true; // "timeout": never answers; close() destroys the socket
      }
      return handleInteraction(provider, { brand: "Example Corp SSO", accounts: DEMO_USERS, askConsent: false }, req, res);
    },
  });
  const key = await importJWK(server.privateJwk, "RS256");
  return {
    issuer: server.issuer,
    port: server.port,
    jwksUri: `${server.issuer}/jwks`,
    users: DEMO_USERS,
    async signJwt(claims, o = {}) {
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: "RS256", kid: server.privateJwk.kid, typ: o.typ ?? "JWT" })
        .setIssuer(server.issuer)
        .setIssuedAt(now)
        .setExpirationTime(now + (o.expiresIn ?? 300));
      if (o.notBefore !== undefined) jwt.setNotBefore(o.notBefore);
      return jwt.sign(key);
    },
    crossAppAccess,
    idJagDecisions,
    failTokenEndpoint(mode) {
      failure = mode;
    },
    close: server.close,
  };
}
