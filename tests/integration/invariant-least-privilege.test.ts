// Invariant 7 (design.md section 7): least privilege. A response carries a credential only when
// the grant's scopes cover the requested ones, for a provider and scopes that policy allows to
// that gateway and that user; anything else is an elicitation (for the missing scopes only) or
// a denial, and neither carries the credential. In every case below the user HAS a stored
// credential for the provider, so a missing check would hand it out.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/test-db";
import {
  ACCESS_TOKEN_TYPE,
  basicAuth,
  approveGateways,
  connectNotes,
  type GatewayFixture,
  type GatewayTestbed,
  resolveRequest,
  startGatewayTestbed,
  SUBJECT_AUDIENCE,
  TOKEN_EXCHANGE_GRANT,
  tokenRequest,
} from "../helpers/gateway-testbed";

await useTestDatabase();

const admin = { type: "admin" as const, id: "test" };
const VAULT_KEYS = { alice: "vault-key-alice-0123456789abcdef", bob: "vault-key-bob-0123456789abcdef" };

let bed: GatewayTestbed;
let resolve: (req: Request) => Promise<Response>;
let token: (req: Request) => Promise<Response>;
let notesAccessToken: string;
let vaultId: string;
let wikiOnly: GatewayFixture;
let readOnly: GatewayFixture;
const secrets: string[] = [];

