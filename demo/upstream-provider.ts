// The demo upstream service ("Notes"): a real OAuth 2 / OpenID Connect authorization server
// (oidc-provider) that issues short-lived access tokens and rotating refresh tokens, offers
// RFC 7009 revocation, and protects a small notes API. It stands in for GitHub, Google and
// friends in the demo and in tests. Tests can also make its token endpoint fail or slow down.
import type { IncomingMessage, ServerResponse } from "node:http";
import type Provider from "oidc-provider";
import { handleInteraction, type DemoAccount } from "./oidc-interactions";
import { startLocalOidcServer, type LocalClient } from "./local-oidc";

export const UPSTREAM_USERS = {
  alice: { sub: "alice", email: "alice@notes.test", name: "Alice", password: "wonderland", groups: [] },
  bob: { sub: "bob", email: "bob@notes.test", name: "Bob", password: "canwefixit", groups: [] },
} satisfies Record<string, DemoAccount>;

export const UPSTREAM_SCOPES = ["notes:read", "notes:write"];

const NOTES: Record<string, string[]> = {
  alice: ["Follow the white rabbit", "Tea party at six"],
  bob: ["Fix the fence", "Order more bricks"],
};

export interface UpstreamStats {
  /** Every request that reached the token endpoint (including injected failures). */
  tokenRequests: number;
  /** refresh_token grants that oidc-provider processed (success or error). */
  refreshRequests: number;
  revocations: number;
  /** Who the notes API served, and with which access token. */
  apiRequests: { accountId: string; token: string }[];
}

export interface UpstreamProvider {
  issuer: string;
  port: number;
  apiUrl: string;
  stats: UpstreamStats;
  /** Issues a real grant's tokens directly, as if the user had consented (no browser). */
  mintTokens(input: { accountId: string; scope: string; expiresIn?: number; clientId?: string }): Promise<{ accessToken: string; refreshToken: string; expiresIn: number }>;
  failTokenEndpoint(mode: "none" | "5xx" | "timeout"): void;
  delayTokenEndpoint(ms: number): void;
  close(): Promise<void>;
}

export async function startUpstreamProvider(opts: {
  clients: LocalClient[];
  port?: number;
  /** Access token lifetime in seconds (default 3600). */
  accessTokenTtl?: number;
  /** Rotate the refresh token at every use (default true, like Atlassian and Slack). */
  rotateRefreshTokens?: boolean;
}): Promise<UpstreamProvider> {
  const stats: UpstreamStats = { tokenRequests: 0, refreshRequests: 0, revocations: 0, apiRequests: [] };
  let failure: "none" | "5xx" | "timeout" = "none";
  let delayMs = 0;
  const ttl = opts.accessTokenTtl ?? 3600;

  const before = (provider: Provider) => async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://local").pathname;
    if (path === "/token" && req.method === "POST") {
      stats.tokenRequests++;
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      if (failure === "5xx") {
        res.writeHead(503, { "content-type": "application/json" }).end('{"error":"temporarily_unavailable"}');
        return true;
      }
      if (failure === "timeout") return true; // never answers; close() destroys the socket
      return false;
    }
    if (path === "/token/revocation" && req.method === "POST") {
      stats.revocations++;
      return false;
    }
    if (path === "/api/notes") {
      await serveNotes(provider, stats, req, res);
      return true;
    }
    return handleInteraction(provider, { brand: "Notes", accounts: UPSTREAM_USERS, askConsent: true }, req, res);
  };

  const server = await startLocalOidcServer({
    port: opts.port,
    cookiePrefix: "notes",
    accounts: UPSTREAM_USERS,
    clients: opts.clients,
    configuration: {
      scopes: ["openid", "offline_access", ...UPSTREAM_SCOPES],
      features: { devInteractions: { enabled: false }, revocation: { enabled: true } },
      ttl: { AccessToken: ttl, RefreshToken: 30 * 24 * 3600, Grant: 30 * 24 * 3600, Session: 3600, Interaction: 600 },
      // Like most SaaS APIs: a refresh token with every authorization code, no offline_access needed.
      issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
      rotateRefreshToken: () => opts.rotateRefreshTokens ?? true,
    },
    before,
  });
  const { provider } = server;
  provider.on("grant.success", (ctx) => {
    if (ctx.oidc.params?.grant_type === "refresh_token") stats.refreshRequests++;
  });
  provider.on("grant.error", (ctx) => {
    if (ctx.oidc?.params?.grant_type === "refresh_token") stats.refreshRequests++;
  });

  return {
    issuer: server.issuer,
    port: server.port,
    apiUrl: `${server.issuer}/api`,
    stats,
    async mintTokens({ accountId, scope, expiresIn, clientId }) {
      const client = await provider.Client.find(clientId ?? opts.clients[0]!.clientId);
      if (!client) throw new Error("unknown client");
      const grant = new provider.Grant({ accountId, clientId: client.clientId });
      grant.addOIDCScope(scope);
      const grantId = await grant.save();
      const lifetime = expiresIn ?? ttl;
      const at = new provider.AccessToken({ client, accountId, grantId, scope, gty: "authorization_code", expiresIn: lifetime });
      const rt = new provider.RefreshToken({ client, accountId, grantId, scope, gty: "authorization_code" });
      return { accessToken: await at.save(), refreshToken: await rt.save(), expiresIn: lifetime };
    },
    failTokenEndpoint(mode) {
      failure = mode;
    },
    delayTokenEndpoint(ms) {
      delayMs = ms;
    },
    close: server.close,
  };
}

async function serveNotes(provider: Provider, stats: UpstreamStats, req: IncomingMessage, res: ServerResponse) {
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers }).end(JSON.stringify(body));
  const auth = req.headers.authorization ?? "";
  const token = /^Bearer ([\w.~+/-]+=*)$/.exec(auth)?.[1];
  const at = token ? await provider.AccessToken.find(token) : undefined;
  if (!token || !at || at.isExpired) {
    return json(401, { error: "invalid_token" }, { "www-authenticate": 'Bearer error="invalid_token"' });
  }
  if (!String(at.scope ?? "").split(" ").includes("notes:read")) {
    return json(403, { error: "insufficient_scope" }, { "www-authenticate": 'Bearer error="insufficient_scope", scope="notes:read"' });
  }
  stats.apiRequests.push({ accountId: at.accountId!, token });
  return json(200, { owner: at.accountId, notes: NOTES[at.accountId!] ?? [] });
}
