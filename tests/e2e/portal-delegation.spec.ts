// A standing delegation end to end, in Chromium, against a built Frontdesk, the real IdP and
// upstream, real PostgreSQL and a real actor-token issuer: a local SPIFFE trust domain whose
// bundle endpoint Frontdesk trusts (ACTOR_TOKEN_ISSUERS), signing JWT-SVIDs for a scheduled agent.
// 1. The agent asks (alice's subject token + its actor token): alice gets a link; the consent page
//    names the agent by its registered name; she connects Notes and ticks "also for 7 days".
// 2. Later, with nobody present, the agent gets the credential from the token endpoint in
//    delegation mode (its actor token + the delegation id shown on alice's connections page).
// 3. alice revokes the delegation on the connections page; the agent's next call is refused.
// 4. alice creates a delegation on the connections page (agent, permissions, gateway, days); the
//    agent resolves by it; she revokes it. Withdrawing the agent as a requester takes away its
//    live-user access too.
// The admin audit shows the refusal with its reason.
import { expect, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { startE2eEnvironment, UPSTREAM_PROVIDER_SLUG, upstreamProviderFields, type E2eEnvironment } from "../helpers/e2e-environment";
import { runFixture } from "../helpers/fixture-process";
import { startSpiffeTrustDomain, type SpiffeTrustDomain } from "../helpers/workload-issuers";

test.describe.configure({ mode: "serial" });

const TRUST_DOMAIN = "jobs.example";
const ACTOR_AUDIENCE = "https://frontdesk.e2e/actors";
const SUBJECT_AUDIENCE = "https://frontdesk.e2e/subjects";
const GATEWAY_NAME = "Scheduler Gateway";
const AGENT_PATH = "/nightly/report";
const AGENT_NAME = "Nightly report job";
const OTHER_AGENT_PATH = "/nightly/other";
const DELEGATION_TYPE = "urn:frontdesk:params:oauth:token-type:delegation";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";

let env: E2eEnvironment;
let spiffe: SpiffeTrustDomain;
let gateway: { id: string; secret: string };
let alice: { context: BrowserContext; page: Page };
let delegationId: string;

const fixture = <T,>(command: string, input: Record<string, unknown> = {}) =>
  runFixture<T>("tests/e2e/delegation-fixtures-cli.ts", env.env, command, input);

/** What the agent's host does: a form POST to the token endpoint as the registered gateway. */
async function tokenExchange(pairs: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${env.frontdesk.url}/oauth/token`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(gateway.id)}:${encodeURIComponent(gateway.secret)}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:token-exchange", audience: UPSTREAM_PROVIDER_SLUG, scope: "notes:read", ...pairs }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function withAlice(): Promise<Record<string, string>> {
  return {
    subject_token: await env.idp.signSubjectToken({ sub: env.idp.users.alice.sub, aud: SUBJECT_AUDIENCE }),
    subject_token_type: JWT_TYPE,
    actor_token: await spiffe.signSvid(AGENT_PATH),
    actor_token_type: JWT_TYPE,
  };
}

async function byDelegation(agentPath = AGENT_PATH): Promise<Record<string, string>> {
  return { subject_token: delegationId, subject_token_type: DELEGATION_TYPE, actor_token: await spiffe.signSvid(agentPath), actor_token_type: JWT_TYPE };
}

/** A refused delegation-mode call: RFC 8693 invalid_request, no token, audited with the reason. */
async function expectRefused(pairs: Record<string, string>, reason: string, accessToken: string) {
  const { status, json } = await tokenExchange(pairs);
  expect({ status, error: json.error }).toEqual({ status: 400, error: "invalid_request" });
  expect(JSON.stringify(json)).not.toContain(accessToken);
  const last = (await fixture<{ action: string; decision: string; reason: string | null }[]>("decisions")).filter((e) => e.action === "token_exchange").at(-1);
  expect(last).toMatchObject({ decision: "deny", reason });
}

async function signIn(page: Page, user: "alice" | "admin") {
  await expect(page).toHaveURL(/\/sign-in\?callbackUrl=/);
  await page.getByRole("button", { name: /Sign in with/ }).click();
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(env.idp.users[user].password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

function notesCard(page: Page) {
  return page.getByRole("listitem").filter({ has: page.getByRole("heading", { name: "Notes" }) });
}

test.beforeAll(async () => {
  spiffe = await startSpiffeTrustDomain({ trustDomain: TRUST_DOMAIN, audience: ACTOR_AUDIENCE });
  env = await startE2eEnvironment({
    env: {
      ACTOR_TOKEN_ISSUERS: JSON.stringify([{ trustDomain: TRUST_DOMAIN, jwksUri: spiffe.bundleUrl, audiences: [ACTOR_AUDIENCE] }]),
      SUBJECT_TOKEN_AUDIENCES: SUBJECT_AUDIENCE,
      DELEGATION_MAX_DAYS: "30",
    },
    insecureIssuers: [new URL(spiffe.bundleUrl).origin],
  });
  const ids = await fixture<{ gatewayId: string; gatewaySecret: string }>("setup", {
    ...upstreamProviderFields(env),
    gatewayName: GATEWAY_NAME,
    trustDomain: TRUST_DOMAIN,
    agents: { [AGENT_PATH]: AGENT_NAME, [OTHER_AGENT_PATH]: "Other job" },
  });
  gateway = { id: ids.gatewayId, secret: ids.gatewaySecret };
});

test.afterAll(async () => {
  await alice?.context.close();
  await env?.stop();
  await spiffe?.close();
});

test("the agent asks with a real actor token; alice connects Notes on the consent page and delegates it for 7 days", async ({ browser }: { browser: Browser }) => {
  const asked = await tokenExchange(await withAlice());
  expect(asked.status).toBe(400);
  expect(asked.json.error).toBe("interaction_required");
  const url = (asked.json.elicitation as { url: string }).url;

  const context = await browser.newContext();
  const page = await context.newPage();
  alice = { context, page };
  await page.goto(url);
  await signIn(page, "alice");
  await expect(page).toHaveURL(url);
  await expect(page.getByRole("heading", { name: "Connect Notes?" })).toBeVisible();
  // The agent by its registered name, as its actor token proved it.
  await expect(page.getByText(AGENT_NAME).first()).toBeVisible();
  await expect(page.getByText("verified by its actor token")).toBeVisible();
  const delegate = page.getByLabel(`Also let agent ${AGENT_NAME} use Notes for me when I am not here`);
  await expect(delegate).not.toBeChecked();
  await expect(page.getByText(`only through ${GATEWAY_NAME}`)).toBeVisible();
  const days = page.getByLabel(/For how many days \(1 to 30\)/);
  await delegate.check();
  await days.fill("7");

  await page.getByRole("button", { name: /Approve and continue/ }).click();
  await page.getByLabel("Username").fill("alice");
  await page.getByLabel("Password").fill(env.idp.users.alice.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Authorize" }).click();
  await expect(page).toHaveURL(url);
  await expect(page.getByText("You can return to your agent")).toBeVisible();

  // The connections page: the agent may use Notes, and acts for her while she is away, for 7 days.
  await page.goto(`${env.frontdesk.url}/connections`);
  const notes = notesCard(page);
  await expect(notes.getByText(`agent ${AGENT_NAME} via ${GATEWAY_NAME}`, { exact: true })).toBeVisible();
  await expect(notes.getByText(`Agent ${AGENT_NAME} via ${GATEWAY_NAME} only`)).toBeVisible();
  await expect(notes.getByText("Active", { exact: true }).last()).toBeVisible();
  delegationId = (await notes.locator("code", { hasText: /^dlg_/ }).innerText()).trim();
  expect(delegationId).toMatch(/^dlg_[A-Za-z0-9_-]+$/);
  const created = (await fixture<{ action: string; context: { delegationId?: string; expiresAt?: string } }[]>("decisions")).find(
    (e) => e.action === "delegation.created",
  );
  expect(created?.context.delegationId).toBe(delegationId);
  const daysLeft = (Date.parse(created!.context.expiresAt!) - Date.now()) / 86_400_000;
  expect(daysLeft).toBeGreaterThan(6.9);
  expect(daysLeft).toBeLessThanOrEqual(7);
});

test("with nobody present, the agent gets the credential by the delegation (its actor token + the delegation id)", async () => {
  const { accessToken } = await fixture<{ accessToken: string }>("notesToken", { subject: "alice" });
  const { status, json } = await tokenExchange(await byDelegation());
  expect(status).toBe(200);
  expect(json).toMatchObject({ access_token: accessToken, token_type: "Bearer", issued_token_type: "urn:ietf:params:oauth:token-type:access_token" });
  const allowed = (await fixture<{ action: string; decision: string; agentId: string | null; context: Record<string, unknown> }[]>("decisions")).filter(
    (e) => e.action === "token_exchange" && e.decision === "allow",
  );
  expect(allowed.at(-1)).toMatchObject({ agentId: expect.stringMatching(/^agt_/), context: expect.objectContaining({ mode: "delegation", delegationId }) });
  // The connections page shows the delegation was used.
  await alice.page.reload();
  await expect(notesCard(alice.page).getByText(/Until .* · Last used (?!Never)/)).toBeVisible();
  // She is told of the first use on her Requests page (and by e-mail where it is set up: delegations.test.ts).
  await alice.page.goto(`${env.frontdesk.url}/requests`);
  const told = alice.page.getByRole("region", { name: "Agents that started acting for you" });
  await expect(told).toContainText(`Agent ${AGENT_NAME} first used your Notes account`);
  await told.getByRole("link", { name: "Review or revoke delegations on My connections" }).click();
  await expect(alice.page.getByRole("heading", { level: 1, name: "My connections" })).toBeVisible();
});

test("without its actor token, as another agent, for another user, for wider scopes or after expiry, the same call is refused", async () => {
  const { accessToken } = await fixture<{ accessToken: string }>("notesToken", { subject: "alice" });
  const { actor_token: _a, actor_token_type: _t, ...noActor } = await byDelegation();
  await expectRefused(noActor, "delegation:no_actor", accessToken);
  await expectRefused(await byDelegation(OTHER_AGENT_PATH), "delegation:no_delegation", accessToken);
  await expectRefused({ ...(await byDelegation()), scope: "notes:read notes:write" }, "delegation:scope_not_delegated", accessToken);
  // Another user: alice's delegation does not let the agent act for bob, who delegated nothing
  // (REST resolve names the user by issuer + subject instead of by a delegation).
  const forBob = await fetch(`${env.frontdesk.url}/api/v1/resolve`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(gateway.id)}:${encodeURIComponent(gateway.secret)}`).toString("base64")}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({
      on_behalf_of: { issuer: env.idp.issuer, subject: env.idp.users.bob.sub },
      actor_token: await spiffe.signSvid(AGENT_PATH),
      actor_token_type: JWT_TYPE,
      provider: UPSTREAM_PROVIDER_SLUG,
      scopes: ["notes:read"],
    }),
  });
  const forBobText = await forBob.text();
  expect({ status: forBob.status, code: (JSON.parse(forBobText) as { error?: { code?: string } }).error?.code }).toEqual({ status: 403, code: "delegation_denied" });
  expect(forBobText).not.toContain(accessToken);
  const lastResolve = (await fixture<{ action: string; decision: string; reason: string | null }[]>("decisions")).filter((e) => e.action === "resolve").at(-1);
  expect(lastResolve).toMatchObject({ decision: "deny", reason: "delegation:no_delegation" });
  const { expiresAt } = await fixture<{ expiresAt: string }>("setDelegationExpiry", { id: delegationId, expiresAt: new Date(Date.now() - 1000).toISOString() });
  await expectRefused(await byDelegation(), "delegation:expired", accessToken);
  await fixture("setDelegationExpiry", { id: delegationId, expiresAt });
  expect((await tokenExchange(await byDelegation())).status).toBe(200);
});

