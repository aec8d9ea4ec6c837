// The portal end to end, in Chromium, against a real IdP and a real upstream (oidc-provider),
// real PostgreSQL and a built Frontdesk: sign-in, consent, upstream OAuth, API keys, refusals,
// state/code binding, decline, access_denied, revoke. One environment for the whole file.
import { randomBytes } from "node:crypto";
import { expect, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { startE2eEnvironment, UPSTREAM_PROVIDER_SLUG, type E2eEnvironment } from "../helpers/e2e-environment";
import { fixture } from "./portal-fixtures";

test.describe.configure({ mode: "serial" });

let env: E2eEnvironment;
let gatewayId: string;
const GATEWAY_NAME = "Acme Agent Gateway";

interface Elicited {
  id: string;
  url: string;
}

async function elicit(subject: string, opts: { provider?: string; scopes?: string[]; expired?: boolean } = {}): Promise<Elicited> {
  return fixture<Elicited>(env.env, "elicit", {
    issuer: env.idp.issuer,
    subject,
    gatewayId,
    provider: opts.provider ?? UPSTREAM_PROVIDER_SLUG,
    scopes: opts.scopes ?? ["notes:read"],
    expired: opts.expired ?? false,
  });
}

async function status(id: string): Promise<string | undefined> {
  return (await fixture<{ status: string } | null>(env.env, "status", { id }))?.status;
}

async function signInAt(page: Page, user: "alice" | "bob" | "admin") {
  await expect(page).toHaveURL(/\/sign-in\?callbackUrl=/);
  await page.getByRole("button", { name: /Sign in with/ }).click();
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(env.idp.users[user].password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function upstreamLogin(page: Page, user: "alice" | "bob") {
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(env.idp.users[user].password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function newSignedInContext(
  browser: Browser,
  user: "alice" | "bob",
  firstUrl: string,
  opts: { waitingFrom?: string } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(firstUrl);
  if (opts.waitingFrom) {
    // Reached from a consent link, the sign-in page says that a request waits and from whom.
    await expect(page.getByRole("status").filter({ hasText: "A request is waiting for you" })).toContainText(
      `${opts.waitingFrom} asks to use your Notes account`,
    );
  }
  await signInAt(page, user);
  return { context, page };
}

/**
 * alice presses Approve in her own browser; the upstream login and consent then happen in a
 * browser without a Frontdesk session, whose callback is refused (no_session) without consuming
 * anything. Returns that callback URL: a real code and state bound to alice's session.
 */
async function approveElsewhere(browser: Browser, elicitationUrl: string): Promise<string> {
  await alice.page.goto(elicitationUrl);
  const upstreamOrigin = new URL(env.upstream.issuer).origin;
  let authorizationUrl = "";
  await alice.page.route(
    (url) => url.origin === upstreamOrigin && url.pathname === "/auth",
    async (route) => {
      const url = route.request().url();
      await route.abort();
      // Known only once the abort took effect: a route removed before it let the request through
      // now and then, and alice's page went on to the upstream's login while the test had moved on
      // (its next goto "interrupted by another navigation").
      authorizationUrl = url;
    },
  );
  await alice.page.getByRole("button", { name: /Approve and continue/ }).click();
  await expect.poll(() => authorizationUrl).toContain("code_challenge_method=S256");
  // Leave the consent page while /auth is still refused: its script can start the navigation to the
  // upstream once more after the abort (a CI run saw alice's next goto "interrupted by another
  // navigation" to the upstream's login). A goto interrupted that way is tried again.
  await expect(async () => {
    await alice.page.goto("about:blank");
  }).toPass();
  await alice.page.unrouteAll({ behavior: "wait" });
  expect(new URL(authorizationUrl).searchParams.get("redirect_uri")).toBe(`${env.frontdesk.url}/api/oauth/callback/${UPSTREAM_PROVIDER_SLUG}`);

  const elsewhere = await browser.newContext();
  const page = await elsewhere.newPage();
  let callback = "";
  page.on("request", (r) => {
    if (r.url().includes(`/api/oauth/callback/${UPSTREAM_PROVIDER_SLUG}?`)) callback = r.url();
  });
  await page.goto(authorizationUrl);
  await upstreamLogin(page, "alice");
  await page.getByRole("button", { name: "Authorize" }).click();
  await expect(page).toHaveURL(/reason=no_session/);
  await elsewhere.close();
  expect(callback).toContain("code=");
  return callback;
}

test.beforeAll(async () => {
  env = await startE2eEnvironment();
  const ids = await fixture<{ gatewayId: string }>(env.env, "setup", {
    gatewayName: GATEWAY_NAME,
    slug: UPSTREAM_PROVIDER_SLUG,
    issuer: env.upstream.issuer,
    clientId: env.upstream.clientId,
    clientSecret: env.upstream.clientSecret,
    apiUrl: env.upstream.apiUrl,
  });
  gatewayId = ids.gatewayId;
});

test.afterAll(async () => {
  await env?.stop();
});

let alice: { context: BrowserContext; page: Page };
let aliceCallbackUrl: string;
let aliceFirst: Elicited;

test("alice signs in from her elicitation URL, approves, connects, and the token is stored only encrypted", async ({ browser }) => {
  aliceFirst = await elicit("alice");
  alice = await newSignedInContext(browser, "alice", aliceFirst.url, { waitingFrom: GATEWAY_NAME });
  const { page } = alice;
  await expect(page).toHaveURL(aliceFirst.url);
  // The consent page cannot be framed and leaks no referrer.
  const headers = (await page.request.get(aliceFirst.url)).headers();
  expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
  expect(headers["x-frame-options"]).toBe("DENY");
  expect(headers["referrer-policy"]).toBe("no-referrer");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  // The user is keyed by the IdP's issuer and subject.
  expect(await fixture(env.env, "user", { subject: "alice" })).toMatchObject({
    issuer: env.idp.issuer,
    subject: "alice",
    role: "user",
    groups: ["engineering"],
    sessions: 1,
    userAgents: [expect.stringContaining("Chrome")],
  });
  await expect(page.getByRole("heading", { name: "Connect Notes?" })).toBeVisible();
  await expect(page.getByText(GATEWAY_NAME).first()).toBeVisible();
  await expect(page.getByText("research-agent")).toBeVisible();
  await expect(page.getByText("notes-mcp")).toBeVisible();
  await expect(page.getByText("list_notes")).toBeVisible();
  // Each scope in plain words (the provider's line), its raw name still visible beneath.
  await expect(page.getByRole("listitem").filter({ hasText: "Read your notes" })).toContainText("notes:read");
  await expect(page.getByText("Nothing yet: this is a new connection")).toBeVisible();
  await expect(page.getByText(/This request expires in \d+ minutes/)).toBeVisible();

  page.on("request", (r) => {
    if (r.url().includes(`/api/oauth/callback/${UPSTREAM_PROVIDER_SLUG}?`)) aliceCallbackUrl = r.url();
  });
  const html: string[] = [];
  page.on("response", async (r) => {
    if (r.url().startsWith(env.frontdesk.url) && (r.headers()["content-type"] ?? "").includes("text")) html.push(await r.text().catch(() => ""));
  });
  await page.getByRole("button", { name: /Approve and continue/ }).click();
  await upstreamLogin(page, "alice");
  await page.getByRole("button", { name: "Authorize" }).click();
  await expect(page).toHaveURL(aliceFirst.url);
  await expect(page.getByText("You can return to your agent")).toBeVisible();
  expect(aliceCallbackUrl).toContain("state=");
  expect(aliceCallbackUrl).toContain("iss=");
  expect(await status(aliceFirst.id)).toBe("completed");

  const stored = await fixture<{ status: string; scopes: string[]; credential: { kind: string; accessToken: string; refreshToken: string | null } }>(
    env.env,
    "credential",
    { subject: "alice", provider: UPSTREAM_PROVIDER_SLUG },
  );
  expect(stored.status).toBe("active");
  expect(stored.scopes).toContain("notes:read");
  const { accessToken, refreshToken } = stored.credential;
  expect(accessToken.length).toBeGreaterThan(20);
  expect(refreshToken).toBeTruthy();
  // The upstream accepts it: it really is alice's token.
  const api = await fetch(`${env.upstream.apiUrl}/notes`, { headers: { authorization: `Bearer ${accessToken}` } });
  expect((await api.json()).owner).toBe("alice");

  const { text: dump } = await fixture<{ text: string }>(env.env, "dump");
  expect(dump).toContain("accessTokenCipher");
  for (const secret of [accessToken, refreshToken!]) {
    expect(dump).not.toContain(secret);
    expect(env.frontdesk.logs()).not.toContain(secret);
    for (const body of html) expect(body).not.toContain(secret);
    expect(await page.content()).not.toContain(secret);
  }
  // The session table holds only a hash of the browser's session token.
  const cookie = (await alice.context.cookies()).find((c) => c.name === "frontdesk.session-token");
  expect(cookie?.httpOnly).toBe(true);
  expect(cookie?.sameSite).toBe("Lax");
  expect(dump).not.toContain(cookie!.value);

  const audit = await fixture<{ events: { action: string; decision: string }[]; chainOk: boolean }>(env.env, "audit");
  const actions = audit.events.map((e) => e.action);
  expect(actions).toEqual(expect.arrayContaining(["elicitation.created", "elicitation.approved", "elicitation.completed"]));
  expect(audit.chainOk).toBe(true);

  await page.getByRole("link", { name: "My connections" }).click();
  await expect(page.getByRole("heading", { name: "Notes" })).toBeVisible();
  await expect(page.getByText("Active")).toBeVisible();
});

test("a replayed callback, a callback without state and a foreign session's callback all fail without a token request", async ({ browser }) => {
  const before = env.upstream.stats.tokenRequests;
  const grantsBefore = (await fixture<{ count: number }>(env.env, "grantCount")).count;

  await alice.page.goto(aliceCallbackUrl);
  await expect(alice.page).toHaveURL(/\/oauth\/error\?reason=invalid_state/);
  await expect(alice.page.getByText("already used")).toBeVisible();

  await alice.page.goto(`${env.frontdesk.url}/api/oauth/callback/${UPSTREAM_PROVIDER_SLUG}?code=abc`);
  await expect(alice.page).toHaveURL(/reason=missing_state/);

  // alice approves a new request in her browser; the upstream part happens in a browser without
  // a Frontdesk session (Playwright cannot stop a redirect chain half-way), which yields a real
  // code and state bound to alice's session, delivered to the wrong browsers first.
  const second = await elicit("alice", { scopes: ["notes:read", "notes:write"] });
  const callbackA = await approveElsewhere(browser, second.url);
  const a = new URL(callbackA);

  // bob's browser (his own valid session) presents alice's code and state: refused, nothing consumed.
  const bob = await newSignedInContext(browser, "bob", `${env.frontdesk.url}/connections`);
  await expect(bob.page.getByText("No connections yet")).toBeVisible();
  await bob.page.goto(callbackA);
  await expect(bob.page).toHaveURL(/reason=invalid_state/);
  await bob.context.close();

  expect(env.upstream.stats.tokenRequests).toBe(before);
  expect((await fixture<{ count: number }>(env.env, "grantCount")).count).toBe(grantsBefore);
  expect(await fixture(env.env, "credential", { subject: "bob", provider: UPSTREAM_PROVIDER_SLUG })).toBeNull();
  expect(await status(second.id)).toBe("pending");

  // Code injection: alice's browser gets her own second state with the code of the first flow.
  // PKCE ties the code to the other transaction's verifier: the upstream refuses, nothing is stored.
  const callbackB = new URL(await approveElsewhere(browser, second.url));
  const injected = new URL(callbackB);
  injected.searchParams.set("code", a.searchParams.get("code")!);
  await alice.page.goto(injected.href);
  await expect(alice.page.getByText("The connection did not complete")).toBeVisible();
  expect(env.upstream.stats.tokenRequests).toBe(before + 1);
  expect(await status(second.id)).toBe("pending");
  const afterInjection = await fixture<{ scopes: string[] }>(env.env, "credential", { subject: "alice", provider: UPSTREAM_PROVIDER_SLUG });
  expect(afterInjection.scopes).not.toContain("notes:write");

  // The binding did not burn alice's first transaction: her own browser completes it.
  await alice.page.goto(callbackA);
  await expect(alice.page.getByText("You can return to your agent")).toBeVisible();
  expect(await status(second.id)).toBe("completed");
  const stored = await fixture<{ scopes: string[] }>(env.env, "credential", { subject: "alice", provider: UPSTREAM_PROVIDER_SLUG });
  expect(stored.scopes).toEqual(expect.arrayContaining(["notes:read", "notes:write"]));
});

test("bob opening alice's URL is refused, audited, and sees nothing of her request", async ({ browser }) => {
  const request = await elicit("alice");
  const bob = await newSignedInContext(browser, "bob", request.url);
  await expect(bob.page.getByRole("heading", { name: "This request is for a different account" })).toBeVisible();
  const content = await bob.page.content();
  for (const hidden of [GATEWAY_NAME, "research-agent", "notes-mcp", "list_notes", "notes:read", "Notes", "Approve", "alice"]) {
    expect(content).not.toContain(hidden);
  }
  expect(await status(request.id)).toBe("pending");
  const audit = await fixture<{ events: { action: string; reason: string | null; context: { elicitationId?: string } }[] }>(env.env, "audit");
  expect(audit.events.some((e) => e.action === "elicitation.refused" && e.reason === "wrong_user" && e.context.elicitationId === request.id)).toBe(true);
  await bob.context.close();
});

test("expired, completed, unknown and malformed ids each get a clear page", async () => {
  const { page } = alice;
  const expired = await elicit("alice", { expired: true });
  await page.goto(expired.url);
  await expect(page.getByRole("heading", { name: "This request has expired" })).toBeVisible();
  expect(await status(expired.id)).toBe("expired");

  await page.goto(aliceFirst.url);
  await expect(page.getByText("This request is complete and cannot be used again")).toBeVisible();
  await expect(page.getByRole("button", { name: /Approve/ })).toHaveCount(0);

  await page.goto(`${env.frontdesk.url}/connect/eli_${randomBytes(32).toString("base64url")}`);
  await expect(page.getByRole("heading", { name: "Request not found" })).toBeVisible();

  await page.goto(`${env.frontdesk.url}/connect/not-a-request%3Cscript%3E`);
  await expect(page.getByRole("heading", { name: "This link is not valid" })).toBeVisible();

  const audit = await fixture<{ events: { action: string; reason: string | null }[] }>(env.env, "audit");
  const reasons = audit.events.filter((e) => e.action === "elicitation.refused").map((e) => e.reason);
  expect(reasons).toEqual(expect.arrayContaining(["expired", "unknown", "malformed"]));
});

test("decline marks the elicitation declined", async () => {
  const request = await elicit("alice");
  await alice.page.goto(request.url);
  await alice.page.getByRole("button", { name: "Decline" }).click();
  await expect(alice.page.getByRole("heading", { name: "This request was declined" })).toBeVisible();
  expect(await status(request.id)).toBe("declined");
});

test("access_denied at the upstream declines the request and stores nothing", async ({ browser }) => {
  // bob, who has no Notes connection: alice's already covers every Notes scope by now, and a
  // covered request is settled on the consent page without the upstream (consent per requester).
  const request = await elicit("bob", { scopes: ["notes:read"] });
  // A fresh browser: no upstream session, so the upstream asks and bob denies.
  const fresh = await newSignedInContext(browser, "bob", request.url);
  const before = env.upstream.stats.tokenRequests;
  await fresh.page.getByRole("button", { name: /Approve and continue/ }).click();
  await upstreamLogin(fresh.page, "bob");
  await fresh.page.getByRole("button", { name: "Deny" }).click();
  await expect(fresh.page.getByText("Access was not granted")).toBeVisible();
  expect(await status(request.id)).toBe("declined");
  expect(env.upstream.stats.tokenRequests).toBe(before);
  expect(await fixture(env.env, "credential", { subject: "bob", provider: UPSTREAM_PROVIDER_SLUG })).toBeNull();
  await fresh.context.close();
});

test("an upstream token endpoint that is down leaves the request pending, and Approve again succeeds", async ({ browser }) => {
  // bob (no Notes connection yet): a request alice's connection already covers never reaches the upstream.
  const request = await elicit("bob", { scopes: ["notes:read"] });
  const bob = await newSignedInContext(browser, "bob", request.url);
  const { page } = bob;
  const frontdeskOrigin = new URL(env.frontdesk.url).origin;
  const approve = async () => {
    await page.goto(request.url);
    let calledBack = false;
    const callback = page
      .waitForRequest((r) => r.url().includes(`/api/oauth/callback/${UPSTREAM_PROVIDER_SLUG}?`), { timeout: 30_000 })
      .then(() => (calledBack = true));
    await page.getByRole("button", { name: /Approve and continue/ }).click();
    // Depending on the upstream's session and remembered consent it may ask to sign in and/or
    // to authorize again (or redirect straight back); answer whatever it asks.
    const authorize = page.getByRole("button", { name: "Authorize" });
    const username = page.getByLabel("Username");
    while (!calledBack) {
      if (await username.isVisible()) {
        await upstreamLogin(page, "bob");
        await username.waitFor({ state: "detached" });
      } else if (await authorize.isVisible()) {
        await authorize.click();
        await authorize.waitFor({ state: "detached" });
      } else {
        // Whichever comes next: the callback, or the upstream's sign-in or consent page. (The loser
        // keeps waiting until the page moves on; its rejection then is expected.)
        await Promise.race([callback, username.or(authorize).first().waitFor({ state: "visible" }).catch(() => undefined)]);
      }
    }
    await page.waitForURL((url) => url.origin === frontdeskOrigin && url.pathname.startsWith("/connect/"));
  };
  expect(await fixture(env.env, "credential", { subject: "bob", provider: UPSTREAM_PROVIDER_SLUG })).toBeNull();
  env.upstream.failTokenEndpoint("5xx");
  try {
    await approve();
    await expect(page.getByText("The service could not be reached")).toBeVisible();
    expect(await status(request.id)).toBe("pending");
    // Nothing was stored while the upstream was down.
    expect(await fixture(env.env, "credential", { subject: "bob", provider: UPSTREAM_PROVIDER_SLUG })).toBeNull();
  } finally {
    env.upstream.failTokenEndpoint("none");
  }
  await approve();
  await expect(page.getByText("You can return to your agent")).toBeVisible();
  expect(await status(request.id)).toBe("completed");
  await bob.context.close();
});

test("a consent POST without the form token or from another origin is refused", async () => {
  const request = await elicit("alice");
  const { page } = alice;
  await page.goto(request.url);
  // The no-JavaScript form fields Next renders for the Decline server action.
  const form = page.locator("form").filter({ has: page.getByRole("button", { name: "Decline" }) });
  const fields = await form.locator("input[type=hidden]").evaluateAll((inputs) =>
    inputs.map((i) => [(i as HTMLInputElement).name, (i as HTMLInputElement).value] as [string, string]),
  );
  const withoutToken = Object.fromEntries(fields.filter(([name]) => name !== "formToken"));
  const all = Object.fromEntries(fields);
  expect(Object.keys(all).some((k) => k.startsWith("$ACTION_ID_"))).toBe(true);

  const post = (multipart: Record<string, string>, origin: string) =>
    page.request.post(request.url, { multipart, headers: { origin }, maxRedirects: 0, failOnStatusCode: false });
  await post(withoutToken, env.frontdesk.url);
  expect(await status(request.id)).toBe("pending");
  await post(all, "http://evil.example");
  expect(await status(request.id)).toBe("pending");
  await post({ ...all, formToken: "A".repeat(43) }, env.frontdesk.url);
  expect(await status(request.id)).toBe("pending");
  // Positive control: the same POST with the token and the right origin works.
  await post(all, env.frontdesk.url);
  expect(await status(request.id)).toBe("declined");
});

test("API-key connect stores the key encrypted and never renders it", async () => {
  const request = await elicit("alice", { provider: "keysvc", scopes: [] });
  const apiKey = `sk_test_${randomBytes(24).toString("hex")}`;
  const { page } = alice;
  const html: string[] = [];
  const collect = async (r: import("@playwright/test").Response) => {
    if (r.url().startsWith(env.frontdesk.url)) html.push(await r.text().catch(() => ""));
  };
  page.on("response", collect);
  await page.goto(request.url);
  const input = page.getByLabel("Key Service API key");
  await expect(input).toHaveAttribute("type", "password");
  await input.fill(apiKey);
  await page.getByRole("button", { name: "Connect" }).click();
  await expect(page.getByText("You can return to your agent")).toBeVisible();
  page.off("response", collect);
  expect(await status(request.id)).toBe("completed");
  for (const body of html) expect(body).not.toContain(apiKey);
  expect(await page.content()).not.toContain(apiKey);
  expect(env.frontdesk.logs()).not.toContain(apiKey);
  const { text: dump } = await fixture<{ text: string }>(env.env, "dump");
  expect(dump).not.toContain(apiKey);
  const stored = await fixture<{ credential: { kind: string; apiKey: string } }>(env.env, "credential", { subject: "alice", provider: "keysvc" });
  expect(stored.credential).toEqual({ kind: "api_key", apiKey, refreshToken: null });
});

test("revoke on /connections calls the upstream revocation endpoint and removes the grant", async () => {
  const { page } = alice;
  const before = env.upstream.stats.revocations;
  await page.goto(`${env.frontdesk.url}/connections`);
  const notes = page.getByRole("listitem").filter({ has: page.getByRole("heading", { name: "Notes" }) });
  await notes.getByText("Revoke…").click();
  await notes.getByRole("button", { name: "Revoke Notes connection" }).click();
  await expect(page.getByText("the service confirmed the revocation")).toBeVisible();
  expect(env.upstream.stats.revocations).toBeGreaterThan(before);
  const stored = await fixture<{ status: string; credential: unknown }>(env.env, "credential", { subject: "alice", provider: UPSTREAM_PROVIDER_SLUG });
  expect(stored).toEqual(expect.objectContaining({ status: "revoked", credential: null }));
  await expect(notes.getByText("Revoked")).toBeVisible();
});

test("an admin is recognized from the IdP group, a foreign callbackUrl is ignored, and sign-out ends the session", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.frontdesk.url}/sign-in?callbackUrl=${encodeURIComponent("https://evil.example/steal")}`);
  await signInAt(page, "admin");
  await page.waitForURL((url) => url.origin === new URL(env.frontdesk.url).origin);
  expect(new URL(page.url()).pathname).toBe("/");
  expect(await fixture(env.env, "user", { subject: "admin" })).toMatchObject({ role: "admin", groups: ["frontdesk-admins"], sessions: 1 });

  await page.goto(`${env.frontdesk.url}/connections`);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(`${env.frontdesk.url}/`);
  expect(await fixture(env.env, "user", { subject: "admin" })).toMatchObject({ sessions: 0 });
  await page.goto(`${env.frontdesk.url}/connections`);
  await expect(page).toHaveURL(/\/sign-in\?callbackUrl=%2Fconnections/);
  await context.close();
});
