// Workload issuers for actor tokens, run locally for real:
//  - an OAuth authorization server (oidc-provider) issuing client-credentials access tokens as
//    RFC 9068 JWTs for Frontdesk's audience (what an agent platform's IdP does);
//  - a SPIFFE trust domain's JWT bundle endpoint (a JWKS over HTTP, as SPIRE's bundle endpoint
//    and OIDC discovery provider serve it), with JWT-SVIDs signed by that trust domain's key.
import { randomBytes } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { startLocalOidcServer } from "@/demo/local-oidc";
import { listenOnLoopback } from "@/demo/loopback-server";

export interface ClientCredentialsIssuer {
  issuer: string;
  /** A real client_credentials grant at the issuer's token endpoint; returns the JWT access token. */
  issueToken(clientId: string): Promise<string>;
  clients: Record<string, string>;
  close(): Promise<void>;
}

export async function startClientCredentialsIssuer(opts: { audience: string; clientIds: string[] }): Promise<ClientCredentialsIssuer> {
  const clients = Object.fromEntries(opts.clientIds.map((id) => [id, randomBytes(16).toString("hex")]));
  const server = await startLocalOidcServer({
    cookiePrefix: "wl",
    accounts: {},
    clients: [],
    configuration: {
      clients: Object.entries(clients).map(([client_id, client_secret]) => ({
        client_id,
        client_secret,
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: "client_secret_basic",
      })),
      scopes: ["agent"],
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => opts.audience,
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({ scope: "agent", audience: opts.audience, accessTokenFormat: "jwt", jwt: { sign: { alg: "RS256" } } }),
        },
      },
    },
  });
  return {
    issuer: server.issuer,
    clients,
    async issueToken(clientId) {
      const res = await fetch(`${server.issuer}/token`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: `Basic ${Buffer.from(`${clientId}:${clients[clientId]}`).toString("base64")}`,
        },
        body: new URLSearchParams({ grant_type: "client_credentials", scope: "agent", resource: opts.audience }).toString(),
      });
      const body = (await res.json()) as { access_token?: string; error?: string };
      if (!res.ok || !body.access_token) throw new Error(`client_credentials failed: ${res.status} ${body.error ?? ""}`);
      return body.access_token;
    },
    close: server.close,
  };
}

export interface SpiffeTrustDomain {
  trustDomain: string;
  bundleUrl: string;
  /** A JWT-SVID: sub = spiffe://<trust domain>/<path>, no iss (SPIFFE JWT-SVID spec 3). */
  signSvid(path: string, claims?: { aud?: string | string[]; expiresIn?: number; extra?: Record<string, unknown>; alg?: string; key?: CryptoKey | Uint8Array }): Promise<string>;
  publicJwk: JWK;
  close(): Promise<void>;
}

export async function startSpiffeTrustDomain(opts: { trustDomain: string; audience: string }): Promise<SpiffeTrustDomain> {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const kid = randomBytes(8).toString("hex");
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "jwt-svid" };
  const server = await listenOnLoopback((req, res) => {
    if (req.url !== "/bundle") return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [publicJwk], spiffe_sequence: 1 }));
  });
  return {
    trustDomain: opts.trustDomain,
    bundleUrl: `http://127.0.0.1:${server.port}/bundle`,
    publicJwk,
    async signSvid(path, c = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ ...c.extra })
        .setProtectedHeader({ alg: c.alg ?? "ES256", kid, typ: "JWT" })
        .setSubject(`spiffe://${opts.trustDomain}${path}`)
        .setAudience(c.aud ?? opts.audience)
        .setIssuedAt(now)
        .setExpirationTime(now + (c.expiresIn ?? 300))
        .sign(c.key ?? privateKey);
    },
    close: server.close,
  };
}