test("alice revokes the delegation on her connections page; the agent's next call is refused", async () => {
  const { page } = alice;
  const notes = notesCard(page);
  await notes.getByRole("button", { name: `Revoke the delegation to agent ${AGENT_NAME}` }).click();
  await expect(page.getByRole("status").filter({ hasText: "Delegation revoked" })).toBeVisible();
  await expect(notesCard(page).getByText("Revoked", { exact: true })).toBeVisible();

  const { accessToken } = await fixture<{ accessToken: string }>("notesToken", { subject: "alice" });
  await expectRefused(await byDelegation(), "delegation:revoked", accessToken);

  // With alice present (her subject token) the agent is still an approved requester.
  expect((await tokenExchange(await withAlice())).status).toBe(200);
});

test("alice creates a delegation on her connections page (agent, permissions, gateway, days); the agent resolves by it; she revokes it", async () => {
  const { page } = alice;
  await page.goto(`${env.frontdesk.url}/connections`);
  const notes = notesCard(page);
  const disclosure = notes.locator("details").filter({ hasText: "Let an agent use Notes while you are away" });
  const form = page.getByRole("form", { name: "Delegate Notes" });
  const openForm = async () => {
    if (!(await disclosure.evaluate((d) => (d as HTMLDetailsElement).open))) await disclosure.getByText("Let an agent use Notes while you are away…").click();
    await expect(form).toBeVisible();
  };
  await openForm();
  // Only the verified agent she approved is offered, and the gateway she approved it through.
  await expect(form.getByLabel("Agent").locator("option")).toHaveText([AGENT_NAME]);
  await expect(form.getByLabel("Through which gateway").locator("option")).toHaveText(["Any gateway your administrator allows", `Only ${GATEWAY_NAME}`]);
  await expect(form.getByLabel(/For how many days \(1 to 30\)/)).toHaveAttribute("max", "30");
  await form.getByLabel("Through which gateway").selectOption({ label: `Only ${GATEWAY_NAME}` });

  // No permission ticked: refused and announced (role=alert); nothing is created.
  const before = (await fixture<{ action: string }[]>("decisions")).filter((e) => e.action === "delegation.created").length;
  await form.getByRole("button", { name: "Delegate Notes" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "The delegation was not created" })).toContainText("Choose at least one permission");
  expect((await fixture<{ action: string }[]>("decisions")).filter((e) => e.action === "delegation.created").length).toBe(before);

  await openForm();
  await form.getByLabel("Agent").selectOption({ label: AGENT_NAME });
  await form.getByLabel("Through which gateway").selectOption({ label: `Only ${GATEWAY_NAME}` });
  await form.getByRole("checkbox", { name: "notes:read" }).check();
  await form.getByLabel(/For how many days/).fill("3");
  await form.getByRole("button", { name: "Delegate Notes" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Delegation created" })).toBeVisible();
  // Listed with its id (only an active delegation shows one), beside the revoked one.
  await expect(notes.getByText(`Agent ${AGENT_NAME} via ${GATEWAY_NAME} only`)).toHaveCount(2);
  delegationId = (await notes.locator("code", { hasText: /^dlg_/ }).innerText()).trim();
  const created = (await fixture<{ action: string; context: { delegationId?: string; expiresAt?: string; scopes?: string[]; elicitationId?: string } }[]>("decisions")).filter(
    (e) => e.action === "delegation.created",
  );
  expect(created).toHaveLength(before + 1);
  expect(created.at(-1)!.context).toMatchObject({ delegationId, scopes: ["notes:read"] });
  expect(created.at(-1)!.context.elicitationId).toBeUndefined();
  const daysLeft = (Date.parse(created.at(-1)!.context.expiresAt!) - Date.now()) / 86_400_000;
  expect(daysLeft).toBeGreaterThan(2.9);
  expect(daysLeft).toBeLessThanOrEqual(3);

  // With nobody present the agent gets her credential by it...
  const { accessToken } = await fixture<{ accessToken: string }>("notesToken", { subject: "alice" });
  const { status, json } = await tokenExchange(await byDelegation());
  expect(status).toBe(200);
  expect(json.access_token).toBe(accessToken);
  // ...until she revokes it.
  await notesCard(page).getByRole("button", { name: `Revoke the delegation to agent ${AGENT_NAME}` }).click();
  await expect(page.getByRole("status").filter({ hasText: "Delegation revoked" })).toBeVisible();
  await expectRefused(await byDelegation(), "delegation:revoked", accessToken);
});

test("withdrawing the agent as a requester takes away its live-user access too: it must ask again", async () => {
  const { page } = alice;
  await notesCard(page).getByRole("button", { name: `Withdraw access of agent ${AGENT_NAME} via ${GATEWAY_NAME}` }).click();
  await expect(page.getByRole("status").filter({ hasText: "Access withdrawn" })).toBeVisible();
  const asked = await tokenExchange(await withAlice());
  expect(asked.status).toBe(400);
  expect(asked.json.error).toBe("interaction_required");
});

test("the admin audit shows the delegation's refusal with its reason", async ({ browser }: { browser: Browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.frontdesk.url}/admin/audit?action=token_exchange&decision=deny`);
  await signIn(page, "admin");
  await expect(page.getByText("delegation:revoked").first()).toBeVisible();
  await context.close();
});
