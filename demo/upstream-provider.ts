// The demo upstream service ("Notes"): a real OAuth 2 / OpenID Connect authorization server
// (oidc-provider) that issues short-lived access tokens and rotating refresh tokens, offers
// RFC 7009 revocation, and protects a small notes API. It stands in for GitHub, Google and
// friends in the demo and in tests. Tests can also make its token endpoint fail or slow down.
import type { IncomingMessage, ServerResponse } from "node:http";
import type Provider from "oidc-provider";
import { handleInteraction, type DemoAccount } from "./oidc-interactions";
import { reuseGraceAdapter } from "./reuse-grace-adapter";
import { startLocalOidcServer, type LocalClient } from "./local-oidc";
import { GRANT_PROFILE_ID_JAG, GRANT_TYPE_JWT_BEARER, registerIdJagRedemption, type IdJagRedemption, type TrustedIdJagIssuer } from "./id-jag-redeemer";

export const UPSTREAM_USERS = {
  alice: { sub: "alice", email: "alice@notes.test", name: "Alice", password: "wonderland", groups: [] },
  bob: { sub: "bob", email: "bob@notes.test", name: "Bob", password: "canwefixit", groups: [] },
} satisfies Record<string, DemoAccount>;

export const UPSTREAM_SCOPES = ["notes:read", "notes:write"];

/**
 * What each Notes scope may do through Frontdesk's egress proxy (Provider.requestRules): a token
 * the user granted both scopes can write, but a caller that asked for `notes:read` only reads.
 */
export const NOTES_REQUEST_RULES = {
  "notes:read": [{ methods: ["GET", "HEAD"], paths: ["/notes", "/notes/*"] }],
  "notes:write": [
    { methods: ["POST"], paths: ["/notes"] },
    { methods: ["DELETE"], paths: ["/notes/*"] },
  ],
} satisfies Record<string, { methods: ("GET" | "HEAD" | "POST" | "DELETE")[]; paths: string[] }[]>;

/** What the consent page says each Notes scope lets an agent do (Provider.scopeDescriptions). */
export const NOTES_SCOPE_DESCRIPTIONS = {
  "notes:read": "Read your notes",
  "notes:write": "Create and delete your notes",
};

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
  /** Who the notes API served, with which access token and method. */
  apiRequests: { accountId: string; token: string; method: string }[];
}

export interface UpstreamProvider {
  issuer: string;
  port: number;
  apiUrl: string;
  stats: UpstreamStats;
  /** Issues a real grant's tokens directly, as if the user had consented (no browser). */
  mintTokens(input: { accountId: string; scope: string; expiresIn?: number; clientId?: string }): Promise<{ accessToken: string; refreshToken: string; expiresIn: number }>;
  /** Cross-app access: IdPs whose ID-JAGs this server redeems (live list), and every redemption. */
  idJagIssuers: TrustedIdJagIssuer[];
  idJagRedemptions: IdJagRedemption[];
  failTokenEndpoint(mode: "none" | "5xx" | "timeout"): void;
  delayTokenEndpoint(ms: number): void;
  /**
   * Holds each token response for `ms` after the request was processed (a refresh token already
   * rotated, the answer not yet sent): the window in which a client that dies loses the new tokens.
   */
  delayTokenResponse(ms: number): void;
  /** Seconds a just-rotated refresh token is still accepted (demo/reuse-grace-adapter.ts); 0: none. */
  setRefreshTokenReuseGrace(seconds: number): void;
  close(): Promise<void>;
}

