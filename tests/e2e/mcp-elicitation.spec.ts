// The project's end-to-end proof with real MCP software: the official SDK client calls the
// reference MCP server's tool as alice, gets -32042 with a Frontdesk link, alice completes it in
// Chromium (IdP sign-in, consent, upstream authorization), the client receives
// notifications/elicitation/complete for that id, and the retried call returns alice's notes.
// Bob gets his own link, cannot complete alice's, and sees only his own notes. No upstream token
// material ever reaches the MCP client or the MCP server.
import { expect, test, type Browser, type Page } from "@playwright/test";
import { ErrorCode, UrlElicitationRequiredError, type ElicitRequestURLParams } from "@modelcontextprotocol/sdk/types.js";
import { connectMcpClient, runDemoFixture, startMcpEnvironment, type McpEnvironment, type McpUserClient } from "../helpers/mcp-environment";

let env: McpEnvironment;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  env = await startMcpEnvironment();
});

test.afterAll(async () => {
  await env?.stop();
});

const PASSWORDS = { alice: "wonderland", bob: "canwefixit" } as const;

/** Calls list_my_notes and expects the URL elicitation error; returns the elicitation. */
async function expectElicitation(user: McpUserClient): Promise<ElicitRequestURLParams> {
  const error = await user.client.callTool({ name: "list_my_notes" }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UrlElicitationRequiredError);
  const e = error as UrlElicitationRequiredError;
  expect(e.code).toBe(ErrorCode.UrlElicitationRequired);
  expect(e.code).toBe(-32042);
  expect(e.elicitations).toHaveLength(1);
  const elicitation = e.elicitations[0] as ElicitRequestURLParams;
  expect(elicitation.mode).toBe("url");
  // The link is Frontdesk's consent page for that id and carries nothing else.
  expect(elicitation.url).toBe(`${env.e2e.frontdesk.url}/connect/${elicitation.elicitationId}`);
  expect(elicitation.elicitationId).toMatch(/^eli_[A-Za-z0-9_-]{43}$/);
  return elicitation;
}

async function notes(user: McpUserClient): Promise<{ owner: string; notes: string[] }> {
  const result = await user.client.callTool({ name: "list_my_notes" });
  expect(result.isError ?? false).toBe(false);
  return result.structuredContent as { owner: string; notes: string[] };
}

/** Opens a Frontdesk link in a fresh browser context and signs in at the IdP as `user`. */
async function openSignedIn(browser: Browser, url: string, user: "alice" | "bob"): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await page.getByRole("button", { name: /^Sign in with/ }).click();
  await page.locator("#login").fill(user);
  await page.locator("#password").fill(PASSWORDS[user]);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => u.href.startsWith(`${env.e2e.frontdesk.url}/connect/`));
  return page;
}

/** On the consent page: approve, sign in at Notes as `user`, authorize, and land back in Frontdesk. */
async function approveAndAuthorize(page: Page, user: "alice" | "bob") {
  await expect(page.getByRole("heading", { name: "Connect Notes?" })).toBeVisible();
  await page.getByRole("button", { name: "Approve and continue to Notes" }).click();
  await page.waitForURL((u) => u.href.startsWith(env.e2e.upstream.issuer));
  await page.locator("#login").fill(user);
  await page.locator("#password").fill(PASSWORDS[user]);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Authorize" }).click();
  await page.waitForURL((u) => u.href.startsWith(env.e2e.frontdesk.url));
  await expect(page.getByText(/return to your agent/i).first()).toBeVisible();
}

async function elicitationStatus(id: string): Promise<string> {
  const res = await fetch(`${env.gateway.url}/elicitations/${id}?wait=0`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { status: string }).status;
}

