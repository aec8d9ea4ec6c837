// A ToolHive-minted delegated subject token through Frontdesk's token endpoint (RFC 8693), with
// real PostgreSQL, the real upstream and a locally served issuer playing ToolHive's embedded
// authorization server (OIDC discovery + JWKS, its own signing key), trusted by
// SUBJECT_TOKEN_ISSUERS. The token is built the way ToolHive builds one when a client exchanges a
// user's token (stacklok/toolhive pkg/authserver/server/tokenexchange/handler.go,
// HandleTokenEndpointRequest + buildActClaim; claims from pkg/authserver/server/session/session.go
// New): sub = the user, client_id = the ToolHive client it was issued to, name/email, and
// `act: {iss: <ToolHive issuer>, sub: <acting client>}` with the external issuer nested below it
// (`act.act: {iss: <external IdP>, sub: <its client>}`) when the user's token came from one.
// Frontdesk answers for the user the token names; the call's audit row keeps the token's actors
// (`subjectAct`) and the dashboard's chain lists them as subject-token actors, outermost first.
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listenOnLoopback, type LoopbackServer } from "@/demo/loopback-server";
import { ACCESS_TOKEN_TYPE, basicAuth, connectNotes, startGatewayTestbed, SUBJECT_AUDIENCE, TOKEN_EXCHANGE_GRANT, tokenRequest, type GatewayTestbed } from "../helpers/gateway-testbed";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();

const FRONTDESK = "http://frontdesk.toolhive.test";
const EXTERNAL_IDP = "https://login.corp.example";
let bed: GatewayTestbed;
let toolhive: LoopbackServer;
let toolhiveIssuer: string;
let signingKey: CryptoKey;
let notesToken: string;
const USER_SUBJECT = "user-7f3a"; // ToolHive's own user id for alice

beforeAll(async () => {
  // ToolHive's authorization server as Frontdesk sees it: discovery naming its issuer and JWKS.
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  signingKey = privateKey as CryptoKey;
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: "toolhive-1", alg: "RS256", use: "sig" };
  toolhive = await listenOnLoopback((req, res) => {
    if (req.url === "/.well-known/openid-configuration") {
      return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ issuer: toolhiveIssuer, jwks_uri: `${toolhiveIssuer}/jwks` }));
    }
    if (req.url === "/jwks") return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
    res.writeHead(404).end();
  });
  toolhiveIssuer = `http://127.0.0.1:${toolhive.port}`;
  bed = await startGatewayTestbed({ frontdeskUrl: FRONTDESK, extraEnv: { SUBJECT_TOKEN_ISSUERS: toolhiveIssuer }, insecureIssuers: [toolhiveIssuer] });

  // alice as ToolHive names her, with a Notes connection approved for the basic gateway.
  const { getDb } = await import("@/lib/db/client");
  const db = await getDb();
  const user = await db.user.create({ data: { id: "usr_th_alice", issuer: toolhiveIssuer, subject: USER_SUBJECT, email: "alice@corp.example", groups: [] } });
  notesToken = (await connectNotes(bed, { user: "alice", userId: user.id, approve: [bed.basic] })).accessToken;
}, 120_000);

afterAll(async () => {
  await bed?.close();
  await toolhive?.close();
});

/** ToolHive's delegated access token (handler.go: delegated session + buildActClaim). */
function toolhiveDelegatedToken(act: Record<string, unknown>, opts: { key?: CryptoKey } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ client_id: "thv-mcp-proxy", name: "Alice", email: "alice@corp.example", scp: ["notes:read"], act })
    .setProtectedHeader({ alg: "RS256", kid: "toolhive-1", typ: "JWT" })
    .setIssuer(toolhiveIssuer)
    .setSubject(USER_SUBJECT)
    .setAudience(SUBJECT_AUDIENCE)
    .setJti(`jti-${now}-${Math.random().toString(36).slice(2)}`)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(opts.key ?? signingKey);
}

async function exchange(subjectToken: string) {
  const { handleTokenRequest } = await import("@/lib/gateway-api/token-exchange");
  const res = await handleTokenRequest(
    tokenRequest(
      FRONTDESK,
      [
        ["grant_type", TOKEN_EXCHANGE_GRANT],
        ["subject_token", subjectToken],
        ["subject_token_type", ACCESS_TOKEN_TYPE],
        ["audience", "notes"],
        ["scope", "notes:read"],
      ],
      { authorization: basicAuth(bed.basic.id, bed.basic.secret!) },
    ),
  );
  return { status: res.status, json: JSON.parse(await res.text()) as Record<string, unknown> };
}

async function lastExchangeAudit() {
  const { flushAudit } = await import("@/lib/audit/append");
  await flushAudit();
  const db = await (await import("@/lib/db/client")).getDb();
  return db.auditEvent.findFirstOrThrow({ where: { action: "token_exchange" }, orderBy: { seq: "desc" } });
}

describe("a ToolHive-minted delegated subject token (act) at the token endpoint", () => {
  it("answers for the user it names; the audit keeps its act chain and the dashboard shows it outermost first", async () => {
    const act = { iss: toolhiveIssuer, sub: "thv-mcp-proxy", act: { iss: EXTERNAL_IDP, sub: "corp-agent-client" } };
    const { status, json } = await exchange(await toolhiveDelegatedToken(act));
    expect(status, JSON.stringify(json)).toBe(200);
    expect(json).toMatchObject({ access_token: notesToken, issued_token_type: ACCESS_TOKEN_TYPE, token_type: "Bearer" });

    const row = await lastExchangeAudit();
    expect(row).toMatchObject({ decision: "allow", userId: "usr_th_alice", gatewayId: bed.basic.id, agentId: null });
    expect((row.context as { subjectAct?: unknown }).subjectAct).toEqual(act);
    const { delegationChain } = await import("@/lib/admin/audit-chain");
    const chain = delegationChain(row, { users: new Map([["usr_th_alice", "alice@corp.example"]]), gateways: new Map([[bed.basic.id, "agentgateway-basic"]]), agents: new Map() });
    expect(chain.map((l) => [l.role, l.label, l.detail ?? null])).toEqual([
      ["user", "alice@corp.example", null],
      ["subject token actor", "thv-mcp-proxy", toolhiveIssuer],
      ["subject token actor", "corp-agent-client", EXTERNAL_IDP],
      ["gateway", "agentgateway-basic", null],
    ]);
  });

  it("is refused (RFC 8693 invalid_request, no credential) when not signed by ToolHive's key, like any subject token", async () => {
    const before = await lastExchangeAudit();
    const { privateKey } = await generateKeyPair("RS256");
    const { status, json } = await exchange(await toolhiveDelegatedToken({ iss: toolhiveIssuer, sub: "thv-mcp-proxy" }, { key: privateKey as CryptoKey }));
    expect(status).toBe(400);
    expect(json.error).toBe("invalid_request");
    expect(JSON.stringify(json)).not.toContain(notesToken);
    // Nothing was decided for a user: no new token_exchange row, in particular no allow.
    expect((await lastExchangeAudit()).seq).toBe(before.seq);
  });
});
