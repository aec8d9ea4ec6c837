// The consent and upstream-authorization logic on real PostgreSQL against a real upstream
// (oidc-provider on 127.0.0.1): the authorization request, every way a callback is rejected
// before a code is exchanged (nothing consumed that should not be, nothing written), provider
// error mapping, decline, the CSRF guard, and API-key connect with a validation URL.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type TestUpstream } from "../helpers/oidc-upstream";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();
const BASE = "http://localhost:3999";
process.env.FRONTDESK_URL = BASE;
process.env.AUTH_SECRET = "integration-auth-secret-0123456789abcdef";

const client = await import("openid-client");
const { getDb } = await import("@/lib/db/client");
const { sha256Hex } = await import("@/lib/crypto/hash");
const { openField } = await import("@/lib/crypto/envelope");
const { newId } = await import("@/lib/ids");
const { findViewerBySessionToken } = await import("@/lib/auth/session");
const { createElicitation } = await import("@/lib/elicitations/create");
const { createProvider } = await import("@/lib/providers/create");
const { getOAuthConfig, clearOAuthConfigCache } = await import("@/lib/providers/oauth-config");
const { openClientSecret } = await import("@/lib/providers/secret");
const { findProviderById } = await import("@/lib/providers/find");
const { startUpstreamAuthorization } = await import("@/lib/portal/start-authorization");
const { completeUpstreamAuthorization } = await import("@/lib/portal/complete-authorization");
const { declineConsent } = await import("@/lib/portal/decline");
const { connectApiKey } = await import("@/lib/portal/connect-api-key");
const { createFormToken, verifyPortalPost } = await import("@/lib/portal/form-guard");

const ISSUER = "https://idp.example.test";
const db = await getDb();
let upstream: TestUpstream;
let keyServer: Server;
const keyRequests: (string | undefined)[] = [];
let notesId: string;
let keysId: string;
let gatewayId: string;

async function makeViewer(subject: string) {
  const user = await db.user.create({ data: { id: newId("usr"), issuer: ISSUER, subject, email: `${subject}@example.test` } });
  const token = `session-${subject}-${newId("req")}`;
  await db.session.create({ data: { sessionToken: sha256Hex(token), userId: user.id, expires: new Date(Date.now() + 3600_000) } });
  return (await findViewerBySessionToken(token))!;
}

let alice: Awaited<ReturnType<typeof makeViewer>>;
let bob: Awaited<ReturnType<typeof makeViewer>>;

beforeAll(async () => {
  upstream = await startUpstream({ redirectUris: [`${BASE}/api/oauth/callback/notes`] });
  keyServer = createServer((req, res) => {
    keyRequests.push(req.headers["x-api-key"] as string | undefined);
    res.writeHead(req.headers["x-api-key"] === "Key good-key-123456" ? 200 : 401).end();
  });
  await new Promise<void>((r) => keyServer.listen(0, "127.0.0.1", () => r()));
  const gateway = await db.gateway.create({ data: { id: newId("gw"), name: "gw-callback", authMethod: "client_secret_basic" } });
  gatewayId = gateway.id;
  notesId = (
    await createProvider({
      slug: "notes",
      displayName: "Notes",
      kind: "oidc",
      issuer: upstream.issuer,
      clientId: upstream.clientId,
      clientSecret: upstream.clientSecret,
      allowInsecureHttp: true,
    })
  ).id;
  keysId = (
    await createProvider({
      slug: "keys",
      displayName: "Keys",
      kind: "api_key",
      apiKeyHeader: "X-Api-Key",
      apiKeyPrefix: "Key ",
      validationUrl: `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}/check`,
      allowInsecureHttp: true,
    })
  ).id;
  alice = await makeViewer("alice");
  bob = await makeViewer("bob");
});

afterAll(async () => {
  await upstream?.close();
  await new Promise((r) => keyServer?.close(r));
});

async function elicit(providerId = notesId, scopes = ["notes:read"]) {
  return createElicitation({ userIssuer: ISSUER, userSubject: "alice", gatewayId, providerId, scopes, context: { toolName: "t" } });
}

async function approve(elicitationId: string) {
  const result = await startUpstreamAuthorization(elicitationId, alice);
  if (!result.ok) throw new Error(`approve refused: ${result.reason}`);
  const url = new URL(result.authorizationUrl);
  return { url, state: url.searchParams.get("state")! };
}

