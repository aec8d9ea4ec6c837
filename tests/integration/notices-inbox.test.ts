// Reaching the user without the MCP client (issue 12): a created elicitation sends one e-mail
// (to a real SMTP server started here, `smtp-server`, messages parsed with mailparser) and one
// signed chat notice (a real HTTP receiver), in plain words, carrying only the opaque portal
// link; a reused elicitation sends nothing new; a user who turned notices off gets none, even
// for a notice already queued; a request settled before its notice went out is not mailed. The
// inbox lists exactly the viewer's own pending, unexpired requests. Real PostgreSQL, the real
// IdP and upstream, Frontdesk's real token-exchange and resolve handlers.
import { createLocalJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ACCESS_TOKEN_TYPE,
  basicAuth,
  resolveRequest,
  startGatewayTestbed,
  SUBJECT_AUDIENCE,
  TOKEN_EXCHANGE_GRANT,
  tokenRequest,
  type GatewayTestbed,
} from "../helpers/gateway-testbed";
import { startReceiver, type Receiver } from "../helpers/set-receiver";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();

let bed: GatewayTestbed;
let smtp: SmtpSink;
let chat: Receiver;

beforeAll(async () => {
  smtp = await startSmtpSink();
  chat = await startReceiver();
  bed = await startGatewayTestbed({
    extraEnv: { SMTP_URL: smtp.url, NOTIFY_EMAIL_FROM: "Frontdesk <frontdesk@frontdesk.test>", NOTIFY_CHAT_WEBHOOK_URL: chat.url },
  });
}, 60_000);

afterAll(async () => {
  await bed?.close();
  await smtp?.close();
  await chat?.close();
});

const subjectToken = (sub: string, email?: string) => bed.idp.signSubjectToken({ sub, aud: SUBJECT_AUDIENCE, extra: email ? { email } : {} });

/** agentgateway's exchange as bob/alice/...; returns the elicitation id of the consent-needed answer. */
async function exchangeNeedingConsent(token: string, scope = "notes:read"): Promise<string> {
  const { handleTokenRequest } = await import("@/lib/gateway-api/token-exchange");
  const res = await handleTokenRequest(
    tokenRequest(
      bed.frontdeskUrl,
      [
        ["grant_type", TOKEN_EXCHANGE_GRANT],
        ["subject_token", token],
        ["subject_token_type", ACCESS_TOKEN_TYPE],
        ["audience", "notes"],
        ["scope", scope],
      ],
      { authorization: basicAuth(bed.basic.id, bed.basic.secret!) },
    ),
  );
  expect(res.status).toBe(400);
  const body = (await res.json()) as { error: string; elicitation: { elicitationId: string } };
  expect(body.error).toBe("interaction_required");
  return body.elicitation.elicitationId;
}

async function deliverAll() {
  const { drainOutbox } = await import("@/lib/outbox/worker");
  await drainOutbox();
}

async function outboxRows(elicitationId: string) {
  const { getDb } = await import("@/lib/db/client");
  const rows = await (await getDb()).outboxEvent.findMany({ orderBy: { createdAt: "asc" } });
  return rows.filter((r) => (r.payload as { elicitationId?: string }).elicitationId === elicitationId && r.kind.startsWith("notice."));
}

