// Issue 12's end-to-end proof: reaching the user when the gateway does not relay the consent
// link. A gateway shaped like agentgateway's oauthTokenExchange (tests/helpers/agentgateway-
// shaped.ts: Frontdesk's interaction_required becomes a plain 400 "invalid request") calls
// Frontdesk for alice, who has no Notes connection; alice receives an e-mail at a real SMTP
// server started here (smtp-server, messages parsed with mailparser); she opens the link from
// the mail in Chromium, signs in, approves and authorizes Notes; the gateway's next call returns
// her notes. Bob's inbox lists only his own request, the header counts it, an answered request
// drops off, and once bob turns notices off a new request of his sends no mail. Nothing in any
// mail, outbox row or server log carries a token or secret. All real: PostgreSQL, the demo IdP
// and Notes upstream, a built Frontdesk.
import path from "node:path";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { DEMO_MCP_AUDIENCE, DEMO_NOTES_SCOPES } from "@/demo/ports";
import { startAgentgatewayShaped, type AgentgatewayShaped } from "../helpers/agentgateway-shaped";
import { startE2eEnvironment, type E2eEnvironment } from "../helpers/e2e-environment";
import { runFixture } from "../helpers/fixture-process";
import { startSmtpSink, type ReceivedMail, type SmtpSink } from "../helpers/smtp-sink";

const SLOW = { timeout: 60_000 };
const PASSWORDS = { alice: "wonderland", bob: "canwefixit" } as const;
const FIXTURES = path.join("tests", "helpers", "notices-fixtures-cli.ts");

let smtp: SmtpSink;
let e2e: E2eEnvironment;
let gateway: AgentgatewayShaped;
let seed: { providerId: string; gatewayId: string; gatewaySecret: string };

test.beforeAll(async () => {
  test.setTimeout(120_000);
  smtp = await startSmtpSink();
  e2e = await startE2eEnvironment({
    env: { SUBJECT_TOKEN_AUDIENCES: DEMO_MCP_AUDIENCE, SMTP_URL: smtp.url, NOTIFY_EMAIL_FROM: "Frontdesk <frontdesk@frontdesk.test>" },
  });
  const { upstream, frontdesk } = e2e;
  seed = await runFixture(FIXTURES, e2e.env, "seed", {
    notes: { issuer: upstream.issuer, apiUrl: upstream.apiUrl, clientId: upstream.clientId, clientSecret: upstream.clientSecret },
  });
  const meta = (await (await fetch(`${frontdesk.url}/.well-known/oauth-authorization-server`)).json()) as { token_endpoint: string };
  gateway = await startAgentgatewayShaped({
    client: { tokenEndpoint: meta.token_endpoint, clientId: seed.gatewayId, clientSecret: seed.gatewaySecret },
    upstream: upstream.apiUrl,
    scopes: DEMO_NOTES_SCOPES,
  });
});

test.afterAll(async () => {
  await gateway?.close();
  await e2e?.stop();
  await smtp?.close();
});

const tokens = new Map<string, string>();
async function userToken(user: string): Promise<string> {
  if (!tokens.has(user)) tokens.set(user, await e2e.idp.signSubjectToken({ sub: user, aud: DEMO_MCP_AUDIENCE, extra: { email: `${user}@example.test` } }));
  return tokens.get(user)!;
}

/** The MCP server's call through the gateway, as `user`. */
async function callGateway(user: string): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(`${gateway.url}/notes`, { headers: { authorization: `Bearer ${await userToken(user)}` } });
  return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
}