export async function startUpstreamProvider(opts: {
  clients: LocalClient[];
  port?: number;
  /** Access token lifetime in seconds (default 3600). */
  accessTokenTtl?: number;
  /** Rotate the refresh token at every use (default true, like Atlassian and Slack). */
  rotateRefreshTokens?: boolean;
  /** Accept a just-rotated refresh token again for this many seconds (default 0, like oidc-provider). */
  refreshTokenReuseGraceSeconds?: number;
  /**
   * Redeem ID-JAGs from these IdPs with the jwt-bearer grant and advertise the ID-JAG grant
   * profile (demo/id-jag-redeemer.ts). Without it the server offers neither (like most SaaS today).
   */
  idJagIssuers?: TrustedIdJagIssuer[];
  /** The name on its pages and of its cookies (default "Notes"), when two run side by side. */
  brand?: string;
}): Promise<UpstreamProvider> {
  const brand = opts.brand ?? "Notes";
  const stats: UpstreamStats = { tokenRequests: 0, refreshRequests: 0, revocations: 0, apiRequests: [] };
  const notes: Record<string, string[]> = Object.fromEntries(Object.entries(NOTES).map(([k, v]) => [k, [...v]]));
  let failure: "none" | "5xx" | "timeout" = "none";
  let delayMs = 0;
  let responseDelayMs = 0;
  let reuseGraceSeconds = opts.refreshTokenReuseGraceSeconds ?? 0;
  const ttl = opts.accessTokenTtl ?? 3600;
  const idJagIssuers = opts.idJagIssuers;
  const idJagRedemptions: IdJagRedemption[] = [];

  const before = (provider: Provider) => async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://local").pathname;
    if (path === "/token" && req.method === "POST") {
      stats.tokenRequests++;
      if (delayMs > 0) {
        await new Promise((r) => setTimeout(r, delayMs));
        // The client gave up (or died) while the request waited: it is never processed.
        if (res.destroyed || req.socket.destroyed) return true;
      }
      if (failure === "5xx") {
        res.writeHead(503, { "content-type": "application/json" }).end('{"error":"temporarily_unavailable"}');
        return true;
      }
      if (failure === "timeout") return true; // never answers; close() destroys the socket
      if (responseDelayMs > 0) {
        const hold = responseDelayMs;
        const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
        res.end = ((...args: unknown[]) => {
          setTimeout(() => end(...args), hold);
          return res;
        }) as typeof res.end;
      }
      return false;
    }
    if (path === "/token/revocation" && req.method === "POST") {
      stats.revocations++;
      return false;
    }
    if (path === "/api/notes" || path.startsWith("/api/notes/")) {
      await serveNotes(provider, stats, notes, req, res);
      return true;
    }
    return handleInteraction(provider, { brand, accounts: UPSTREAM_USERS, askConsent: true }, req, res);
  };

  const server = await startLocalOidcServer({
    port: opts.port,
    cookiePrefix: brand.toLowerCase().replace(/[^a-z0-9]+/g, "_"),
    accounts: UPSTREAM_USERS,
    clients: idJagIssuers ? opts.clients.map((c) => ({ ...c, extraGrantTypes: [...(c.extraGrantTypes ?? []), GRANT_TYPE_JWT_BEARER] })) : opts.clients,
    setup: idJagIssuers
      ? (provider, srv) =>
          registerIdJagRedemption(
            provider,
            { issuer: srv.issuer, trusted: () => idJagIssuers, accessTokenTtl: ttl, accountExists: (sub) => Object.values(UPSTREAM_USERS).some((u) => u.sub === sub) },
            idJagRedemptions,
          )
      : undefined,
    configuration: {
      ...(idJagIssuers ? { discovery: { authorization_grant_profiles_supported: [GRANT_PROFILE_ID_JAG] } } : {}),
      scopes: ["openid", "offline_access", ...UPSTREAM_SCOPES],
      features: { devInteractions: { enabled: false }, revocation: { enabled: true } },
      // Codes live 10 minutes (RFC 6749 4.1.2's maximum; oidc-provider's default is 60 s): a
      // test that holds a code while it tries other attacks must not lose it to a slow machine.
      ttl: { AccessToken: ttl, AuthorizationCode: 600, RefreshToken: 30 * 24 * 3600, Grant: 30 * 24 * 3600, Session: 3600, Interaction: 600 },
      // Like most SaaS APIs: a refresh token with every authorization code, no offline_access needed.
      issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
      rotateRefreshToken: () => opts.rotateRefreshTokens ?? true,
      adapter: reuseGraceAdapter(() => reuseGraceSeconds),
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
    idJagIssuers: idJagIssuers ?? [],
    idJagRedemptions,
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
    delayTokenResponse(ms) {
      responseDelayMs = ms;
    },
    setRefreshTokenReuseGrace(seconds) {
      reuseGraceSeconds = seconds;
    },
    close: server.close,
  };
}

// GET /api/notes (notes:read) lists the user's notes; POST /api/notes {"text"} adds one and
// DELETE /api/notes/<index> removes one (notes:write).
async function serveNotes(provider: Provider, stats: UpstreamStats, notes: Record<string, string[]>, req: IncomingMessage, res: ServerResponse) {
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers }).end(JSON.stringify(body));
  const auth = req.headers.authorization ?? "";
  const token = /^Bearer ([\w.~+/-]+=*)$/.exec(auth)?.[1];
  const at = token ? await provider.AccessToken.find(token) : undefined;
  if (!token || !at || at.isExpired) {
    return json(401, { error: "invalid_token" }, { "www-authenticate": 'Bearer error="invalid_token"' });
  }
  const method = req.method ?? "GET";
  const needed = method === "GET" || method === "HEAD" ? "notes:read" : "notes:write";
  if (!String(at.scope ?? "").split(" ").includes(needed)) {
    return json(403, { error: "insufficient_scope" }, { "www-authenticate": `Bearer error="insufficient_scope", scope="${needed}"` });
  }
  const path = new URL(req.url ?? "/", "http://local").pathname;
  const mine = (notes[at.accountId!] ??= []);
  stats.apiRequests.push({ accountId: at.accountId!, token, method });
  if (path === "/api/notes" && (method === "GET" || method === "HEAD")) return json(200, { owner: at.accountId, notes: mine });
  if (path === "/api/notes" && method === "POST") {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = (JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as { text?: unknown }).text;
    if (typeof text !== "string" || text.length === 0 || text.length > 500) return json(400, { error: "invalid_note" });
    mine.push(text);
    return json(201, { owner: at.accountId, notes: mine });
  }
  const index = /^\/api\/notes\/(\d{1,4})$/.exec(path)?.[1];
  if (index !== undefined && method === "DELETE" && Number(index) < mine.length) {
    mine.splice(Number(index), 1);
    return json(200, { owner: at.accountId, notes: mine });
  }
  return json(404, { error: "not_found" });
}