const urlsIn = (text: string) => text.match(/https?:\/\/[^\s<>"')]+/g) ?? [];

describe("notices about a waiting request", () => {
  it("one e-mail and one signed chat notice, in plain words, with only the portal link; a reused request sends nothing new", async () => {
    // carol never signed in to the portal: the address comes from her verified subject token.
    const token = await subjectToken("carol", "carol@example.test");
    const id = await exchangeNeedingConsent(token);
    expect(await exchangeNeedingConsent(token)).toBe(id);
    await deliverAll();

    const mails = smtp.messages.filter((m) => m.envelopeTo.includes("carol@example.test"));
    expect(mails).toHaveLength(1);
    const mail = mails[0]!;
    const url = `${bed.frontdeskUrl}/connect/${id}`;
    expect(mail.envelopeTo).toEqual(["carol@example.test"]);
    expect(mail.to).toEqual(["carol@example.test"]);
    expect(mail.from).toBe("frontdesk@frontdesk.test");
    // Requester and provider in plain words, in the subject and the body.
    expect(mail.subject).toBe(`${bed.basic.name} asks to use your Notes account`);
    expect(mail.text).toContain(`${bed.basic.name} asks to use your Notes account with these permissions: notes:read.`);
    expect(mail.text).toMatch(/The request expires at \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    // The only link is the opaque portal URL; nothing pre-authenticated, no token of any kind.
    expect(urlsIn(mail.text)).toEqual([url]);
    expect(urlsIn(mail.raw.replace(/=\r?\n/g, ""))).toEqual([url]);
    for (const secret of [token, bed.basic.secret!, bed.upstream.clientSecret, bed.idp.clientSecret]) expect(mail.raw).not.toContain(secret);
    expect(mail.raw).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    // Nobody else's personal data (the test bed's other users).
    for (const other of Object.values(bed.idp.users)) expect(mail.raw).not.toContain(other.email);
    // A retry after a lost SMTP answer is recognisably the same message.
    const [emailRow] = (await outboxRows(id)).filter((r) => r.kind === "notice.email");
    expect(mail.messageId).toBe(`<${emailRow!.id}@frontdesk.test>`);
    expect(mail.headers.get("auto-submitted")).toBe("auto-generated");

    const notices = chat.received.filter((r) => r.claims.elicitation_id === id);
    expect(notices).toHaveLength(1);
    const { listPublicJwks } = await import("@/lib/signing/key");
    const { payload, protectedHeader } = await jwtVerify(notices[0]!.body, createLocalJWKSet({ keys: await listPublicJwks() }), {
      issuer: bed.frontdeskUrl,
      audience: chat.url,
      typ: "frontdesk-notice+jwt",
    });
    expect(protectedHeader.typ).toBe("frontdesk-notice+jwt");
    expect(payload).toMatchObject({
      event: "elicitation.created",
      user: { issuer: bed.idp.issuer, subject: "carol" },
      url,
      provider: "Notes",
      requester: { gateway: bed.basic.name },
      scopes: ["notes:read"],
    });
    expect(urlsIn(String(payload.text))).toEqual([url]);
    expect(notices[0]!.body).not.toContain(token);

    // Exactly one row per kind for the request, both delivered.
    const rows = await outboxRows(id);
    expect(rows.map((r) => [r.kind, r.deliveredAt !== null, r.lastError]).sort()).toEqual([
      ["notice.chat", true, null],
      ["notice.email", true, null],
    ]);
  });

  it("gateway-supplied context is shown as plain text: control characters cannot add mail headers or lines", async () => {
    const { handleResolve } = await import("@/lib/gateway-api/resolve");
    const res = await handleResolve(
      resolveRequest(
        bed.frontdeskUrl,
        { subject_token: await subjectToken("dave", "dave@example.test"), provider: "notes", context: { toolName: "list\r\nBcc: eve@evil.test\r\n\r\nnotes", mcpServer: "notes-mcp" } },
        { authorization: basicAuth(bed.basic.id, bed.basic.secret!) },
      ),
    );
    expect(res.status).toBe(403);
    await deliverAll();
    const mail = await smtp.waitFor((m) => m.envelopeTo.includes("dave@example.test"));
    expect(mail.envelopeTo).toEqual(["dave@example.test"]);
    expect(mail.headers.has("bcc")).toBe(false);
    expect(mail.text).toContain(`${bed.basic.name} (MCP server notes-mcp, tool list Bcc: eve@evil.test notes) asks to use your Notes account`);
    expect(smtp.messages.some((m) => m.envelopeTo.includes("eve@evil.test"))).toBe(false);
  });

  it("notices off: nothing is queued for a new request, and a notice already queued is not sent", async () => {
    const { setNoticesEnabled } = await import("@/lib/notify/preferences");
    const aliceToken = await subjectToken("alice");
    await setNoticesEnabled(bed.users.alice, false);
    const quiet = await exchangeNeedingConsent(aliceToken, "notes:read");
    await deliverAll();
    expect(await outboxRows(quiet)).toEqual([]);

    await setNoticesEnabled(bed.users.alice, true);
    const queued = await exchangeNeedingConsent(aliceToken, "notes:write");
    expect((await outboxRows(queued)).map((r) => r.kind).sort()).toEqual(["notice.chat", "notice.email"]);
    // Turned off again before delivery: the preference is read again when the notice goes out.
    await setNoticesEnabled(bed.users.alice, false);
    await deliverAll();
    expect((await outboxRows(queued)).map((r) => [r.kind, r.deliveredAt !== null, r.lastError]).sort()).toEqual([
      ["notice.chat", true, "skipped:notices_off"],
      ["notice.email", true, "skipped:notices_off"],
    ]);
    expect(smtp.messages.filter((m) => m.envelopeTo.includes(bed.idp.users.alice.email))).toEqual([]);
    expect(chat.received.filter((r) => r.claims.elicitation_id === quiet || r.claims.elicitation_id === queued)).toEqual([]);
    await setNoticesEnabled(bed.users.alice, true);
  });

  it("a request answered before its notice went out is not mailed (a stale link helps nobody)", async () => {
    const { declineElicitation } = await import("@/lib/elicitations/settle");
    const id = await exchangeNeedingConsent(await subjectToken("bob"));
    await declineElicitation(id, { issuer: bed.idp.issuer, subject: "bob" });
    await deliverAll();
    expect((await outboxRows(id)).map((r) => [r.kind, r.lastError]).sort()).toEqual([
      ["notice.chat", "skipped:not_pending"],
      ["notice.email", "skipped:not_pending"],
    ]);
    expect(smtp.messages.filter((m) => m.envelopeTo.includes(bed.idp.users.bob.email))).toEqual([]);
  });
});

describe("the inbox: requests waiting for you", () => {
  it("lists exactly the viewer's own pending, unexpired requests; settled and expired ones drop off", async () => {
    const { listWaitingRequests, countWaitingRequests } = await import("@/lib/portal/inbox");
    const { completeElicitation } = await import("@/lib/elicitations/settle");
    const { getDb } = await import("@/lib/db/client");
    const db = await getDb();
    const issuer = bed.idp.issuer;
    const ids = async (subject: string) => (await listWaitingRequests({ issuer, subject })).map((r) => r.id).sort();

    const frank = await subjectToken("frank", "frank@example.test");
    const grace = await subjectToken("grace", "grace@example.test");
    const frankRead = await exchangeNeedingConsent(frank, "notes:read");
    const frankWrite = await exchangeNeedingConsent(frank, "notes:write");
    const graceRead = await exchangeNeedingConsent(grace, "notes:read");
    expect(await ids("frank")).toEqual([frankRead, frankWrite].sort());
    expect(await ids("grace")).toEqual([graceRead]);
    expect(await countWaitingRequests({ issuer, subject: "frank" })).toBe(2);
    // Same subject at another issuer is another person.
    expect(await listWaitingRequests({ issuer: "https://other-idp.test", subject: "frank" })).toEqual([]);

    const [entry] = await listWaitingRequests({ issuer, subject: "grace" });
    expect(entry).toMatchObject({ gatewayName: bed.basic.name, providerName: "Notes", scopes: ["notes:read"] });
    expect(entry!.expiresAt.getTime()).toBeGreaterThan(Date.now());

    await completeElicitation(frankRead, { issuer, subject: "frank" });
    await db.elicitation.update({ where: { id: frankWrite }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await ids("frank")).toEqual([]);
    expect(await countWaitingRequests({ issuer, subject: "frank" })).toBe(0);
    expect(await ids("grace")).toEqual([graceRead]);
  });
});
