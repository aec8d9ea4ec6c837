// Shared plumbing for the two local OAuth/OIDC servers (demo IdP and demo upstream): an
// oidc-provider instance behind a node:http server bound to 127.0.0.1, with its own cookie
// names (browsers share cookies across ports of one host) and a fresh RSA signing key.
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import Provider, { type Configuration } from "./oidc-provider";
import { listenOnLoopback, type RequestHandler } from "./loopback-server";
import type { DemoAccount } from "./oidc-interactions";

export interface LocalClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  /** Shown on the consent page (client_name); every local client is Frontdesk unless named. */
  clientName?: string;
  /** Grant types beyond authorization_code and refresh_token (e.g. an ID-JAG grant, demo/id-jag-*.ts). */
  extraGrantTypes?: string[];
  /** Default client_secret_basic; the MCP SDK's requestJwtAuthorizationGrant sends client_secret_post. */
  tokenEndpointAuthMethod?: "client_secret_basic" | "client_secret_post";
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
  /** Registers extra grant types on the new provider (before any client is loaded). */
  setup?: (provider: Provider, server: { issuer: string; privateJwk: JWK & { kid: string } }) => void;
}): Promise<LocalOidcServer> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid: randomBytes(8).toString("hex"), alg: "RS256", use: "sig" };
  const bySub = new Map(Object.values(opts.accounts).map((a) => [a.sub, a]));

  // Listen first: the issuer URL needs the port. Requests before set-up completes get an empty answer.
  let handler: RequestHandler = (_req, res) => void res.end();
  const server = await listenOnLoopback((req, res) => handler(req, res), { port: opts.port });
  const { port } = server;
  const issuer = `http://localhost:${port}`;

  const provider = new Provider(issuer, {
    clients: opts.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      client_name: c.clientName ?? "Frontdesk",
      redirect_uris: c.redirectUris,
      grant_types: ["authorization_code", "refresh_token", ...(c.extraGrantTypes ?? [])],
      response_types: ["code"],
      token_endpoint_auth_method: c.tokenEndpointAuthMethod ?? "client_secret_basic",
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
  opts.setup?.(provider, { issuer, privateJwk });
  const before = opts.before?.(provider);
  const callback = provider.callback();
  handler = async (req, res) => {
    if (before && (await before(req, res))) return;
    callback(req, res);
  };

  return {
    issuer,
    port,
    provider,
    privateJwk,
    close: server.close,
  };
}
