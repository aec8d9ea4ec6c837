// Cross-app access (ID-JAG, draft-ietf-oauth-identity-assertion-authz-grant-03) against real
// servers: the organization's IdP (oidc-provider) issuing ID-JAGs by RFC 8693 token exchange under
// a policy (alice allowed, bob denied), the Notes authorization server (oidc-provider) redeeming
// them with the RFC 7523 jwt-bearer grant, real PostgreSQL; Frontdesk's gateway handlers called
// with the requests gateways send.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { frontdeskHandlersFetch } from "../helpers/frontdesk-fetch";
import { useTestDatabase } from "../helpers/test-db";
import { basicAuth, ID_TOKEN_TYPE, SUBJECT_AUDIENCE, TOKEN_EXCHANGE_GRANT, tokenRequest, startGatewayTestbed, type GatewayTestbed } from "../helpers/gateway-testbed";
import { CrossAppAccessProvider, discoverAuthorizationServerMetadata, exchangeJwtAuthGrant, fetchToken, requestJwtAuthorizationGrant } from "@modelcontextprotocol/client";
import { generateKeyPair, SignJWT } from "jose";
import { AGENT_IDP_CLIENT, IDP_CLIENT } from "../helpers/oidc-idp";

await useTestDatabase();

let bed: GatewayTestbed;
let token: (req: Request) => Promise<Response>;

beforeAll(async () => {
  bed = await startGatewayTestbed({
    // A loopback origin: the MCP SDK refuses plain-http token endpoints elsewhere. Nothing listens
    // there; the SDK's fetch is routed into Frontdesk's handlers (frontdeskFetch below).
    frontdeskUrl: "http://localhost:1",
    crossAppAccess: { fallback: "deny" },
    // Subject tokens for Frontdesk: the gateways' audience, and ID tokens issued to Frontdesk's IdP client.
    extraEnv: { SUBJECT_TOKEN_AUDIENCES: `${SUBJECT_AUDIENCE},${IDP_CLIENT.clientId}` },
  });
  token = (await import("@/lib/gateway-api/token-exchange")).handleTokenRequest;
  metadata = (await import("@/lib/gateway-api/discovery")).handleAuthorizationServerMetadata;
  frontdeskFetch = await frontdeskHandlersFetch(bed.frontdeskUrl);
}, 60_000);

let metadata: (req: Request) => Promise<Response>;
/** fetch for the MCP SDK and the reference gateway: Frontdesk's URLs reach its handlers, the rest the network. */
let frontdeskFetch: typeof fetch;

afterAll(async () => {
  await bed?.close();
});

/** An ID token the IdP issued to Frontdesk (aud = Frontdesk's client id at the IdP). */
function idTokenFor(user: "alice" | "bob", aud: string = IDP_CLIENT.clientId) {
  return bed.idp.signSubjectToken({ sub: bed.idp.users[user].sub, aud, extra: { email: bed.idp.users[user].email } });
}