beforeAll(async () => {
  bed = await startGatewayTestbed();
  resolve = (await import("@/lib/gateway-api/resolve")).handleResolve;
  token = (await import("@/lib/gateway-api/token-exchange")).handleTokenRequest;
  const { saveGrant } = await import("@/lib/grants/save");
  const { createProvider } = await import("@/lib/providers/create");
  const { createGateway } = await import("@/lib/gateways/register");
  const { createPolicyRule } = await import("@/lib/policy/rules");

  const minted = await connectNotes(bed);
  const notesGrantId = minted.grantId;
  notesAccessToken = minted.accessToken;
  secrets.push(minted.accessToken, minted.refreshToken, ...Object.values(VAULT_KEYS));

  // Two API-key providers. "vault": only the engineering group may use it (alice yes, bob no),
  // through the basic gateway. "wiki": only the wiki-only gateway may ask for it.
  const vault = await createProvider({ slug: "vault", displayName: "Vault", kind: "api_key", apiKeyHeader: "Authorization", apiKeyPrefix: "Bearer " });
  const wiki = await createProvider({ slug: "wiki", displayName: "Wiki", kind: "api_key", apiKeyHeader: "X-Api-Key" });
  vaultId = vault.id;
  for (const user of ["alice", "bob"] as const) {
    // Stored before the rule was narrowed (e.g. bob moved from engineering to sales).
    const { grantId } = await saveGrant({ userId: bed.users[user], providerId: vault.id, scopes: [], credential: { kind: "api_key", apiKey: VAULT_KEYS[user] } });
    await approveGateways(grantId, bed.users[user], [bed.basic.id]);
  }
  await createPolicyRule({ providerId: vault.id, gatewayId: bed.basic.id }, admin);
  await createPolicyRule({ providerId: vault.id, gatewayId: null, groups: ["engineering"] }, admin);
  const w = await createGateway({ name: "wiki-only", authMethod: "client_secret_basic" }, admin);
  wikiOnly = { id: w.gateway.id, name: w.gateway.name, secret: w.secret };
  await createPolicyRule({ providerId: wiki.id, gatewayId: wikiOnly.id }, admin);
  await createPolicyRule({ providerId: wiki.id, gatewayId: null }, admin);
  // A gateway allowed Notes, but read-only.
  const r = await createGateway({ name: "notes-read-only", authMethod: "client_secret_basic" }, admin);
  readOnly = { id: r.gateway.id, name: r.gateway.name, secret: r.secret };
  await createPolicyRule({ providerId: bed.providerId, gatewayId: readOnly.id, scopes: ["notes:read"] }, admin);
  await approveGateways(notesGrantId, bed.users.alice, [readOnly.id]);
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

const subjectToken = (user: "alice" | "bob" = "alice") => bed.idp.signSubjectToken({ sub: bed.idp.users[user].sub, aud: SUBJECT_AUDIENCE });
const auth = (gw: GatewayFixture) => ({ authorization: basicAuth(gw.id, gw.secret!) });

async function exchange(gw: GatewayFixture, audience: string, scope?: string, user: "alice" | "bob" = "alice") {
  const pairs: [string, string][] = [
    ["grant_type", TOKEN_EXCHANGE_GRANT],
    ["subject_token", await subjectToken(user)],
    ["subject_token_type", ACCESS_TOKEN_TYPE],
    ["audience", audience],
  ];
  if (scope) pairs.push(["scope", scope]);
  const res = await token(tokenRequest(bed.frontdeskUrl, pairs, auth(gw)));
  return { status: res.status, text: await res.text() };
}

async function rest(gw: GatewayFixture, provider: string, scopes?: string[], user: "alice" | "bob" = "alice") {
  const res = await resolve(resolveRequest(bed.frontdeskUrl, { subject_token: await subjectToken(user), provider, ...(scopes ? { scopes } : {}) }, auth(gw)));
  return { status: res.status, text: await res.text() };
}

function expectNoSecret(text: string) {
  for (const s of secrets) expect(text).not.toContain(s);
}

async function lastResolveAudit() {
  const { flushAudit } = await import("@/lib/audit/append");
  await flushAudit();
  const { getDb } = await import("@/lib/db/client");
  return (await getDb()).auditEvent.findFirst({ where: { action: { in: ["resolve", "token_exchange"] } }, orderBy: { seq: "desc" } });
}

async function elicitationScopes(id: string) {
  const { getDb } = await import("@/lib/db/client");
  return (await (await getDb()).elicitation.findUniqueOrThrow({ where: { id } })).scopes;
}

describe("granted scopes must cover the requested ones", () => {
  it("token exchange: asking beyond the grant is interaction_required for the missing scope only, with no token", async () => {
    const ok = await exchange(bed.basic, "notes", "notes:read");
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text).access_token).toBe(notesAccessToken);

    for (const scope of ["notes:write", "notes:read notes:write"]) {
      const more = await exchange(bed.basic, "notes", scope);
      expect(more.status).toBe(400);
      const json = JSON.parse(more.text);
      expect(json.error).toBe("interaction_required");
      expect(json).not.toHaveProperty("access_token");
      expectNoSecret(more.text);
      expect(await elicitationScopes(json.elicitation.elicitationId)).toEqual(["notes:write"]);
    }
  });

  it("REST resolve: the same, as a -32042 body without a header", async () => {
    const more = await rest(bed.basic, "notes", ["notes:read", "notes:write"]);
    expect(more.status).toBe(403);
    const json = JSON.parse(more.text);
    expect(json.error.code).toBe(-32042);
    expect(json).not.toHaveProperty("header");
    expectNoSecret(more.text);
    expect(await elicitationScopes(json.error.data.elicitations[0].elicitationId)).toEqual(["notes:write"]);
  });

  it("a grant that is revoked, or needs re-authorization, gives no credential", async () => {
    const { getDb } = await import("@/lib/db/client");
    const db = await getDb();
    const grant = await db.grant.findUniqueOrThrow({ where: { userId_providerId: { userId: bed.users.alice, providerId: bed.providerId } } });
    // Only the status changes (the ciphertext stays), so the status alone must stop it.
    for (const status of ["needs_reauth", "revoked"] as const) {
      await db.grant.update({ where: { id: grant.id }, data: { status } });
      try {
        const res = await rest(bed.basic, "notes", ["notes:read"]);
        expect({ status, http: res.status, code: JSON.parse(res.text).error.code }).toEqual({ status, http: 403, code: -32042 });
        expectNoSecret(res.text);
        const ex = await exchange(bed.basic, "notes", "notes:read");
        expect({ status, error: JSON.parse(ex.text).error }).toEqual({ status, error: "interaction_required" });
        expectNoSecret(ex.text);
      } finally {
        await db.grant.update({ where: { id: grant.id }, data: { status: "active" } });
      }
    }
    expect((await rest(bed.basic, "notes", ["notes:read"])).status).toBe(200);
  });
});

