// The project's end-to-end proof with real MCP software, both protocol revisions on one MCP
// server URL. 2025-11-25: the official v1 SDK client calls the reference MCP server's tool as
// alice, gets -32042 with a Frontdesk link, alice completes it in Chromium (IdP sign-in,
// consent, upstream authorization), the client receives notifications/elicitation/complete for
// that id, and the retried call returns alice's notes. Bob gets his own link, cannot complete
// alice's, and sees only his own notes. No upstream token material ever reaches the MCP client
// or the MCP server. 2026-07-28: the official v2 client pinned to it gets `input_required` with a
// Frontdesk link and its automatic retry returns the notes once alice approves; decline and
// revoke end calls promptly in both revisions (times are printed); a sealed requestState
// replayed by bob or changed by one byte yields nothing and is audited.
import { expect, test, type Browser, type Page } from "@playwright/test";
import { ErrorCode, UrlElicitationRequiredError, type ElicitRequestURLParams } from "@modelcontextprotocol/sdk/types.js";
import { DEMO_MCP_AUDIENCE } from "@/demo/ports";
import { RETRY_HEADERS } from "@/demo/gateway/server";
import {
  connectMcpClient,
  connectMcpClientV2,
  runDemoFixture,
  startMcpEnvironment,
  type McpEnvironment,
  type McpUserClient,
} from "../helpers/mcp-environment";

let env: McpEnvironment;
// Pages render slowly on a loaded machine; these only end hangs.
const SLOW = { timeout: 60_000 };

test.beforeAll(async () => {
  test.setTimeout(360_000);
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

/** Opens a Frontdesk page in a fresh browser context and signs in at the IdP as `user`. */
async function openSignedIn(browser: Browser, url: string, user: "alice" | "bob", landing = "/connect/"): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await page.getByRole("button", { name: /^Sign in with/ }).click();
  await page.locator("#login").fill(user);
  await page.locator("#password").fill(PASSWORDS[user]);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => u.href.startsWith(`${env.e2e.frontdesk.url}${landing}`), SLOW);
  return page;
}

/** The user revokes their Notes connection on the connections page; returns when it is done. */
async function revokeNotes(browser: Browser, user: "alice" | "bob"): Promise<number> {
  const page = await openSignedIn(browser, `${env.e2e.frontdesk.url}/connections`, user, "/connections");
  await page.getByText("Revoke…").click();
  await page.getByRole("button", { name: "Revoke Notes connection" }).click();
  await expect(page.getByText("Revoked").first()).toBeVisible(SLOW);
  const revokedAt = Date.now();
  await page.context().close();
  return revokedAt;
}