const status = async (id: string) => (await db.elicitation.findUnique({ where: { id } }))?.status;
const transactions = (state: string) => db.oAuthTransaction.count({ where: { stateHash: sha256Hex(state) } });
const callback = (state: string | null, extra: Record<string, string> = {}) =>
  new URLSearchParams({ code: "not-a-real-code", ...(state ? { state } : {}), ...extra });

describe("providers", () => {
  it("store the client secret sealed and open it for the OAuth configuration", async () => {
    const row = await db.provider.findUnique({ where: { id: notesId }, select: { clientSecretCipher: true, wrappedKey: true, keyVersion: true } });
    expect(row?.clientSecretCipher).toBeTruthy();
    expect(row?.clientSecretCipher).not.toContain(upstream.clientSecret);
    expect(row?.keyVersion).toBe("test");
    expect(await openClientSecret(notesId)).toBe(upstream.clientSecret);
    const provider = (await findProviderById(notesId))!;
    const config = await getOAuthConfig(provider);
    expect(config.serverMetadata().issuer).toBe(upstream.issuer);
    expect(config.serverMetadata().revocation_endpoint).toBe(`${upstream.issuer}/token/revocation`);
  });

  it("refuse a plain-http issuer the row does not explicitly allow", async () => {
    clearOAuthConfigCache();
    const provider = (await findProviderById(notesId))!;
    await expect(getOAuthConfig({ ...provider, allowInsecureHttp: false })).rejects.toMatchObject({ code: "config_error" });
  });
});

describe("approve", () => {
  it("builds the authorization request with PKCE S256, a fresh state and the exact redirect URI, bound to the session", async () => {
    const e = await elicit();
    const { url, state } = await approve(e.id);
    expect(url.origin + url.pathname).toBe(`${upstream.issuer}/auth`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      client_id: upstream.clientId,
      response_type: "code",
      redirect_uri: `${BASE}/api/oauth/callback/notes`,
      scope: "notes:read",
      code_challenge_method: "S256",
    });
    expect(url.searchParams.has("nonce")).toBe(false);
    expect(state.length).toBeGreaterThanOrEqual(43);

    const row = await db.oAuthTransaction.findUnique({
      where: { stateHash: sha256Hex(state) },
      select: { elicitationId: true, sessionHash: true, codeVerifierCipher: true, wrappedKey: true, keyVersion: true, expiresAt: true },
    });
    expect(row).toMatchObject({ elicitationId: e.id, sessionHash: alice.sessionHash });
    expect(row!.expiresAt.getTime()).toBeLessThanOrEqual(e.expiresAt.getTime());
    const verifier = await openField(
      { table: "OAuthTransaction", id: sha256Hex(state), owner: alice.userId, provider: notesId },
      { wrappedKey: row!.wrappedKey, keyVersion: row!.keyVersion },
      "codeVerifier",
      row!.codeVerifierCipher,
    );
    expect(row!.codeVerifierCipher).not.toContain(verifier);
    expect(url.searchParams.get("code_challenge")).toBe(await client.calculatePKCECodeChallenge(verifier));

    const second = await approve(e.id);
    expect(second.state).not.toBe(state);
  });

  it("asks for a nonce when the request includes openid", async () => {
    const e = await elicit(notesId, ["openid", "notes:read"]);
    const { url, state } = await approve(e.id);
    expect(url.searchParams.get("nonce")).toBeTruthy();
    const row = await db.oAuthTransaction.findUnique({ where: { stateHash: sha256Hex(state) }, select: { nonce: true } });
    expect(row?.nonce).toBe(url.searchParams.get("nonce"));
  });

  it("is refused for another user and creates no state", async () => {
    const e = await elicit();
    const before = await db.oAuthTransaction.count();
    expect(await startUpstreamAuthorization(e.id, bob)).toEqual({ ok: false, reason: "wrong_user" });
    expect(await db.oAuthTransaction.count()).toBe(before);
  });
});