describe("policy: which gateway may ask for which provider and scopes", () => {
  it("a gateway with rules only for another provider is denied, though the user has a credential", async () => {
    const viaRest = await rest(wikiOnly, "vault");
    expect(viaRest.status).toBe(403);
    expect(JSON.parse(viaRest.text).error.code).toBe("policy_denied");
    expectNoSecret(viaRest.text);
    expect(await lastResolveAudit()).toMatchObject({ action: "resolve", decision: "deny", reason: "policy:no_gateway_rule", gatewayId: wikiOnly.id, providerId: vaultId });

    const viaExchange = await exchange(wikiOnly, "vault");
    expect(viaExchange.status).toBe(400);
    expect(JSON.parse(viaExchange.text)).toMatchObject({ error: "invalid_target" });
    expectNoSecret(viaExchange.text);
    expect(await lastResolveAudit()).toMatchObject({ action: "token_exchange", decision: "deny", gatewayId: wikiOnly.id });

    // The gateway that is allowed gets it: the refusal above is the policy, not the grant.
    const allowed = await rest(bed.basic, "vault");
    expect(allowed.status).toBe(200);
    expect(JSON.parse(allowed.text).header).toEqual({ name: "Authorization", value: `Bearer ${VAULT_KEYS.alice}` });
  });

  it("a gateway allowed only some scopes is denied the others outright (no elicitation either)", async () => {
    const { getDb } = await import("@/lib/db/client");
    const db = await getDb();
    const write = await exchange(readOnly, "notes", "notes:write");
    expect(write.status).toBe(400);
    expect(JSON.parse(write.text).error).toBe("invalid_scope");
    const both = await rest(readOnly, "notes", ["notes:read", "notes:write"]);
    expect(both.status).toBe(403);
    expect(JSON.parse(both.text).error.code).toBe("policy_denied");
    expectNoSecret(write.text + both.text);
    expect(await db.elicitation.count({ where: { gatewayId: readOnly.id } })).toBe(0);
    expect(await lastResolveAudit()).toMatchObject({ decision: "deny", reason: "policy:scope_not_allowed_for_gateway", gatewayId: readOnly.id });
    // Within its scopes it works.
    expect((await exchange(readOnly, "notes", "notes:read")).status).toBe(200);
  });

  it("a user outside the provider's user rule is denied, though a credential is stored for them", async () => {
    const bob = await rest(bed.basic, "vault", undefined, "bob");
    expect(bob.status).toBe(403);
    expect(JSON.parse(bob.text).error.code).toBe("policy_denied");
    expectNoSecret(bob.text);
    expect(await lastResolveAudit()).toMatchObject({ decision: "deny", reason: "policy:no_user_rule", userId: bed.users.bob, providerId: vaultId });
    const bobExchange = await exchange(bed.basic, "vault", undefined, "bob");
    expect(bobExchange.status).toBe(400);
    expect(JSON.parse(bobExchange.text)).not.toHaveProperty("access_token");
    expectNoSecret(bobExchange.text);
  });

  it("a disabled provider gives no credential", async () => {
    const { setProviderStatus } = await import("@/lib/providers/create");
    const { forgetProviders } = await import("@/lib/gateway-api/providers");
    await setProviderStatus("vault", "disabled", admin);
    forgetProviders();
    try {
      const res = await rest(bed.basic, "vault");
      expect(res.status).toBe(404);
      expectNoSecret(res.text);
      const ex = await exchange(bed.basic, "vault");
      expect(JSON.parse(ex.text).error).toBe("invalid_target");
      expectNoSecret(ex.text);
    } finally {
      await setProviderStatus("vault", "active", admin);
      forgetProviders();
    }
  });
});