const mailTo = (address: string) => (m: ReceivedMail) => m.envelopeTo.includes(address);
const urlsIn = (text: string) => text.match(/https?:\/\/[^\s<>"')]+/g) ?? [];

async function signIn(browser: Browser, url: string, user: "alice" | "bob", landing: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(url);
  await page.getByRole("button", { name: /^Sign in with/ }).click();
  await page.locator("#login").fill(user);
  await page.locator("#password").fill(PASSWORDS[user]);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => u.href.startsWith(`${e2e.frontdesk.url}${landing}`), SLOW);
  return page;
}

test("agentgateway-shaped exchange -> e-mail -> link from the mail -> consent -> the gateway's next call succeeds; inboxes and notices per user", async ({ browser }) => {
  // The machine may be loaded: these only end hangs.
  test.setTimeout(480_000);
  const frontdesk = e2e.frontdesk.url;

  const aliceMail = await test.step("the gateway's exchange for alice fails plainly, and alice gets an e-mail", async () => {
    const refused = await callGateway("alice");
    // What agentgateway answers: no consent link reaches the caller.
    expect(refused).toEqual({ status: 400, type: "text/plain", text: "invalid request" });
    expect(gateway.exchanges.at(-1)).toEqual({ kind: "interaction_required" });
    return smtp.waitFor(mailTo("alice@example.test"), 60_000);
  });

  const link = await test.step("the mail names the requester and the provider in plain words and carries only the portal link", async () => {
    const [url] = urlsIn(aliceMail.text);
    expect(url).toMatch(new RegExp(`^${frontdesk}/connect/eli_[A-Za-z0-9_-]{43}$`));
    expect(aliceMail.envelopeTo).toEqual(["alice@example.test"]);
    expect(aliceMail.subject).toBe("agentgateway asks to use your Notes account");
    expect(aliceMail.text).toContain("agentgateway asks to use your Notes account with these permissions: notes:read.");
    expect(urlsIn(aliceMail.text)).toEqual([url]);
    expect(urlsIn(aliceMail.raw.replace(/=\r?\n/g, ""))).toEqual([url]);
    expect(aliceMail.raw).not.toContain(await userToken("alice"));
    expect(aliceMail.raw).not.toContain(seed.gatewaySecret);
    expect(aliceMail.raw).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    expect(aliceMail.raw).not.toContain("bob");
    return url!;
  });
  const aliceRequest = link.split("/").pop()!;

  // A retry by the gateway reuses the pending request: no second notice (checked at the end).
  expect((await callGateway("alice")).status).toBe(400);

  await test.step("bob's inbox lists only his own request; the header counts it; answering it drops it off", async () => {
    expect((await callGateway("bob")).status).toBe(400);
    const bobMail = await smtp.waitFor(mailTo("bob@example.test"), 60_000);
    const bobRequest = urlsIn(bobMail.text)[0]!.split("/").pop()!;
    const page = await signIn(browser, `${frontdesk}/requests`, "bob", "/requests");
    await expect(page.getByRole("heading", { name: "Requests waiting for you" })).toBeVisible(SLOW);
    const list = page.getByRole("list", { name: "Waiting requests" });
    await expect(list.getByRole("listitem")).toHaveCount(1);
    await expect(list.getByText("agentgateway asks to use your Notes account")).toBeVisible();
    await expect(list.getByRole("link", { name: "Review and answer" })).toHaveAttribute("href", `/connect/${bobRequest}`);
    expect(await page.content()).not.toContain(aliceRequest);
    await expect(page.getByTestId("waiting-count")).toHaveText("1");

    await page.getByRole("button", { name: "Turn notices off" }).click();
    await expect(page.getByText("Notices are off: requests only appear here and in your agent.")).toBeVisible(SLOW);

    await list.getByRole("link", { name: "Review and answer" }).click();
    await page.waitForURL(`${frontdesk}/connect/${bobRequest}`, SLOW);
    await page.getByRole("button", { name: "Decline" }).click();
    await expect(page.getByText(/declined/i).first()).toBeVisible(SLOW);
    await page.goto(`${frontdesk}/requests`);
    await expect(page.getByText("Nothing is waiting for you")).toBeVisible(SLOW);
    await expect(page.getByTestId("waiting-count")).toHaveCount(0);
    await page.context().close();
  });

  await test.step("notices off: bob's next request sends no mail", async () => {
    expect((await callGateway("bob")).status).toBe(400);
    // carol's request, made after bob's, is mailed: by then bob's would have been too (the
    // outbox rows checked at the end show that none was even queued).
    expect((await callGateway("carol")).status).toBe(400);
    await smtp.waitFor(mailTo("carol@example.test"), 60_000);
    expect(smtp.messages.filter(mailTo("bob@example.test"))).toHaveLength(1);
  });

  await test.step("alice opens the link from the mail, signs in, approves and authorizes Notes", async () => {
    const page = await signIn(browser, link, "alice", "/connect/");
    await expect(page.getByRole("heading", { name: "Connect Notes?" })).toBeVisible(SLOW);
    await page.getByRole("button", { name: "Approve and continue to Notes" }).click();
    await page.waitForURL((u) => u.href.startsWith(e2e.upstream.issuer), SLOW);
    await page.locator("#login").fill("alice");
    await page.locator("#password").fill(PASSWORDS.alice);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Authorize" }).click();
    await page.waitForURL((u) => u.href.startsWith(frontdesk), SLOW);
    await expect(page.getByText(/return to your agent/i).first()).toBeVisible(SLOW);
    await page.goto(`${frontdesk}/requests`);
    await expect(page.getByText("Nothing is waiting for you")).toBeVisible(SLOW);
    await page.context().close();
  });

  await test.step("the gateway's next exchange returns the token: alice's notes", async () => {
    const ok = await callGateway("alice");
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toEqual({ owner: "alice", notes: ["Follow the white rabbit", "Tea party at six"] });
    expect(gateway.exchanges.at(-1)).toEqual({ kind: "token" });
  });

  await test.step("one notice per request, none for bob's second; no token or secret in any mail, outbox row or server log", async () => {
    const { outbox, credential } = await runFixture<{
      outbox: { row: string; kind: string; payload: { elicitationId?: string; to?: string } }[];
      credential: { accessToken: string; refreshToken: string | null } | null;
    }>(FIXTURES, e2e.env, "evidence", { subject: "alice" });
    const emails = outbox.filter((r) => r.kind === "notice.email");
    expect(emails.filter((r) => r.payload.elicitationId === aliceRequest)).toHaveLength(1);
    expect(emails.map((r) => r.payload.to).sort()).toEqual(["alice@example.test", "bob@example.test", "carol@example.test"]);

    expect(credential?.accessToken).toBeTruthy();
    const secrets: Record<string, string> = {
      "upstream access token": credential!.accessToken,
      "gateway secret": seed.gatewaySecret,
      "upstream client secret": e2e.upstream.clientSecret,
      "IdP client secret": e2e.idp.clientSecret,
      "alice's subject token": await userToken("alice"),
      "bob's subject token": await userToken("bob"),
    };
    if (credential!.refreshToken) secrets["upstream refresh token"] = credential!.refreshToken;
    const places: Record<string, string> = {
      mails: smtp.messages.map((m) => m.raw).join("\n"),
      "outbox rows": outbox.map((r) => r.row).join("\n"),
      "server log": e2e.frontdesk.logs(),
    };
    const found: string[] = [];
    for (const [where, text] of Object.entries(places)) for (const [what, value] of Object.entries(secrets)) if (text.includes(value)) found.push(`${what} in ${where}`);
    expect(found).toEqual([]);
  });
});
