// Invariant 1 (design.md section 7): an upstream credential leaves Frontdesk only in a
// successful response to an authenticated gateway that policy allows; never in logs, audit rows,
// URLs or error bodies. Invariant 2 (part): secrets at rest are stored only encrypted.
//
// One realistic run through the gateway API with every kind of secret in play (upstream access
// and refresh tokens, tokens rotated by a refresh, an API key, the provider's client secret,
// gateway client secrets, client assertions, subject tokens, Frontdesk's signing key), including
// the failure paths that tend to leak (refresh against a failing upstream, wrong credentials,
// replays, revocation). Meanwhile every line the process writes to stdout/stderr is captured at
// LOG_LEVEL=debug, and the outbox delivers what the run caused (a notice e-mail to a real SMTP
// server, a signed chat notice, an elicitation webhook, revocation SETs) to real receivers. Then:
// no secret in the logs, in any error body, in any mail, chat, webhook or SET body, in any audit
// row, or in plaintext (or plain base64) in any column of any table (outbox rows included).
import { exportJWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type Receiver } from "../helpers/set-receiver";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink";
import { useTestDatabase } from "../helpers/test-db";
import {
  ACCESS_TOKEN_TYPE,
  basicAuth,
  CLIENT_ASSERTION_TYPE,
  approveGateways,
  connectNotes,
  type GatewayTestbed,
  resolveRequest,
  signClientAssertion,
  startGatewayTestbed,
  SUBJECT_AUDIENCE,
  TOKEN_EXCHANGE_GRANT,
  tokenRequest,
} from "../helpers/gateway-testbed";

await useTestDatabase();

const API_KEY = "wiki-api-key-8f3a9c1e5d7b2f4a6c8e0d2b";
const captured: string[] = [];
const restore: (() => void)[] = [];

function captureOutput() {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      captured.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
      return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restore.push(() => {
      stream.write = original as typeof stream.write;
    });
  }
}

let bed: GatewayTestbed;
let smtp: SmtpSink;
/** The chat webhook and the gateway's webhook URL (elicitation webhooks and revocation SETs). */
let receiver: Receiver;
/** Every secret in play; name -> value. */
const secrets = new Map<string, string>();
/** Bodies of responses that must not carry any secret (errors, elicitations, status). */
const refusals: { name: string; text: string }[] = [];
/** Bodies of successful credential responses, with the one secret each may carry. */
const successes: { name: string; text: string; carries: string }[] = [];

beforeAll(async () => {
  captureOutput();
  smtp = await startSmtpSink();
  receiver = await startReceiver();
  bed = await startGatewayTestbed({
    extraEnv: { SMTP_URL: smtp.url, NOTIFY_EMAIL_FROM: "Frontdesk <frontdesk@frontdesk.test>", NOTIFY_CHAT_WEBHOOK_URL: `${receiver.url}/chat` },
  });
  const { env } = await import("@/lib/env");
  env().LOG_LEVEL = "debug";
}, 60_000);

afterAll(async () => {
  for (const r of restore) r();
  await bed?.close();
  await smtp?.close();
  await receiver?.close();
});

async function flush() {
  const { flushAudit } = await import("@/lib/audit/append");
  await flushAudit();
}