test("alice and bob each connect Notes through an MCP URL elicitation; no upstream token reaches MCP", async ({ browser }) => {
  test.setTimeout(180_000);
  const alice = await connectMcpClient(env, "alice");
  const bob = await connectMcpClient(env, "bob");

  const aliceElicitation = await test.step("alice's call needs consent", () => expectElicitation(alice));
  const bobElicitation = await test.step("bob's call needs his own consent", () => expectElicitation(bob));
  expect(bobElicitation.elicitationId).not.toBe(aliceElicitation.elicitationId);

  const bobPage = await test.step("bob cannot complete alice's elicitation", async () => {
    const page = await openSignedIn(browser, aliceElicitation.url, "bob");
    await expect(page.getByRole("heading", { name: "This request is for a different account" })).toBeVisible();
    await expect(page.getByRole("button", { name: /Approve/ })).toHaveCount(0);
    expect(await elicitationStatus(aliceElicitation.elicitationId)).toBe("pending");
    return page;
  });

  await test.step("alice completes it and the client is notified", async () => {
    const notified = alice.completion(aliceElicitation.elicitationId);
    const page = await openSignedIn(browser, aliceElicitation.url, "alice");
    await approveAndAuthorize(page, "alice");
    expect(await notified).toBe(aliceElicitation.elicitationId);
    expect(await elicitationStatus(aliceElicitation.elicitationId)).toBe("completed");
    await page.context().close();
  });

  const aliceNotes = await test.step("alice's retried call returns her notes", () => notes(alice));
  expect(aliceNotes).toEqual({ owner: "alice", notes: ["Follow the white rabbit", "Tea party at six"] });

  await test.step("bob completes his own and sees only his notes", async () => {
    const notified = bob.completion(bobElicitation.elicitationId);
    await bobPage.goto(bobElicitation.url);
    await approveAndAuthorize(bobPage, "bob");
    expect(await notified).toBe(bobElicitation.elicitationId);
    await bobPage.context().close();
    const bobNotes = await notes(bob);
    expect(bobNotes.owner).toBe("bob");
    expect(bobNotes.notes).toEqual(["Fix the fence", "Order more bricks"]);
    for (const n of aliceNotes.notes) expect(bobNotes.notes).not.toContain(n);
  });

  await test.step("the upstream saw each user's own token; MCP never saw any", async () => {
    const aliceGrant = await runDemoFixture<{ accessToken: string; refreshToken: string | null }>(env.e2e, "credential", { subject: "alice" });
    const bobGrant = await runDemoFixture<{ accessToken: string; refreshToken: string | null }>(env.e2e, "credential", { subject: "bob" });
    const api = env.e2e.upstream.stats.apiRequests;
    expect(api.filter((r) => r.accountId === "alice").map((r) => r.token)).toContain(aliceGrant.accessToken);
    expect(api.filter((r) => r.accountId === "bob").map((r) => r.token)).toContain(bobGrant.accessToken);
    expect(api.filter((r) => r.token === aliceGrant.accessToken).every((r) => r.accountId === "alice")).toBe(true);

    const secrets = new Set([...api.map((r) => r.token), aliceGrant.accessToken, bobGrant.accessToken]);
    for (const refresh of [aliceGrant.refreshToken, bobGrant.refreshToken]) if (refresh) secrets.add(refresh);
    await Promise.all([alice.traffic.settle(), bob.traffic.settle(), env.mcpServerTraffic.settle()]);
    const seen = {
      aliceClient: alice.traffic.text(),
      bobClient: bob.traffic.text(),
      mcpServer: env.mcpServerTraffic.text(),
    };
    // The recordings are real: they hold the notes and the elicitation ids that did pass through.
    expect(seen.aliceClient).toContain("Follow the white rabbit");
    expect(seen.aliceClient).toContain(aliceElicitation.elicitationId);
    expect(seen.mcpServer).toContain("Order more bricks");
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(20);
      for (const [where, text] of Object.entries(seen)) expect(text.includes(secret), `upstream token material in ${where}`).toBe(false);
    }
  });

  await test.step("Frontdesk's signed webhooks reached the gateway and verified", async () => {
    await expect.poll(() => env.gateway.stats.webhooksAccepted, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    expect(env.gateway.stats.webhooksRejected).toBe(0);
  });

  await alice.close();
  await bob.close();
});

test("outside demo mode the home page shows no demo walkthrough and no demo passwords", async ({ page }) => {
  await page.goto(env.e2e.frontdesk.url);
  await expect(page.getByRole("heading", { level: 1, name: "Frontdesk" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Try the demo" })).toHaveCount(0);
  for (const password of Object.values(PASSWORDS)) expect(await page.content()).not.toContain(password);
});