async function exchange(subjectToken: string, opts: { gateway?: GatewayTestbed["basic"]; scope?: string } = {}) {
  const gw = opts.gateway ?? bed.basic;
  const res = await token(
    tokenRequest(
      bed.frontdeskUrl,
      [
        ["grant_type", TOKEN_EXCHANGE_GRANT],
        ["subject_token", subjectToken],
        ["subject_token_type", ID_TOKEN_TYPE],
        ["resource", bed.upstream.apiUrl],
        ["scope", opts.scope ?? "notes:read"],
      ],
      { authorization: basicAuth(gw.id, gw.secret!) },
    ),
  );
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function auditRows(action: string) {
  const { getDb } = await import("@/lib/db/client");
  const db = await getDb();
  return db.auditEvent.findMany({ where: { action, providerId: bed.providerId }, orderBy: { seq: "asc" } });
}

async function setFallback(fallback: "deny" | "consent") {
  const { getDb } = await import("@/lib/db/client");
  const { forgetProviders } = await import("@/lib/gateway-api/providers");
  await (await getDb()).provider.update({ where: { id: bed.providerId }, data: { crossAppAccessFallback: fallback } });
  forgetProviders();
}

describe("local servers", () => {
  it("the IdP advertises ID-JAG issuance and Notes the ID-JAG grant profile with the jwt-bearer grant (draft §7)", async () => {
    const idp = (await (await fetch(`${bed.idp.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string[]>;
    expect(idp.identity_chaining_requested_token_types_supported).toEqual(["urn:ietf:params:oauth:token-type:id-jag"]);
    expect(idp.grant_types_supported).toContain("urn:ietf:params:oauth:grant-type:token-exchange");
    const notes = (await (await fetch(`${bed.upstream.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string[]>;
    expect(notes.authorization_grant_profiles_supported).toEqual(["urn:ietf:params:oauth:grant-profile:id-jag"]);
    expect(notes.grant_types_supported).toContain("urn:ietf:params:oauth:grant-type:jwt-bearer");
  });
});

describe("outbound: Frontdesk obtains the grant through the IdP", () => {
  it("does not present a token that is not an ID token issued to Frontdesk, nor a trusted gateway's named user: URL consent, the IdP never asked", async () => {
    const asked = bed.idp.idJagDecisions.length;
    const foreign = await exchange(await idTokenFor("alice", SUBJECT_AUDIENCE));
    expect(foreign.status).toBe(400);
    expect(foreign.body.error).toBe("interaction_required");
    const { handleResolve } = await import("@/lib/gateway-api/resolve");
    const named = await handleResolve(
      new Request(`${bed.frontdeskUrl}/api/v1/resolve`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: basicAuth(bed.trusted.id, bed.trusted.secret!) },
        body: JSON.stringify({ provider: bed.providerSlug, subject: bed.idp.users.alice.sub, scopes: ["notes:read"] }),
      }),
    );
    // REST resolve's consent-needed answer: 403 with the MCP error to forward.
    expect(named.status).toBe(403);
    expect(JSON.stringify(await named.json())).toContain("/connect/eli_");
    expect(bed.idp.idJagDecisions.length).toBe(asked);
    const rows = await auditRows("token_exchange");
    expect((rows.at(-1)!.context as { crossAppAccess?: unknown }).crossAppAccess).toEqual({ notApplicable: "subject_token_not_for_frontdesk" });
  });

  it("alice: no grant, no browser: the IdP issues an ID-JAG, Notes redeems it, the token works; audited as cross-app access", async () => {
    const { getDb } = await import("@/lib/db/client");
    const db = await getDb();
    const elicitationsBefore = await db.elicitation.count();
    const res = await exchange(await idTokenFor("alice"), { scope: "notes:read" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: "Bearer", issued_token_type: "urn:ietf:params:oauth:token-type:access_token" });
    expect(String(res.body.scope).split(" ")).toContain("notes:read");
    const api = await fetch(`${bed.upstream.apiUrl}/notes`, { headers: { authorization: `Bearer ${String(res.body.access_token)}` } });
    expect(api.status).toBe(200);
    expect(((await api.json()) as { owner: string }).owner).toBe("alice");

    const issued = bed.idp.idJagDecisions.filter((d) => d.decision === "issued");
    expect(issued.at(-1)).toMatchObject({ clientId: IDP_CLIENT.clientId, subject: "alice", audience: bed.upstream.issuer, scope: "notes:read" });
    expect(bed.upstream.idJagRedemptions.at(-1)).toMatchObject({ decision: "issued", clientId: bed.upstream.clientId, subject: "alice" });

    const allow = (await auditRows("token_exchange")).at(-1)!;
    expect(allow.decision).toBe("allow");
    expect(allow.context).toMatchObject({
      obtainedBy: "cross_app_access",
      crossAppAccess: { idp: bed.idp.issuer, audience: bed.upstream.issuer, idpDecision: "issued", providerDecision: "issued", scopes: ["notes:read"] },
      consent: { via: "cross_app_access" },
    });
    const grant = await db.grant.findFirstOrThrow({
      where: { providerId: bed.providerId, user: { subject: "alice" } },
      select: { id: true, scopes: true, refreshTokenCipher: true },
    });
    expect(grant.scopes).toEqual(["notes:read"]);
    expect(grant.refreshTokenCipher).toBeNull();
    expect(await db.requesterApproval.findFirst({ where: { grantId: grant.id, gatewayId: bed.basic.id } })).toMatchObject({ approvedBy: "cross_app_access" });
    expect(await db.elicitation.count()).toBe(elicitationsBefore);
    // Stored and served like any grant: the next call does not ask the IdP again.
    const asked = bed.idp.idJagDecisions.length;
    const again = await exchange(await idTokenFor("alice"));
    expect(again.status).toBe(200);
    expect(again.body.access_token).toBe(res.body.access_token);
    expect(bed.idp.idJagDecisions.length).toBe(asked);
  });

  it("alice asks for more, or her token expired: a new ID-JAG for everything the grant holds, no refresh token needed", async () => {
    const wider = await exchange(await idTokenFor("alice"), { scope: "notes:write" });
    expect(wider.status).toBe(200);
    expect(bed.idp.idJagDecisions.at(-1)).toMatchObject({ decision: "issued", scope: "notes:read notes:write" });
    const { getDb } = await import("@/lib/db/client");
    const db = await getDb();
    const grant = await db.grant.findFirstOrThrow({ where: { providerId: bed.providerId, user: { subject: "alice" } } });
    expect([...grant.scopes].sort()).toEqual(["notes:read", "notes:write"]);
    await db.grant.update({ where: { id: grant.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const renewed = await exchange(await idTokenFor("alice"));
    expect(renewed.status).toBe(200);
    expect(renewed.body.access_token).not.toBe(wider.body.access_token);
    const api = await fetch(`${bed.upstream.apiUrl}/notes`, { headers: { authorization: `Bearer ${String(renewed.body.access_token)}` } });
    expect(api.status).toBe(200);
  });

  it("bob: the IdP's policy refuses; with fallback deny the gateway gets access_denied, audited with the IdP's decision, nothing stored", async () => {
    const res = await exchange(await idTokenFor("bob"));
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("access_denied");
    expect(res.body.access_token).toBeUndefined();
    expect(bed.idp.idJagDecisions.at(-1)).toMatchObject({ subject: "bob", decision: "refused", reason: "policy_denied" });
    const deny = (await auditRows("token_exchange")).at(-1)!;
    expect(deny.decision).toBe("deny");
    expect(deny.reason).toBe("cross_app_access:invalid_grant");
    expect(deny.context).toMatchObject({ crossAppAccess: { idp: bed.idp.issuer, idpDecision: "invalid_grant", description: "policy does not allow this user to access that application" } });
    const { getDb } = await import("@/lib/db/client");
    const db = await getDb();
    expect(await db.grant.count({ where: { providerId: bed.providerId, user: { subject: "bob" } } })).toBe(0);
    expect(await db.elicitation.count({ where: { userSubject: "bob", providerId: bed.providerId } })).toBe(0);
  });

  it("bob with fallback consent: URL consent instead, the IdP's refusal recorded on the elicitation's audit row", async () => {
    await setFallback("consent");
    try {
      const res = await exchange(await idTokenFor("bob"));
      expect(res.status).toBe(400);
      expect(res.body.error).toBe("interaction_required");
      expect((res.body.elicitation as { url: string }).url).toMatch(/\/connect\/eli_/);
      const row = (await auditRows("token_exchange")).at(-1)!;
      expect(row.reason).toBe("interaction_required:no_grant");
      expect(row.context).toMatchObject({ crossAppAccess: { idpDecision: "invalid_grant" } });
    } finally {
      await setFallback("deny");
    }
  });

  it("Notes down while redeeming: a retryable 503 with Retry-After, never a refusal or a 500; the grant is kept", async () => {
    const { getDb } = await import("@/lib/db/client");
    const db = await getDb();
    const grant = await db.grant.findFirstOrThrow({ where: { providerId: bed.providerId, user: { subject: "alice" } } });
    await db.grant.update({ where: { id: grant.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    bed.upstream.failTokenEndpoint("5xx");
    try {
      const res = await token(
        tokenRequest(bed.frontdeskUrl, [["grant_type", TOKEN_EXCHANGE_GRANT], ["subject_token", await idTokenFor("alice")], ["subject_token_type", ID_TOKEN_TYPE], ["resource", bed.upstream.apiUrl]], {
          authorization: basicAuth(bed.basic.id, bed.basic.secret!),
        }),
      );
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBeTruthy();
      expect(((await res.json()) as { error: string }).error).toBe("temporarily_unavailable");
      const row = (await auditRows("token_exchange")).at(-1)!;
      expect(row).toMatchObject({ decision: "deny", reason: "cross_app_access:provider_unavailable" });
      expect(row.context).toMatchObject({ crossAppAccess: { idpDecision: "issued", providerDecision: "unavailable" } });
    } finally {
      bed.upstream.failTokenEndpoint("none");
    }
    expect(await db.grant.count({ where: { id: grant.id } })).toBe(1);
    const after = await exchange(await idTokenFor("alice"));
    expect(after.status).toBe(200);
  });
});

describe("outbound: the IdP down, and providers that do not advertise the grant profile", () => {
  it("the IdP answering 503, dropping the connection or hanging: 503 + Retry-After, audited, never a 500, never the URL-consent fallback, nothing stored", async () => {
    const { getDb } = await import("@/lib/db/client");
    const db = await getDb();
    await db.grant.deleteMany({ where: { providerId: bed.providerId } });
    // Fallback consent: the strictest case, since a refusal would fall back to a consent link.
    await setFallback("consent");
    try {
      for (const mode of ["5xx", "reset", "timeout"] as const) {
        const elicitations = await db.elicitation.count();
        const asked = bed.idp.idJagDecisions.length;
        const idToken = await idTokenFor("alice");
        bed.idp.failTokenEndpoint(mode);
        let res: Response;
        try {
          res = await token(
            tokenRequest(bed.frontdeskUrl, [["grant_type", TOKEN_EXCHANGE_GRANT], ["subject_token", idToken], ["subject_token_type", ID_TOKEN_TYPE], ["resource", bed.upstream.apiUrl]], {
              authorization: basicAuth(bed.basic.id, bed.basic.secret!),
            }),
          );
        } finally {
          bed.idp.failTokenEndpoint("none");
        }
        const text = await res.text();
        expect(res.status, mode).toBe(503);
        expect(res.headers.get("retry-after"), mode).toBeTruthy();
        expect((JSON.parse(text) as { error: string }).error, mode).toBe("temporarily_unavailable");
        // Nothing of the call leaks into the answer: no token, no consent link.
        expect(text, mode).not.toContain(idToken);
        expect(text, mode).not.toContain("/connect/");
        expect(bed.idp.idJagDecisions.length, mode).toBe(asked);
        expect(await db.elicitation.count(), mode).toBe(elicitations);
        expect(await db.grant.count({ where: { providerId: bed.providerId } }), mode).toBe(0);
        const row = (await auditRows("token_exchange")).at(-1)!;
        expect(row, mode).toMatchObject({ decision: "deny", reason: "cross_app_access:idp_unavailable" });
        expect(row.context, mode).toMatchObject({ crossAppAccess: { idp: bed.idp.issuer, audience: bed.upstream.issuer, idpDecision: "unavailable" } });
      }
    } finally {
      await setFallback("deny");
    }
    // Back up: the same call succeeds.
    expect((await exchange(await idTokenFor("alice"))).status).toBe(200);
  }, 90_000);

  it("when_advertised and a provider whose metadata lacks the ID-JAG profile: URL consent, the IdP never asked; set to always, the IdP is asked and the provider's refusal is audited", async () => {
    const { startUpstream } = await import("../helpers/oidc-upstream");
    const { createProvider } = await import("@/lib/providers/create");
    const { createPolicyRule } = await import("@/lib/policy/rules");
    const { getDb } = await import("@/lib/db/client");
    const { forgetProviders } = await import("@/lib/gateway-api/providers");
    // Like most SaaS today: an OAuth server without the jwt-bearer grant or the profile.
    const plain = await startUpstream({ redirectUris: [`${bed.frontdeskUrl}/api/oauth/callback/tasks`] });
    try {
      const tasks = await createProvider({
        slug: "tasks",
        displayName: "Tasks",
        kind: "oidc",
        issuer: plain.issuer,
        clientId: plain.clientId,
        clientSecret: plain.clientSecret,
        defaultScopes: ["notes:read"],
        resourceUrls: [plain.apiUrl],
        allowInsecureHttp: true,
        crossAppAccess: "when_advertised",
        crossAppAccessFallback: "deny",
      });
      // Policy as for Notes: the gateway may ask for it, and any user may use it.
      await createPolicyRule({ providerId: tasks.id, gatewayId: bed.basic.id, scopes: ["notes:read"] }, { type: "admin", id: "test" });
      await createPolicyRule({ providerId: tasks.id, gatewayId: null }, { type: "admin", id: "test" });
      forgetProviders();
      // The IdP would issue: so only the metadata check keeps it from being asked.
      bed.idp.crossAppAccess.relationships.push({ audience: plain.issuer, clientIds: { [IDP_CLIENT.clientId]: plain.clientId }, allowedSubjects: [bed.idp.users.alice.sub], scopes: ["notes:read"] });
      const call = async () => {
        const res = await token(
          tokenRequest(bed.frontdeskUrl, [["grant_type", TOKEN_EXCHANGE_GRANT], ["subject_token", await idTokenFor("alice")], ["subject_token_type", ID_TOKEN_TYPE], ["resource", plain.apiUrl], ["scope", "notes:read"]], {
            authorization: basicAuth(bed.basic.id, bed.basic.secret!),
          }),
        );
        const db = await getDb();
        const row = await db.auditEvent.findFirstOrThrow({ where: { action: "token_exchange", providerId: tasks.id }, orderBy: { seq: "desc" } });
        return { status: res.status, body: (await res.json()) as Record<string, unknown>, row };
      };
      const asked = bed.idp.idJagDecisions.length;
      const advertised = await call();
      expect(advertised.status).toBe(400);
      expect(advertised.body.error).toBe("interaction_required");
      expect((advertised.body.elicitation as { url: string }).url).toMatch(/\/connect\/eli_/);
      expect(bed.idp.idJagDecisions.length).toBe(asked);
      expect((advertised.row.context as { crossAppAccess?: unknown }).crossAppAccess).toEqual({ notApplicable: "not_advertised" });

      await (await getDb()).provider.update({ where: { id: tasks.id }, data: { crossAppAccess: "always" } });
      forgetProviders();
      const always = await call();
      expect(bed.idp.idJagDecisions.slice(asked)).toMatchObject([{ subject: "alice", audience: plain.issuer, decision: "issued" }]);
      expect(always.status).toBe(400);
      expect(always.body.error).toBe("access_denied");
      expect(always.row).toMatchObject({ decision: "deny", reason: "cross_app_access:unsupported_grant_type" });
      expect(always.row.context).toMatchObject({ crossAppAccess: { idpDecision: "issued", providerDecision: "unsupported_grant_type" } });
      expect(await (await getDb()).grant.count({ where: { providerId: tasks.id } })).toBe(0);
    } finally {
      await plain.close();
    }
  });
});

describe("through the reference gateway (demo/gateway, inject mode)", () => {
  it("alice gets her notes with no browser step; bob is refused by the IdP's policy and gets the gateway's 403 access_denied", async () => {
    const { startEgressGateway } = await import("@/demo/gateway/server");
    const { getDb } = await import("@/lib/db/client");
    const db = await getDb();
    // A fresh start: alice's earlier grant is gone, so the gateway's call must go through the IdP.
    await db.grant.deleteMany({ where: { providerId: bed.providerId } });
    const asked = bed.idp.idJagDecisions.length;
    const gw = await startEgressGateway({
      frontdeskUrl: bed.frontdeskUrl,
      mode: "inject",
      client: { tokenEndpoint: `${bed.frontdeskUrl}/oauth/token`, clientId: bed.basic.id, clientSecret: bed.basic.secret! },
      routes: [{ name: "notes", target: bed.upstream.apiUrl, scopes: ["notes:read"] }],
      fetch: frontdeskFetch,
    });
    try {
      const alice = await fetch(`${gw.url}/notes/notes`, { headers: { authorization: `Bearer ${await idTokenFor("alice")}` } });
      expect(alice.status).toBe(200);
      expect(((await alice.json()) as { owner: string }).owner).toBe("alice");
      expect(bed.idp.idJagDecisions.slice(asked)).toMatchObject([{ subject: "alice", decision: "issued" }]);
      const bob = await fetch(`${gw.url}/notes/notes`, { headers: { authorization: `Bearer ${await idTokenFor("bob")}` } });
      expect(bob.status).toBe(403);
      expect(((await bob.json()) as { error: string }).error).toBe("access_denied");
      expect(bed.idp.idJagDecisions.at(-1)).toMatchObject({ subject: "bob", decision: "refused", reason: "policy_denied" });
      const deny = (await auditRows("token_exchange")).at(-1)!;
      expect(deny).toMatchObject({ decision: "deny", reason: "cross_app_access:invalid_grant", gatewayId: bed.basic.id });
    } finally {
      await gw.close();
    }
  });
});

describe("egress proxy and ext_authz: the same subject token, the same cross-app access", () => {
  it("alice through the egress proxy and through ext_authz: her notes with no browser step, each obtained through the IdP and audited; bob refused by the IdP's policy", async () => {
    const { getDb } = await import("@/lib/db/client");
    const { forgetProviders } = await import("@/lib/gateway-api/providers");
    const { NOTES_REQUEST_RULES } = await import("@/demo/upstream-provider");
    const [{ proxyHandler }, { handleExtAuthz }] = await Promise.all([import("@/lib/egress/proxy"), import("@/lib/egress/ext-authz")]);
    const db = await getDb();
    // The demo Notes API is on loopback: the proxy may reach it for this provider only.
    await db.provider.update({ where: { id: bed.providerId }, data: { allowPrivateNetwork: true, requestRules: NOTES_REQUEST_RULES } });
    forgetProviders();
    const proxy = proxyHandler();
    const viaProxy = async (user: "alice" | "bob") =>
      proxy(
        new Request(`${bed.frontdeskUrl}/api/v1/proxy/notes/notes`, {
          headers: { authorization: basicAuth(bed.basic.id, bed.basic.secret!), "frontdesk-subject-token": await idTokenFor(user), "frontdesk-scopes": "notes:read" },
        }),
      );
    // ext_authz as Envoy sends it: the original request's Authorization is the user's token.
    const viaExtAuthz = async (user: "alice" | "bob") =>
      handleExtAuthz(
        new Request(`${bed.frontdeskUrl}/api/v1/ext-authz/notes/notes`, {
          headers: { "frontdesk-gateway-authorization": basicAuth(bed.basic.id, bed.basic.secret!), authorization: `Bearer ${await idTokenFor(user)}` },
        }),
      );
    const lastRow = async (action: string) => {
      const { flushAudit } = await import("@/lib/audit/append");
      await flushAudit();
      return db.auditEvent.findFirstOrThrow({ where: { action, providerId: bed.providerId }, orderBy: { seq: "desc" } });
    };

    await db.grant.deleteMany({ where: { providerId: bed.providerId } });
    let asked = bed.idp.idJagDecisions.length;
    const proxied = await viaProxy("alice");
    expect(proxied.status).toBe(200);
    expect(((await proxied.json()) as { owner: string }).owner).toBe("alice");
    expect(bed.idp.idJagDecisions.slice(asked)).toMatchObject([{ subject: "alice", decision: "issued" }]);
    expect(await lastRow("proxy")).toMatchObject({ decision: "allow", context: expect.objectContaining({ obtainedBy: "cross_app_access" }) });

    await db.grant.deleteMany({ where: { providerId: bed.providerId } });
    asked = bed.idp.idJagDecisions.length;
    const checked = await viaExtAuthz("alice");
    expect(checked.status).toBe(200);
    expect(bed.idp.idJagDecisions.slice(asked)).toMatchObject([{ subject: "alice", decision: "issued" }]);
    const api = await fetch(`${bed.upstream.apiUrl}/notes`, { headers: { authorization: checked.headers.get("authorization")! } });
    expect(((await api.json()) as { owner: string }).owner).toBe("alice");
    expect(await lastRow("ext_authz")).toMatchObject({ decision: "allow", context: expect.objectContaining({ obtainedBy: "cross_app_access" }) });

    for (const [action, call] of [["proxy", viaProxy], ["ext_authz", viaExtAuthz]] as const) {
      const bob = await call("bob");
      expect(bob.status, action).toBe(403);
      expect(await bob.text(), action).not.toContain("/connect/");
      expect(bed.idp.idJagDecisions.at(-1), action).toMatchObject({ subject: "bob", decision: "refused", reason: "policy_denied" });
      expect(await lastRow(action), action).toMatchObject({ decision: "deny", reason: "cross_app_access:invalid_grant" });
    }
  });
});

describe("inbound (interface B): a gateway with an ID-JAG for Frontdesk", () => {
  /** The agent's own ID token at the IdP (aud = its IdP client), which it exchanges for an ID-JAG. */
  const agentIdToken = (user: "alice" | "bob") => bed.idp.signSubjectToken({ sub: bed.idp.users[user].sub, aud: AGENT_IDP_CLIENT.clientId });

  async function idJagFromIdp(user: "alice" | "bob", scope = "notes:read") {
    const { jwtAuthGrant } = await requestJwtAuthorizationGrant({
      tokenEndpoint: `${bed.idp.issuer}/token`,
      audience: bed.frontdeskUrl,
      resource: bed.upstream.apiUrl,
      idToken: await agentIdToken(user),
      clientId: AGENT_IDP_CLIENT.clientId,
      clientSecret: AGENT_IDP_CLIENT.clientSecret,
      scope,
    });
    return jwtAuthGrant;
  }

  /** agentgateway's crossAppAccess second leg: grant_type, assertion, scope; client_secret_basic. */
  async function redeem(assertion: string, opts: { gateway?: GatewayTestbed["basic"]; scope?: string } = {}) {
    const gw = opts.gateway ?? bed.basic;
    const res = await token(
      tokenRequest(bed.frontdeskUrl, [["grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"], ["assertion", assertion], ["scope", opts.scope ?? "notes:read"]], {
        authorization: basicAuth(gw.id, gw.secret!),
      }),
    );
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function forged(claims: Record<string, unknown>, opts: { typ?: string; expiresIn?: number; key?: CryptoKey; iss?: string } = {}) {
    const now = Math.floor(Date.now() / 1000);
    const full = { sub: "alice", aud: bed.frontdeskUrl, client_id: bed.basic.id, jti: crypto.randomUUID(), scope: "notes:read", resource: bed.upstream.apiUrl, ...claims };
    if (opts.key) {
      return new SignJWT(full)
        .setProtectedHeader({ alg: "RS256", kid: "evil", typ: opts.typ ?? "oauth-id-jag+jwt" })
        .setIssuer(opts.iss!)
        .setIssuedAt(now)
        .setExpirationTime(now + (opts.expiresIn ?? 300))
        .sign(opts.key);
    }
    return bed.idp.signJwt(full, { typ: opts.typ ?? "oauth-id-jag+jwt", expiresIn: opts.expiresIn });
  }

  it("discovery advertises the jwt-bearer grant and the ID-JAG profile, and no issuer list (draft §7, §8.4)", async () => {
    const meta = (await (await metadata(new Request(`${bed.frontdeskUrl}/.well-known/oauth-authorization-server`))).json()) as Record<string, unknown>;
    expect(meta.grant_types_supported).toEqual(["urn:ietf:params:oauth:grant-type:token-exchange", "urn:ietf:params:oauth:grant-type:jwt-bearer"]);
    expect(meta.authorization_grant_profiles_supported).toEqual(["urn:ietf:params:oauth:grant-profile:id-jag"]);
    expect(JSON.stringify(meta)).not.toContain(bed.idp.issuer);
  });

  it("the MCP SDK's CrossAppAccessProvider gets an ID-JAG from the IdP and alice's Notes token from Frontdesk's token endpoint", async () => {
    const provider = new CrossAppAccessProvider({
      assertion: async (ctx) =>
        (
          await requestJwtAuthorizationGrant({
            tokenEndpoint: `${bed.idp.issuer}/token`,
            audience: ctx.authorizationServerUrl,
            resource: ctx.resourceUrl,
            idToken: await agentIdToken("alice"),
            clientId: AGENT_IDP_CLIENT.clientId,
            clientSecret: AGENT_IDP_CLIENT.clientSecret,
            scope: ctx.scope,
            fetchFn: ctx.fetchFn,
          })
        ).jwtAuthGrant,
      clientId: bed.basic.id,
      clientSecret: bed.basic.secret!,
      expectedIssuer: bed.frontdeskUrl,
      fetchFn: frontdeskFetch,
    });
    // What auth() records after RFC 9728 / RFC 8414 discovery: Frontdesk as the authorization server of the Notes API.
    provider.saveAuthorizationServerUrl(bed.frontdeskUrl);
    provider.saveResourceUrl!(bed.upstream.apiUrl);
    // The SDK's discoverAuthorizationServerMetadata insists on an authorization_endpoint, which
    // Frontdesk (token endpoint only) does not have: its RFC 8414 document is passed as fetched.
    await expect(discoverAuthorizationServerMetadata(bed.frontdeskUrl, { fetchFn: frontdeskFetch })).rejects.toThrow(/authorization_endpoint/);
    const asMetadata = (await (await frontdeskFetch(`${bed.frontdeskUrl}/.well-known/oauth-authorization-server`)).json()) as Parameters<typeof fetchToken>[2] extends infer O ? (O extends { metadata?: infer M } ? M : never) : never;
    const tokens = await fetchToken(provider, bed.frontdeskUrl, { metadata: asMetadata, resource: new URL(bed.upstream.apiUrl), scope: "notes:read", fetchFn: frontdeskFetch });
    expect(tokens.token_type).toBe("Bearer");
    // Like token exchange, `scope` is what the connection holds (alice connected read and write above).
    expect(tokens.scope?.split(" ")).toContain("notes:read");
    const api = await fetch(`${bed.upstream.apiUrl}/notes`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(((await api.json()) as { owner: string }).owner).toBe("alice");
    const row = (await auditRows("token_exchange")).at(-1)!;
    expect(row.decision).toBe("allow");
    expect(row.context).toMatchObject({ grantType: "jwt-bearer", subjectSource: "id_jag", idJag: { issuer: bed.idp.issuer } });
  });

  it("agentgateway's crossAppAccess request shape (and the SDK's exchangeJwtAuthGrant) get the same fields as token exchange", async () => {
    const res = await redeem(await idJagFromIdp("alice"));
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["access_token", "expires_in", "issued_token_type", "scope", "token_type"]);
    expect(res.body).toMatchObject({ token_type: "Bearer", issued_token_type: "urn:ietf:params:oauth:token-type:access_token" });
    expect(String(res.body.scope).split(" ")).toContain("notes:read");
    const viaSdk = await exchangeJwtAuthGrant({
      tokenEndpoint: `${bed.frontdeskUrl}/oauth/token`,
      jwtAuthGrant: await idJagFromIdp("alice"),
      clientId: bed.basic.id,
      clientSecret: bed.basic.secret!,
      fetchFn: frontdeskFetch,
    });
    expect(viaSdk.access_token).toBe(res.body.access_token);
  });

  it("bob, who has not connected Notes: interaction_required with the URL elicitation, like token exchange (no cross-app access on an inbound ID-JAG)", async () => {
    const asked = bed.idp.idJagDecisions.filter((d) => d.audience === bed.upstream.issuer).length;
    const res = await redeem(await idJagFromIdp("bob"));
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("interaction_required");
    expect((res.body.elicitation as { mode: string }).mode).toBe("url");
    expect(bed.idp.idJagDecisions.filter((d) => d.audience === bed.upstream.issuer).length).toBe(asked);
  });

  it("refuses a replayed, expired, wrong-audience, wrong-client, wrongly typed or untrusted ID-JAG, and one asking beyond its scope; each audited, none yields a token", async () => {
    const fresh = await idJagFromIdp("alice");
    expect((await redeem(fresh)).status).toBe(200);
    const since = (await auditRows("token_exchange")).at(-1)!;
    const { privateKey } = await generateKeyPair("RS256");
    const cases: [string, string, Promise<{ status: number; body: Record<string, unknown> }>][] = [
      ["replayed", "id_jag:replayed", redeem(fresh)],
      ["expired", "id_jag:expired", forged({}, { expiresIn: -120 }).then((a) => redeem(a))],
      ["another audience", "id_jag:wrong_audience", forged({ aud: bed.upstream.issuer }).then((a) => redeem(a))],
      ["two audiences", "id_jag:wrong_audience", forged({ aud: [bed.frontdeskUrl, bed.upstream.issuer] }).then((a) => redeem(a))],
      ["another client", "id_jag:wrong_client", forged({ client_id: bed.post.id }).then((a) => redeem(a))],
      ["presented by another gateway", "id_jag:wrong_client", idJagFromIdp("alice").then((a) => redeem(a, { gateway: bed.post }))],
      ["typ JWT (an ID token is not an ID-JAG)", "id_jag:wrong_typ", forged({}, { typ: "JWT" }).then((a) => redeem(a))],
      ["sender-constrained (cnf) without DPoP support", "id_jag:sender_constrained_unsupported", forged({ cnf: { jkt: "abc" } }).then((a) => redeem(a))],
      ["untrusted issuer", "id_jag:untrusted_issuer", forged({}, { key: privateKey as CryptoKey, iss: "https://idp.attacker.test" }).then((a) => redeem(a))],
      ["the trusted issuer's name, another key", "id_jag:unknown_key", forged({}, { key: privateKey as CryptoKey, iss: bed.idp.issuer }).then((a) => redeem(a))],
    ];
    for (const [name, , pending] of cases) {
      const res = await pending;
      expect(res.status, name).toBe(400);
      expect(res.body.error, name).toBe("invalid_grant");
      expect(res.body.access_token, name).toBeUndefined();
    }
    // One deny row per refusal, with its own reason (cases sharing a reason need as many rows).
    const { getDb } = await import("@/lib/db/client");
    const rows = await (await getDb()).auditEvent.findMany({ where: { action: "token_exchange", seq: { gt: since.seq }, reason: { startsWith: "id_jag:" } } });
    const expected = cases.map(([, reason]) => reason).sort();
    expect(rows.map((r) => r.reason).sort()).toEqual(expected);
    expect(rows.every((r) => r.decision === "deny")).toBe(true);
    const beyond = await redeem(await idJagFromIdp("alice", "notes:read"), { scope: "notes:write" });
    expect(beyond.status).toBe(400);
    expect(beyond.body.error).toBe("invalid_scope");
  });
});