/** On the consent page: approve, sign in at Notes as `user`, authorize, and land back in Frontdesk. */
async function approveAndAuthorize(page: Page, user: "alice" | "bob") {
  await expect(page.getByRole("heading", { name: "Connect Notes?" })).toBeVisible(SLOW);
  await page.getByRole("button", { name: "Approve and continue to Notes" }).click();
  await page.waitForURL((u) => u.href.startsWith(env.e2e.upstream.issuer), SLOW);
  await page.locator("#login").fill(user);
  await page.locator("#password").fill(PASSWORDS[user]);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Authorize" }).click();
  await page.waitForURL((u) => u.href.startsWith(env.e2e.frontdesk.url), SLOW);
  await expect(page.getByText(/return to your agent/i).first()).toBeVisible(SLOW);
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
    await expect(page.getByRole("heading", { name: "This request is for a different account" })).toBeVisible(SLOW);
    await expect(page.getByRole("button", { name: /Approve/ })).toHaveCount(0);
    expect(await elicitationStatus(aliceElicitation.elicitationId)).toBe("pending");
    return page;
  });

  await test.step("alice completes it and the client is notified", async () => {
    const notified = alice.completion(aliceElicitation.elicitationId, 120_000);
    const page = await openSignedIn(browser, aliceElicitation.url, "alice");
    await approveAndAuthorize(page, "alice");
    expect(await notified).toBe(aliceElicitation.elicitationId);
    expect(await elicitationStatus(aliceElicitation.elicitationId)).toBe("completed");
    await page.context().close();
  });

  const aliceNotes = await test.step("alice's retried call returns her notes", () => notes(alice));
  expect(aliceNotes).toEqual({ owner: "alice", notes: ["Follow the white rabbit", "Tea party at six"] });

  await test.step("bob completes his own and sees only his notes", async () => {
    const notified = bob.completion(bobElicitation.elicitationId, 120_000);
    await bobPage.goto(bobElicitation.url);
    await approveAndAuthorize(bobPage, "bob");
    expect(await notified).toBe(bobElicitation.elicitationId);
    await bobPage.context().close();
    const bobNotes = await notes(bob);
    expect(bobNotes.owner).toBe("bob");
    expect(bobNotes.notes).toEqual(["Fix the fence", "Order more bricks"]);
    for (const n of aliceNotes.notes) expect(bobNotes.notes).not.toContain(n);
  });

  await test.step("the upstream saw each user's own token; neither the MCP server nor the gateway (proxy mode) ever saw any", async () => {
    const aliceGrant = await runDemoFixture<{ accessToken: string; refreshToken: string | null }>(env.e2e, "credential", { subject: "alice" });
    const bobGrant = await runDemoFixture<{ accessToken: string; refreshToken: string | null }>(env.e2e, "credential", { subject: "bob" });
    const api = env.e2e.upstream.stats.apiRequests;
    expect(api.filter((r) => r.accountId === "alice").map((r) => r.token)).toContain(aliceGrant.accessToken);
    expect(api.filter((r) => r.accountId === "bob").map((r) => r.token)).toContain(bobGrant.accessToken);
    expect(api.filter((r) => r.token === aliceGrant.accessToken).every((r) => r.accountId === "alice")).toBe(true);

    const secrets = new Set([...api.map((r) => r.token), aliceGrant.accessToken, bobGrant.accessToken]);
    for (const refresh of [aliceGrant.refreshToken, bobGrant.refreshToken]) if (refresh) secrets.add(refresh);
    await Promise.all([alice.traffic.settle(), bob.traffic.settle(), env.mcpServerTraffic.settle(), env.gatewayTraffic.settle()]);
    const seen = {
      aliceClient: alice.traffic.text(),
      bobClient: bob.traffic.text(),
      // What the MCP server received from its client is what the clients sent (recorded above);
      // what it sent to and received from the gateway is this.
      mcpServer: env.mcpServerTraffic.text(),
      // What the gateway received is the MCP server's traffic above; what it sent and got back is this.
      gateway: env.gatewayTraffic.text(),
      gatewayLog: env.logs.gateway.join("\n"),
      mcpServerLog: env.logs.mcpServer.join("\n"),
    };
    // The gateway ran in proxy mode: every Notes call went through Frontdesk's egress proxy.
    expect(seen.gateway).toContain("/api/v1/proxy/notes/notes");
    expect(seen.gateway).toContain("Follow the white rabbit");
    expect(seen.gatewayLog).toContain("via Frontdesk -> 200");
    expect(seen.mcpServerLog.length).toBeGreaterThan(0);
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

test("2026-07-28: after alice revokes, a pinned v2 client gets input_required; bob is refused; alice approves and the automatic retry returns her notes", async ({ browser }) => {
  test.setTimeout(180_000);
  const alice = await connectMcpClientV2(env, "alice", "2026-07-28");
  expect(alice.client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
  expect(alice.client.getProtocolEra()).toBe("modern");

  // Proxy mode: the gateway holds no token; after the revoke Frontdesk's proxy answers consent needed.
  const revokedAt = await test.step("alice revokes her Notes connection", () => revokeNotes(browser, "alice"));
  const call = alice.client.callTool({ name: "list_my_notes" });
  const link = await alice.nextLink(60_000);
  console.log(`2026-07-28: revoke -> consent link on the next call: ${Date.now() - revokedAt} ms`);
  expect(link.url).toMatch(new RegExp(`^${env.e2e.frontdesk.url}/connect/eli_[A-Za-z0-9_-]{43}$`));

  await test.step("bob cannot complete alice's link", async () => {
    const page = await openSignedIn(browser, link.url, "bob");
    await expect(page.getByRole("heading", { name: "This request is for a different account" })).toBeVisible(SLOW);
    await expect(page.getByRole("button", { name: /Approve/ })).toHaveCount(0);
    await page.context().close();
  });

  const approvedAt = await test.step("alice approves and authorizes Notes", async () => {
    const page = await openSignedIn(browser, link.url, "alice");
    await approveAndAuthorize(page, "alice");
    const at = Date.now();
    await page.context().close();
    return at;
  });
  const result = await call;
  console.log(`2026-07-28: approval -> automatic retry answered: ${Date.now() - approvedAt} ms`);
  expect(result.isError ?? false).toBe(false);
  expect(result.structuredContent).toEqual({ owner: "alice", notes: ["Follow the white rabbit", "Tea party at six"] });

  await alice.traffic.settle();
  const aliceGrant = await runDemoFixture<{ accessToken: string; refreshToken: string | null }>(env.e2e, "credential", { subject: "alice" });
  expect(alice.traffic.text()).toContain('"resultType":"input_required"');
  expect(alice.traffic.text().includes(aliceGrant.accessToken)).toBe(false);
  await alice.close();
});

test("a v2 client in auto mode negotiates 2026-07-28 on the same URL; the v1 client stays on 2025-11-25", async () => {
  const auto = await connectMcpClientV2(env, "alice", "auto");
  expect(auto.client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
  const result = await auto.client.callTool({ name: "list_my_notes" });
  expect((result.structuredContent as { owner: string }).owner).toBe("alice");
  await auto.close();
  const legacy = await connectMcpClient(env, "alice");
  expect(legacy.client.getServerVersion()?.name).toBe("frontdesk-demo-notes");
  expect((await notes(legacy)).owner).toBe("alice");
  await legacy.close();
});

test("Decline in the portal ends the tool call with 'declined' within 5 s, in both revisions", async ({ browser }) => {
  test.setTimeout(180_000);
  await revokeNotes(browser, "bob");
  const decline = async (url: string) => {
    const page = await openSignedIn(browser, url, "bob");
    await page.getByRole("button", { name: "Decline" }).click();
    const at = Date.now();
    await expect(page.getByText(/declined/i).first()).toBeVisible(SLOW);
    await page.context().close();
    return at;
  };

  await test.step("2026-07-28", async () => {
    const bob = await connectMcpClientV2(env, "bob", "2026-07-28");
    const call = bob.client.callTool({ name: "list_my_notes" });
    const declinedAt = await decline((await bob.nextLink(60_000)).url);
    const result = await call;
    const ms = Date.now() - declinedAt;
    console.log(`2026-07-28: decline -> tool result: ${ms} ms`);
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toMatch(/declined/i);
    expect(ms).toBeLessThan(5_000);
    await bob.close();
  });

  await test.step("2025-11-25", async () => {
    const bob = await connectMcpClient(env, "bob");
    const elicitation = await expectElicitation(bob);
    const notified = bob.completion(elicitation.elicitationId, 60_000);
    const declinedAt = await decline(elicitation.url);
    await notified;
    const result = await bob.client.callTool({ name: "list_my_notes" });
    const ms = Date.now() - declinedAt;
    console.log(`2025-11-25: decline -> notification -> retried tool result: ${ms} ms`);
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toMatch(/declined/i);
    expect(ms).toBeLessThan(5_000);
    await bob.close();
  });
});

test("2025-11-25: after a revoke the next call gets a consent link, not an upstream 401", async ({ browser }) => {
  const alice = await connectMcpClient(env, "alice");
  expect((await notes(alice)).owner).toBe("alice");
  const revokedAt = await revokeNotes(browser, "alice");
  const elicitation = await expectElicitation(alice);
  console.log(`2025-11-25: revoke -> consent link on the next call: ${Date.now() - revokedAt} ms`);
  expect(elicitation.url).toContain("/connect/eli_");
  await alice.close();
});

test("alice's requestState replayed by bob, or with one byte changed, yields no notes and is audited", async () => {
  const token = (user: "alice" | "bob") => env.e2e.idp.signSubjectToken({ sub: user, aud: DEMO_MCP_AUDIENCE, extra: { email: `${user}@example.test` } });
  const viaGateway = async (user: "alice" | "bob", state?: string) => {
    const headers: Record<string, string> = { authorization: `Bearer ${await token(user)}`, [RETRY_HEADERS.digest]: "sha256:e2e" };
    if (state) Object.assign(headers, { [RETRY_HEADERS.requestState]: state, [RETRY_HEADERS.wait]: "0" });
    const res = await fetch(`${env.gateway.url}/notes/notes`, { headers });
    return { status: res.status, text: await res.text() };
  };
  // Alice revoked in the test above: her call needs consent, and carries a sealed state.
  const first = await viaGateway("alice");
  expect(first.status).toBe(403);
  const state = JSON.parse(first.text).inputRequired.requestState as string;
  const at = state.length - 30;
  const changed = state.slice(0, at) + (state[at] === "A" ? "B" : "A") + state.slice(at + 1);
  const before = (await runDemoFixture<{ decision: string; reason: string }[]>(env.e2e, "audit", { action: "request_state.retry" })).length;
  for (const [user, s] of [["bob", state], ["alice", changed]] as const) {
    const answer = await viaGateway(user, s);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text).error).toBe("invalid_request_state");
    expect(answer.text).not.toContain("white rabbit");
  }
  const rows = await runDemoFixture<{ decision: string; reason: string }[]>(env.e2e, "audit", { action: "request_state.retry" });
  expect(rows.slice(before)).toEqual([
    { decision: "deny", reason: "request_state:other_user" },
    { decision: "deny", reason: "request_state:does_not_authenticate" },
  ]);
});

test("outside demo mode the home page shows no demo walkthrough and no demo passwords", async ({ page }) => {
  await page.goto(env.e2e.frontdesk.url);
  await expect(page.getByRole("heading", { level: 1, name: "Frontdesk" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Try the demo" })).toHaveCount(0);
  for (const password of Object.values(PASSWORDS)) expect(await page.content()).not.toContain(password);
});
