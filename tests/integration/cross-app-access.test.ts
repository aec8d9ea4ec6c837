// Cross-app access (ID-JAG, draft-ietf-oauth-identity-assertion-authz-grant-03) against real
// servers: the organization's IdP (oidc-provider) issuing ID-JAGs by RFC 8693 token exchange under
// a policy (alice allowed, bob denied), the Notes authorization server (oidc-provider) redeeming
// them with the RFC 7523 jwt-bearer grant, real PostgreSQL; Frontdesk's gateway handlers called
// with the requests gateways send.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/test-db";
import { basicAuth, ID_TOKEN_TYPE, SUBJECT_AUDIENCE, TOKEN_EXCHANGE_GRANT, tokenRequest, startGatewayTestbed, type GatewayTestbed } from "../helpers/gateway-testbed";
import { IDP_CLIENT } from "../helpers/oidc-idp";

await useTestDatabase();

let bed: GatewayTestbed;
let token: (req: Request) => Promise<Response>;

beforeAll(async () => {
  bed = await startGatewayTestbed({
    crossAppAccess: { fallback: "deny" },
    // Subject tokens for Frontdesk: the gateways' audience, and ID tokens issued to Frontdesk's IdP client.
    extraEnv: { SUBJECT_TOKEN_AUDIENCES: `${SUBJECT_AUDIENCE},${IDP_CLIENT.clientId}` },
  });
  token = (await import("@/lib/gateway-api/token-exchange")).handleTokenRequest;
}, 60_000);

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
    expect(res.body).toMatchObject({ token_type: "Bearer", issued_token_type: "urn:ietf:params:oauth:token-type:access_token", scope: "notes:read" });
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
    } finally {
      bed.upstream.failTokenEndpoint("none");
    }
    expect(await db.grant.count({ where: { id: grant.id } })).toBe(1);
    const after = await exchange(await idTokenFor("alice"));
    expect(after.status).toBe(200);
  });
});