describe("one run with every kind of secret", () => {
  it("drives the gateway API through success and failure paths", async () => {
    const { saveGrant } = await import("@/lib/grants/save");
    const { createProvider } = await import("@/lib/providers/create");
    const { createPolicyRule } = await import("@/lib/policy/rules");
    const { getDb } = await import("@/lib/db/client");
    const { SEALED_GRANT_SELECT, openGrantCredential, openRefreshToken } = await import("@/lib/grants/sealed");
    const { revokeGrant } = await import("@/lib/grants/revoke");
    const { handleTokenRequest: token } = await import("@/lib/gateway-api/token-exchange");
    const { handleResolve: resolve } = await import("@/lib/gateway-api/resolve");
    const { handleElicitationStatus: status } = await import("@/lib/gateway-api/elicitation-status");
    const { handleJwks } = await import("@/lib/gateway-api/discovery");
    const db = await getDb();
    const base = bed.frontdeskUrl;
    // This gateway gets elicitation webhooks and revocation SETs.
    await db.gateway.update({ where: { id: bed.basic.id }, data: { webhookUrl: `${receiver.url}/gateway` } });
    const basic = { authorization: basicAuth(bed.basic.id, bed.basic.secret!) };

    secrets.set("provider client secret", bed.upstream.clientSecret);
    secrets.set("gateway secret (basic)", bed.basic.secret!);
    secrets.set("gateway secret (post)", bed.post.secret!);
    secrets.set("gateway secret (trusted)", bed.trusted.secret!);
    secrets.set("IdP client secret", bed.idp.clientSecret);

    const minted = await connectNotes(bed);
    secrets.set("access token", minted.accessToken);
    secrets.set("refresh token", minted.refreshToken);
    const { grantId } = minted;
    const wiki = await createProvider({ slug: "wiki", displayName: "Wiki", kind: "api_key", apiKeyHeader: "X-Api-Key" });
    await createPolicyRule({ providerId: wiki.id, gatewayId: bed.basic.id }, { type: "admin", id: "t" });
    await createPolicyRule({ providerId: wiki.id, gatewayId: null }, { type: "admin", id: "t" });
    secrets.set("API key", API_KEY);
    const wikiGrant = await saveGrant({ userId: bed.users.alice, providerId: wiki.id, scopes: [], credential: { kind: "api_key", apiKey: API_KEY } });
    await approveGateways(wikiGrant.grantId, bed.users.alice, [bed.basic.id]);

    const subjectToken = await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
    secrets.set("subject token", subjectToken);
    const exchangePairs: [string, string][] = [
      ["grant_type", TOKEN_EXCHANGE_GRANT],
      ["subject_token", subjectToken],
      ["subject_token_type", ACCESS_TOKEN_TYPE],
      ["audience", "notes"],
    ];
    const record = async (name: string, res: Response, carries?: string) => {
      const text = await res.text();
      if (carries) {
        expect({ name, status: res.status }).toEqual({ name, status: 200 });
        expect(text).toContain(carries);
        successes.push({ name, text, carries });
      } else {
        refusals.push({ name, text });
      }
      return text;
    };

    // Successes: the credential goes to the authenticated, allowed gateway.
    await record("token exchange (basic)", await token(tokenRequest(base, exchangePairs, basic)), minted.accessToken);
    await record("resolve (oauth)", await resolve(resolveRequest(base, { subject_token: subjectToken, provider: "notes" }, basic)), minted.accessToken);
    await record("resolve (api key)", await resolve(resolveRequest(base, { subject_token: subjectToken, provider: "wiki" }, basic)), API_KEY);
    const assertion = await signClientAssertion(bed.jwt, `${base}/oauth/token`);
    secrets.set("client assertion", assertion);
    await record(
      "token exchange (private_key_jwt)",
      await token(tokenRequest(base, [...exchangePairs, ["client_assertion_type", CLIENT_ASSERTION_TYPE], ["client_assertion", assertion]])),
      minted.accessToken,
    );

    // Refusals that are close to a credential.
    await record("replayed assertion", await token(tokenRequest(base, [...exchangePairs, ["client_assertion_type", CLIENT_ASSERTION_TYPE], ["client_assertion", assertion]])));
    const wrongSecret = "fdgs_" + "W".repeat(43);
    secrets.set("presented wrong secret", wrongSecret);
    await record("wrong secret", await token(tokenRequest(base, exchangePairs, { authorization: basicAuth(bed.basic.id, wrongSecret) })));
    await record("post secret used as basic for another id", await token(tokenRequest(base, exchangePairs, { authorization: basicAuth(bed.basic.id, bed.post.secret!) })));
    await record("subject token with a bad signature", await resolve(resolveRequest(base, { subject_token: `${subjectToken.slice(0, -6)}AAAAAA`, provider: "notes" }, basic)));
    await record("scope beyond the grant", await resolve(resolveRequest(base, { subject_token: subjectToken, provider: "notes", scopes: ["notes:write"] }, basic)));
    await record("unknown provider", await token(tokenRequest(base, [...exchangePairs.slice(0, 3), ["audience", "nope"]], basic)));

    // Refresh with rotation: the new tokens are secrets too.
    await db.grant.update({ where: { id: grantId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const refreshedText = await record("resolve after refresh", await resolve(resolveRequest(base, { subject_token: subjectToken, provider: "notes" }, basic)), "Bearer ");
    const sealed = await db.grant.findUniqueOrThrow({ where: { id: grantId }, select: SEALED_GRANT_SELECT });
    const opened = await openGrantCredential(sealed);
    expect(opened.kind).toBe("oauth");
    const rotatedAccess = opened.kind === "oauth" ? opened.accessToken : "";
    const rotatedRefresh = (await openRefreshToken(sealed))!;
    expect(rotatedAccess).not.toBe(minted.accessToken);
    expect(rotatedRefresh).not.toBe(minted.refreshToken);
    expect(refreshedText).toContain(rotatedAccess);
    successes.at(-1)!.carries = rotatedAccess;
    secrets.set("rotated access token", rotatedAccess);
    secrets.set("rotated refresh token", rotatedRefresh);

    // Refresh against a failing upstream: a retryable error, no token in it.
    await db.grant.update({ where: { id: grantId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    bed.upstream.failTokenEndpoint("5xx");
    try {
      const failed = await resolve(resolveRequest(base, { subject_token: subjectToken, provider: "notes" }, basic));
      expect(failed.status).toBe(503);
      await record("refresh against a failing upstream", failed);
    } finally {
      bed.upstream.failTokenEndpoint("none");
    }

    // An elicitation and its status.
    const bobToken = await bed.idp.signSubjectToken({ sub: "bob", aud: SUBJECT_AUDIENCE });
    secrets.set("bob's subject token", bobToken);
    const consent = JSON.parse(await record("consent needed", await resolve(resolveRequest(base, { subject_token: bobToken, provider: "notes" }, basic))));
    const eliId = consent.error.data.elicitations[0].elicitationId as string;
    await record("elicitation status", await status(new Request(`${base}/api/v1/elicitations/${eliId}`, { headers: basic })));

    // Frontdesk's own signing key (sealed in SigningKey).
    await handleJwks(new Request(`${base}/.well-known/jwks.json`));
    const { getSigningKey } = await import("@/lib/signing/key");
    const signing = await getSigningKey();
    if (signing.privateKey.extractable) secrets.set("signing key d", (await exportJWK(signing.privateKey)).d!);

    // bob declines in the portal: the gateway's signed webhook.
    const { declineElicitation } = await import("@/lib/elicitations/settle");
    const { drainOutbox } = await import("@/lib/outbox/worker");
    await drainOutbox(); // bob's e-mail and chat notice go out while the request is pending
    await declineElicitation(eliId, { issuer: bed.idp.issuer, subject: bed.idp.users.bob.sub });

    // Revocation (calls the upstream's RFC 7009 endpoint with the tokens), and its SETs.
    await revokeGrant(grantId, { type: "admin", id: "t" });
    await record("resolve after revocation", await resolve(resolveRequest(base, { subject_token: subjectToken, provider: "notes" }, basic)));
    await drainOutbox();
    await flush();
    expect(refusals.length).toBeGreaterThan(8);
  });
});

describe("where the secrets are not", () => {
  const encodings = (value: string) => [value, Buffer.from(value).toString("base64"), Buffer.from(value).toString("base64url")];

  it("not in anything the process logged (stdout and stderr at LOG_LEVEL=debug)", () => {
    const logs = captured.join("");
    expect(logs.length).toBeGreaterThan(0);
    const found = [...secrets].filter(([, v]) => logs.includes(v)).map(([k]) => k);
    expect(found).toEqual([]);
  });

  it("not in any error, consent or status body", () => {
    const found: string[] = [];
    for (const r of refusals) for (const [k, v] of secrets) if (r.text.includes(v)) found.push(`${r.name}: ${k}`);
    expect(found).toEqual([]);
  });

  it("a successful response carries exactly its one credential and no other secret", () => {
    const found: string[] = [];
    for (const s of successes) for (const [k, v] of secrets) if (v !== s.carries && s.text.includes(v)) found.push(`${s.name}: ${k}`);
    expect(found).toEqual([]);
  });

  it("not in any mail, chat notice, webhook or SET that the outbox delivered", () => {
    const mails = smtp.messages.map((m) => ({ name: `mail to ${m.envelopeTo.join(",")}`, text: `${m.raw}\n${m.subject}\n${m.text}` }));
    const posts = receiver.received.map((r) => ({ name: `${r.contentType} ${String(r.claims.event ?? r.typ)}`, text: `${r.body}\n${JSON.stringify(r.claims)}` }));
    // The run really produced each kind: a notice mail, a chat notice, a webhook, SETs.
    expect(mails.length).toBeGreaterThanOrEqual(1);
    expect(receiver.received.map((r) => r.typ).sort()).toEqual(expect.arrayContaining(["frontdesk-notice+jwt", "frontdesk-webhook+jwt", "secevent+jwt"]));
    const found: string[] = [];
    for (const m of [...mails, ...posts]) for (const [k, v] of secrets) if (encodings(v).some((e) => m.text.includes(e))) found.push(`${m.name}: ${k}`);
    expect(found).toEqual([]);
  });

  it("not in any audit row (every column)", async () => {
    const { getDb } = await import("@/lib/db/client");
    const rows = await (await getDb()).$queryRawUnsafe<{ row: string }[]>(`SELECT t::text AS row FROM "AuditEvent" t`);
    expect(rows.length).toBeGreaterThan(10);
    const text = rows.map((r) => r.row).join("\n");
    const found = [...secrets].filter(([, v]) => encodings(v).some((e) => text.includes(e))).map(([k]) => k);
    expect(found).toEqual([]);
  });

  it("not in plaintext or plain base64 in any column of any table (encrypted at rest)", async () => {
    const { getDb } = await import("@/lib/db/client");
    const db = await getDb();
    const tables = await db.$queryRawUnsafe<{ name: string }[]>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`);
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(["Grant", "Provider", "Gateway", "AuditEvent", "SigningKey", "ReplayNonce", "OutboxEvent"]));
    // Outbox rows are part of the scan: notices, a webhook and SETs were written.
    expect(await db.outboxEvent.count()).toBeGreaterThanOrEqual(4);
    const found: string[] = [];
    let rowsSeen = 0;
    for (const { name } of tables) {
      const rows = await db.$queryRawUnsafe<{ row: string }[]>(`SELECT t::text AS row FROM "${name.replace(/"/g, '""')}" t`);
      rowsSeen += rows.length;
      const text = rows.map((r) => r.row).join("\n");
      for (const [k, v] of secrets) if (encodings(v).some((e) => text.includes(e))) found.push(`${name}: ${k}`);
    }
    expect(rowsSeen).toBeGreaterThan(20);
    expect(found).toEqual([]);
    // The secrets that are stored are there as ciphertext with a key version (not dropped).
    const provider = await db.provider.findUniqueOrThrow({ where: { id: bed.providerId }, select: { clientSecretCipher: true, keyVersion: true } });
    expect(provider.clientSecretCipher).toBeTruthy();
    expect(provider.keyVersion).toBe("test");
    const wikiGrant = await db.grant.findFirstOrThrow({ where: { userId: bed.users.alice, provider: { slug: "wiki" } }, select: { apiKeyCipher: true, keyVersion: true } });
    expect(wikiGrant.apiKeyCipher).toBeTruthy();
  });
});