describe("callback rejections", () => {
  it("without state: rejected and audited, no token request", async () => {
    const before = upstream.stats.tokenRequests;
    expect(await completeUpstreamAuthorization({ providerSlug: "notes", query: callback(null), viewer: alice })).toEqual({ outcome: "rejected", reason: "missing_state" });
    expect(upstream.stats.tokenRequests).toBe(before);
    expect(await db.auditEvent.count({ where: { action: "oauth.callback_rejected", reason: "missing_state" } })).toBe(1);
  });

  it("without a session, or in another user's session: rejected and the transaction is not consumed", async () => {
    const e = await elicit();
    const { state } = await approve(e.id);
    expect(await completeUpstreamAuthorization({ providerSlug: "notes", query: callback(state), viewer: null })).toEqual({ outcome: "rejected", reason: "no_session" });
    expect(await completeUpstreamAuthorization({ providerSlug: "notes", query: callback(state), viewer: bob })).toEqual({ outcome: "rejected", reason: "invalid_state" });
    expect(await transactions(state)).toBe(1);
    expect(await status(e.id)).toBe("pending");
  });

  it("at another provider's redirect URI (mix-up): rejected, and the state is gone for good", async () => {
    const e = await elicit();
    const { state } = await approve(e.id);
    expect(await completeUpstreamAuthorization({ providerSlug: "keys", query: callback(state), viewer: alice })).toEqual({ outcome: "rejected", reason: "provider_mismatch" });
    expect(await transactions(state)).toBe(0);
    expect(await completeUpstreamAuthorization({ providerSlug: "notes", query: callback(state), viewer: alice })).toEqual({ outcome: "rejected", reason: "invalid_state" });
  });

  it("with an RFC 9207 iss naming someone else: rejected before any exchange", async () => {
    const e = await elicit();
    const { state } = await approve(e.id);
    const before = upstream.stats.tokenRequests;
    const result = await completeUpstreamAuthorization({ providerSlug: "notes", query: callback(state, { iss: "http://evil.example" }), viewer: alice });
    expect(result).toEqual({ outcome: "rejected", reason: "provider_mismatch" });
    expect(upstream.stats.tokenRequests).toBe(before);
  });

  it("after the transaction expired: rejected", async () => {
    const e = await elicit();
    const { state } = await approve(e.id);
    await db.oAuthTransaction.update({ where: { stateHash: sha256Hex(state) }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await completeUpstreamAuthorization({ providerSlug: "notes", query: callback(state), viewer: alice })).toEqual({ outcome: "rejected", reason: "invalid_state" });
  });

  it("for an elicitation no longer pending: rejected, nothing written", async () => {
    const e = await elicit();
    const { state } = await approve(e.id);
    await db.elicitation.update({ where: { id: e.id }, data: { status: "declined" } });
    expect(await completeUpstreamAuthorization({ providerSlug: "notes", query: callback(state), viewer: alice })).toEqual({ outcome: "rejected", reason: "not_pending" });
  });

  it("with a code the upstream does not know: the exchange fails, nothing is stored, the request stays pending", async () => {
    const e = await elicit();
    const { state } = await approve(e.id);
    const before = upstream.stats.tokenRequests;
    const result = await completeUpstreamAuthorization({ providerSlug: "notes", query: callback(state, { iss: upstream.issuer }), viewer: alice });
    expect(result).toEqual({ outcome: "retry", elicitationId: e.id, notice: "upstream_error" });
    expect(upstream.stats.tokenRequests).toBe(before + 1);
    expect(await status(e.id)).toBe("pending");
    expect(await db.grant.count({ where: { userId: alice.userId, providerId: notesId } })).toBe(0);
  });
});

describe("provider errors", () => {
  it("access_denied declines, invalid_scope fails, a transient error leaves the request pending", async () => {
    const denied = await elicit();
    const a = await approve(denied.id);
    expect(await completeUpstreamAuthorization({ providerSlug: "notes", query: new URLSearchParams({ state: a.state, error: "access_denied" }), viewer: alice })).toEqual({
      outcome: "settled",
      elicitationId: denied.id,
      notice: "upstream_denied",
    });
    expect(await status(denied.id)).toBe("declined");

    const scope = await elicit();
    const b = await approve(scope.id);
    expect((await completeUpstreamAuthorization({ providerSlug: "notes", query: new URLSearchParams({ state: b.state, error: "invalid_scope" }), viewer: alice })).outcome).toBe("settled");
    expect(await db.elicitation.findUnique({ where: { id: scope.id } })).toMatchObject({ status: "failed", failureReason: "upstream_invalid_scope" });

    const flaky = await elicit();
    const c = await approve(flaky.id);
    expect(await completeUpstreamAuthorization({ providerSlug: "notes", query: new URLSearchParams({ state: c.state, error: "temporarily_unavailable" }), viewer: alice })).toEqual({
      outcome: "retry",
      elicitationId: flaky.id,
      notice: "upstream_error",
    });
    expect(await status(flaky.id)).toBe("pending");
    const audited = await db.auditEvent.findMany({ where: { action: { in: ["elicitation.declined", "elicitation.failed"] } }, select: { action: true, reason: true } });
    expect(audited).toEqual(expect.arrayContaining([{ action: "elicitation.declined", reason: "upstream_access_denied" }, { action: "elicitation.failed", reason: "upstream_invalid_scope" }]));
  });
});

describe("decline", () => {
  it("only the owner can decline; it also drops authorizations in flight", async () => {
    const e = await elicit();
    const { state } = await approve(e.id);
    expect(await declineConsent(e.id, bob)).toEqual({ ok: false, reason: "wrong_user" });
    expect(await status(e.id)).toBe("pending");
    expect(await declineConsent(e.id, alice)).toEqual({ ok: true });
    expect(await status(e.id)).toBe("declined");
    expect(await transactions(state)).toBe(0);
    expect(await declineConsent(e.id, alice)).toEqual({ ok: false, reason: "declined" });
  });
});

describe("the consent form guard (CSRF)", () => {
  const purpose = "consent:eli_x";
  const ok = () => ({ origin: BASE, secFetchSite: "same-origin", formToken: createFormToken(alice.sessionHash, purpose), sessionHash: alice.sessionHash, purpose });

  it("accepts a same-origin POST carrying this session's token for this form", () => {
    expect(() => verifyPortalPost(ok())).not.toThrow();
    expect(() => verifyPortalPost({ ...ok(), secFetchSite: null })).not.toThrow();
  });

  it("rejects a POST without the token, with another session's or form's token, or from another origin", () => {
    const cases = [
      { ...ok(), formToken: undefined },
      { ...ok(), formToken: "" },
      { ...ok(), formToken: createFormToken(bob.sessionHash, purpose) },
      { ...ok(), formToken: createFormToken(alice.sessionHash, "revoke") },
      { ...ok(), origin: null },
      { ...ok(), origin: "http://evil.example" },
      { ...ok(), origin: "null" },
      { ...ok(), secFetchSite: "cross-site" },
      { ...ok(), secFetchSite: "same-site" },
    ];
    for (const input of cases) expect(() => verifyPortalPost(input)).toThrow(expect.objectContaining({ code: "forbidden" }));
  });
});

describe("API-key connect", () => {
  it("checks the key at the validation URL, stores it sealed, and completes", async () => {
    const short = await elicit(keysId, []);
    expect(await connectApiKey(short.id, alice, "short")).toEqual({ ok: false, reason: "invalid_key" });
    expect(await connectApiKey(short.id, alice, "has spaces in it")).toEqual({ ok: false, reason: "invalid_key" });

    const e = await elicit(keysId, []);
    expect(await connectApiKey(e.id, alice, "wrong-key-123456")).toEqual({ ok: false, reason: "key_rejected" });
    expect(await status(e.id)).toBe("pending");
    expect(await db.grant.count({ where: { userId: alice.userId, providerId: keysId } })).toBe(0);
    expect(await connectApiKey(e.id, bob, "good-key-123456")).toEqual({ ok: false, reason: "wrong_user" });

    expect(await connectApiKey(e.id, alice, "good-key-123456")).toEqual({ ok: true });
    expect(keyRequests).toContain("Key good-key-123456");
    expect(await status(e.id)).toBe("completed");
    const grant = await db.grant.findUnique({ where: { userId_providerId: { userId: alice.userId, providerId: keysId } }, select: { apiKeyCipher: true, status: true } });
    expect(grant?.status).toBe("active");
    expect(grant?.apiKeyCipher).toBeTruthy();
    expect(grant?.apiKeyCipher).not.toContain("good-key-123456");
    // Connecting approved the requester of the request (the gateway; no verified agent) for it.
    expect(
      await db.requesterApproval.findMany({
        where: { grant: { userId: alice.userId, providerId: keysId } },
        select: { gatewayId: true, agentId: true, approvedBy: true, approvedById: true, withdrawnAt: true },
      }),
    ).toEqual([{ gatewayId, agentId: null, approvedBy: "user", approvedById: alice.userId, withdrawnAt: null }]);
    expect(await connectApiKey(e.id, alice, "good-key-123456")).toEqual({ ok: false, reason: "completed" });
  });
});
