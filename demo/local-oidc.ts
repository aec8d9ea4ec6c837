// Shared plumbing for the two local OAuth/OIDC servers (demo IdP and demo upstream): an
// oidc-provider instance behind a node:http server bound to 127.0.0.1, with its own cookie
// names (browsers share cookies across ports of one host) and a fresh RSA signing key.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import Provider, { type Configuration } from "oidc-provider";
import type { DemoAccount } from "./oidc-interactions";

export interface LocalClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

export interface LocalOidcServer {
  issuer: string;
  port: number;
  provider: Provider;
  /** The private signing key (RS256) this server signs tokens with. */
  privateJwk: JWK & { kid: string };
  close(): Promise<void>;
}

export type PreHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** Listens on 127.0.0.1; the issuer uses the host name `localhost` (see toolchain.md). */
export async function startLocalOidcServer(opts: {
  port?: number;
  cookiePrefix: string;
  accounts: Record<string, DemoAccount>;
  clients: LocalClient[];
  configuration: Configuration;
  /** Runs before oidc-provider; returns true when it handled the request. */
  before?: (provider: Provider) => PreHandler;
}): Promise<LocalOidcServer> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid: randomBytes(8).toString("hex"), alg: "RS256", use: "sig" };
  const bySub = new Map(Object.values(opts.accounts).map((a) => [a.sub, a]));

  const sockets = new Set<Socket>();
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server: Server = createServer((req, res) => handler(req, res));
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://localhost:${port}`;

  const provider = new Provider(issuer, {
    clients: opts.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    })),
    jwks: { keys: [privateJwk] },
    cookies: {
      keys: [randomBytes(32).toString("hex")],
      names: {
        session: `${opts.cookiePrefix}_session`,
        interaction: `${opts.cookiePrefix}_interaction`,
        resume: `${opts.cookiePrefix}_resume`,
      },
    },
    findAccount: async (_ctx, sub) => {
      const account = bySub.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          email: account.email,
          email_verified: true,
          name: account.name,
          groups: account.groups,
        }),
      };
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // Frontdesk (the only client) must use PKCE; a client that does not is refused.
    pkce: { required: () => true },
    ...opts.configuration,
  });
  // oidc-provider trusts X-Forwarded-* only when told; these servers are never behind a proxy.
  provider.proxy = false;
  const before = opts.before?.(provider);
  const callback = provider.callback();
  handler = (req, res) => {
    void (async () => {
      if (before && (await before(req, res))) return;
      callback(req, res);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  };

  return {
    issuer,
    port,
    provider,
    privateJwk,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
