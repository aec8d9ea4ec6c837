// A gateway-API test bed: the organization's IdP and an upstream provider (real oidc-provider
// servers), a provider registered in Frontdesk for the upstream, users, gateways of every auth
// method, and policy rules; plus builders for the exact requests gateways send.
import { randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { AGENT_IDP_CLIENT, startIdp, type TestIdp } from "./oidc-idp";
import { startUpstream, type TestUpstream } from "./oidc-upstream";

export const SUBJECT_AUDIENCE = "frontdesk";

export interface GatewayFixture {
  id: string;
  name: string;
  secret: string | null;
}

export interface JwtGatewayFixture extends GatewayFixture {
  privateKey: CryptoKey;
  kid: string;
}

export interface GatewayTestbed {
  idp: TestIdp;
  upstream: TestUpstream;
  providerId: string;
  providerSlug: string;
  users: { alice: string; bob: string };
  basic: GatewayFixture;
  post: GatewayFixture;
  jwt: JwtGatewayFixture;
  trusted: GatewayFixture;
  frontdeskUrl: string;
  close(): Promise<void>;
}

/**
 * Environment for Frontdesk (this process or a child server) that trusts the IdP. Call before
 * anything reads lib/env (env() is parsed once).
 */
export function gatewayEnv(idp: TestIdp, frontdeskUrl: string): Record<string, string> {
  return {
    FRONTDESK_URL: frontdeskUrl,
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: idp.clientId,
    OIDC_CLIENT_SECRET: idp.clientSecret,
    SUBJECT_TOKEN_AUDIENCES: SUBJECT_AUDIENCE,
    FRONTDESK_INSECURE_HTTP_ISSUERS: idp.issuer,
    TOKEN_MAX_EXPIRES_IN: "300",
    LOG_LEVEL: "warn",
    // The refresh deadline is a wall-clock limit (5 s in production): on a loaded test machine a
    // first refresh (discovery included) can take longer. Tests that are not about it get a
    // generous one; upstream-deadline.test.ts sets its own.
    REFRESH_DEADLINE_MS: "60000",
  };
}

export async function startGatewayTestbed(
  opts: {
    frontdeskUrl?: string;
    accessTokenTtl?: number;
    extraEnv?: Record<string, string>;
    insecureIssuers?: string[];
    /**
     * Cross-app access: the upstream redeems the IdP's ID-JAGs and advertises the grant profile,
     * the IdP's policy lets alice (not bob) reach it, and Notes is registered `when_advertised`.
     */
    crossAppAccess?: { fallback: "deny" | "consent" };
  } = {},
): Promise<GatewayTestbed> {
  const frontdeskUrl = opts.frontdeskUrl ?? "http://frontdesk.test";
  const idp = await startIdp({ redirectUris: [`${frontdeskUrl}/api/auth/callback/oidc`] });
  const upstream = await startUpstream({
    redirectUris: [`${frontdeskUrl}/api/oauth/callback/notes`],
    accessTokenTtl: opts.accessTokenTtl,
    idJagIssuers: opts.crossAppAccess ? [{ issuer: idp.issuer, jwksUri: idp.jwksUri }] : undefined,
  });
  if (opts.crossAppAccess) {
    // The IdP administrator's side: Frontdesk (the portal's client at the IdP) is frontdesk-notes at Notes.
    idp.crossAppAccess.relationships.push({
      audience: upstream.issuer,
      clientIds: { [idp.clientId]: upstream.clientId },
      allowedSubjects: [idp.users.alice.sub],
      scopes: ["notes:read", "notes:write"],
    });
  }
  const base = gatewayEnv(idp, frontdeskUrl);
  // Interface B: Frontdesk accepts the IdP's ID-JAGs for its own audience.
  Object.assign(process.env, base, opts.crossAppAccess ? { ID_JAG_ISSUERS: idp.issuer } : {}, opts.extraEnv, {
    FRONTDESK_INSECURE_HTTP_ISSUERS: [base.FRONTDESK_INSECURE_HTTP_ISSUERS, ...(opts.insecureIssuers ?? [])].join(","),
  });

  const { getDb } = await import("@/lib/db/client");
  const { createProvider } = await import("@/lib/providers/create");
  const { createGateway } = await import("@/lib/gateways/register");
  const { createPolicyRule } = await import("@/lib/policy/rules");
  const db = await getDb();
  const provider = await createProvider({
    slug: "notes",
    displayName: "Notes",
    kind: "oidc",
    issuer: upstream.issuer,
    clientId: upstream.clientId,
    clientSecret: upstream.clientSecret,
    defaultScopes: ["notes:read"],
    resourceUrls: [upstream.apiUrl],
    allowInsecureHttp: true,
    ...(opts.crossAppAccess ? { crossAppAccess: "when_advertised" as const, crossAppAccessFallback: opts.crossAppAccess.fallback } : {}),
  });
  const users = { alice: "usr_alice", bob: "usr_bob" };
  for (const [name, id] of Object.entries(users)) {
    const u = idp.users[name as "alice" | "bob"];
    await db.user.create({ data: { id, issuer: idp.issuer, subject: u.sub, email: u.email, groups: u.groups } });
  }
  const admin = { type: "admin" as const, id: "test" };
  const basic = await createGateway({ name: "agentgateway-basic", authMethod: "client_secret_basic" }, admin);
  const post = await createGateway({ name: "agentgateway-post", authMethod: "client_secret_post" }, admin);
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const kid = "gw-key-1";
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  const jwt = await createGateway({ name: "agentgateway-jwt", authMethod: "private_key_jwt", jwks: { keys: [publicJwk] } }, admin);
  const trusted = await createGateway({ name: "trusted-proxy", authMethod: "client_secret_basic", trustedSubject: true }, admin);
  for (const g of [basic, post, jwt, trusted]) {
    await createPolicyRule({ providerId: provider.id, gatewayId: g.gateway.id, scopes: ["notes:read", "notes:write"] }, admin);
  }
  await createPolicyRule({ providerId: provider.id, gatewayId: null }, admin);
  if (opts.crossAppAccess) {
    // The IdP administrator's side of interface B: the agent's IdP client is the basic gateway at Frontdesk.
    idp.crossAppAccess.relationships.push({
      audience: frontdeskUrl,
      clientIds: { [AGENT_IDP_CLIENT.clientId]: basic.gateway.id },
      allowedSubjects: [idp.users.alice.sub, idp.users.bob.sub],
      scopes: ["notes:read", "notes:write"],
    });
  }
  return {
    idp,
    upstream,
    providerId: provider.id,
    providerSlug: provider.slug,
    users,
    basic: { id: basic.gateway.id, name: basic.gateway.name, secret: basic.secret },
    post: { id: post.gateway.id, name: post.gateway.name, secret: post.secret },
    jwt: { id: jwt.gateway.id, name: jwt.gateway.name, secret: null, privateKey: privateKey as CryptoKey, kid },
    trusted: { id: trusted.gateway.id, name: trusted.gateway.name, secret: trusted.secret },
    frontdeskUrl,
    async close() {
      await idp.close();
      await upstream.close();
    },
  };
}

/** `Authorization: Basic` as ToolHive and agentgateway build it (form-urlencoded id and secret). */
/**
 * Records that the user approved these gateways (no agent) for a grant, as the consent page does
 * for the gateway whose request created the connection (lib/consent).
 */
export async function approveGateways(grantId: string, userId: string, gatewayIds: string[]): Promise<void> {
  const { getDb } = await import("@/lib/db/client");
  const { recordApproval } = await import("@/lib/consent/approvals");
  const db = await getDb();
  await db.$transaction(async (tx) => {
    for (const gatewayId of gatewayIds) {
      await recordApproval(tx, { grantId, requester: { gatewayId, agentId: null }, approvedBy: "user", approvedById: userId });
    }
  });
}

/**
 * Gives a user a stored Notes grant holding real upstream tokens, as the portal does after
 * consent. `expiresAt` (default: the minted lifetime) is what Frontdesk believes. The user has
 * approved every gateway of the test bed for it unless `approve` names fewer.
 */
export async function connectNotes(
  bed: GatewayTestbed,
  opts: {
    user?: "alice" | "bob";
    /** The Frontdesk user to store it for, when not the testbed's own row for `user` (e.g. the same person signed in through another issuer). */
    userId?: string;
    scope?: string;
    expiresIn?: number;
    expiresAt?: Date;
    approve?: GatewayFixture[];
  } = {},
): Promise<{ accessToken: string; refreshToken: string; expiresIn: number; grantId: string }> {
  const { saveGrant } = await import("@/lib/grants/save");
  const user = opts.user ?? "alice";
  const userId = opts.userId ?? bed.users[user];
  const scope = opts.scope ?? "notes:read";
  const minted = await bed.upstream.mintTokens({ accountId: bed.idp.users[user].sub, scope, expiresIn: opts.expiresIn });
  const { grantId } = await saveGrant({
    userId,
    providerId: bed.providerId,
    scopes: scope.split(" "),
    credential: {
      kind: "oauth",
      accessToken: minted.accessToken,
      refreshToken: minted.refreshToken,
      expiresAt: opts.expiresAt ?? new Date(Date.now() + minted.expiresIn * 1000),
    },
  });
  const approve = opts.approve ?? [bed.basic, bed.post, bed.jwt, bed.trusted];
  await approveGateways(grantId, userId, approve.map((g) => g.id));
  return { ...minted, grantId };
}

export function basicAuth(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;
}

/** An RFC 7523 client assertion shaped like agentgateway's (iss = sub = client id, 300 s, uuid jti). */
export async function signClientAssertion(
  gw: JwtGatewayFixture,
  audience: string,
  overrides: { jti?: string; expiresIn?: number; iat?: number; kid?: string; alg?: string; key?: CryptoKey | Uint8Array; iss?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: overrides.alg ?? "RS256", kid: overrides.kid ?? gw.kid })
    .setIssuer(overrides.iss ?? gw.id)
    .setSubject(gw.id)
    .setAudience(audience)
    .setJti(overrides.jti ?? randomUUID())
    .setIssuedAt(overrides.iat ?? now)
    .setExpirationTime((overrides.iat ?? now) + (overrides.expiresIn ?? 300))
    .sign(overrides.key ?? gw.privateKey);
}

export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
export const JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt";
export const ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token";
export const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** A form POST to the token endpoint. `pairs` keeps order and repeats, like the gateways' encoders. */
export function tokenRequest(baseUrl: string, pairs: [string, string][], headers: Record<string, string> = {}): Request {
  const body = new URLSearchParams(pairs).toString();
  return new Request(`${baseUrl}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json", ...headers },
    body,
  });
}

export function resolveRequest(baseUrl: string, body: unknown, headers: Record<string, string> = {}): Request {
  return new Request(`${baseUrl}/api/v1/resolve`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}
