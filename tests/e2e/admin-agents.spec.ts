// Agents in the dashboard, end to end in Chromium against real PostgreSQL, the IdP, the upstream
// and a built Frontdesk that trusts one workload issuer (inline JWKS; this test signs its actor
// tokens): the admin registers an agent, its verified call shows up on its page and in the audit
// log (filter by agent, the chain on the event), a delegation to it is revoked on the
// delegations page, the provider is switched to "agents must be allowed explicitly" and the
// effective decision follows an agent rule added in the policy form, and a disable from the
// agent's page refuses its next call.
import { randomBytes } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { adminFixture, resolve, setupAdminFixtures, signedIn } from "../helpers/admin-fixtures";
import { startE2eEnvironment, type E2eEnvironment } from "../helpers/e2e-environment";

test.describe.configure({ mode: "serial" });

const WORKLOADS = "https://agents.e2e.test";
let env: E2eEnvironment;
let key: CryptoKey;
let ids: { notesId: string; gatewayId: string; gatewaySecret: string; users: { alice: string; bob: string } };
let admin: { context: BrowserContext; page: Page };

test.beforeAll(async ({ browser }) => {
  const pair = await generateKeyPair("ES256");
  key = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "e2e", alg: "ES256" };
  env = await startE2eEnvironment({ env: { ACTOR_TOKEN_ISSUERS: JSON.stringify([{ issuer: WORKLOADS, jwks: { keys: [jwk] } }]) } });
  ids = await setupAdminFixtures(env);
  const t = await env.upstream.mintTokens({ accountId: "alice", scope: "openid notes:read" });
  await adminFixture(env.env, "grant", {
    userId: ids.users.alice,
    provider: "notes",
    scopes: ["notes:read"],
    credential: { kind: "oauth", accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: new Date(Date.now() + 3600_000) },
    approveGatewayIds: [ids.gatewayId],
  });
  admin = await signedIn(browser, env, "admin", "/admin");
});

test.afterAll(async () => {
  await admin?.context.close();
  await env?.stop();
});

/** A workload's actor token for `subject`, for Frontdesk's audience. */
function actorToken(subject: string): Promise<string> {
  return new SignJWT({ jti: randomBytes(8).toString("hex") })
    .setProtectedHeader({ alg: "ES256", kid: "e2e" })
    .setIssuer(WORKLOADS)
    .setSubject(subject)
    .setAudience(env.frontdesk.url)
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(key);
}

async function resolveAsAgent(subject: string) {
  const subjectToken = await env.idp.signSubjectToken({ sub: env.idp.users.alice.sub, aud: env.idp.clientId });
  return resolve(env, { id: ids.gatewayId, secret: ids.gatewaySecret }, {
    subject_token: subjectToken,
    provider: "notes",
    scopes: ["notes:read"],
    actor_token: await actorToken(subject),
    actor_token_type: "urn:ietf:params:oauth:token-type:jwt",
  });
}

const status = (page: Page, text: string | RegExp) => page.getByRole("status").filter({ hasText: text });

test("an admin registers an agent, sees its call with the chain, revokes a delegation, requires explicit agent rules, and disables it", async () => {
  const { page } = admin;
  const base = env.frontdesk.url;

  // Register from the agents page; the new agent is listed and has its own page.
  await page.goto(`${base}/admin`);
  await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Agents" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Agents" })).toBeVisible();
  const form = page.getByRole("form", { name: "Register an agent" });
  await form.getByLabel("Issuer").fill(WORKLOADS);
  await form.getByLabel("Subject").fill("spiffe:not a spiffe id");
  await form.getByLabel("Display name").fill("Report bot");
  await form.getByLabel("Owner").fill("finance");
  await form.getByRole("button", { name: "Register agent" }).click();
  // A refused registration keeps what was typed: correct the one field and register.
  await expect(page.getByRole("alert").filter({ hasText: "subject is not a valid SPIFFE ID" })).toBeVisible();
  await expect(form.getByLabel("Issuer")).toHaveValue(WORKLOADS);
  await expect(form.getByLabel("Subject")).toHaveValue("spiffe:not a spiffe id");
  await expect(form.getByLabel("Display name")).toHaveValue("Report bot");
  await expect(form.getByLabel("Owner")).toHaveValue("finance");
  await expect(form.getByRole("button", { name: "Register agent" })).toBeFocused();
  await form.getByLabel("Subject").fill("report-bot");
  await form.getByRole("button", { name: "Register agent" }).click();
  await expect(status(page, "Agent Report bot registered")).toBeVisible();
  // An accepted one starts the form over.
  await expect(form.getByLabel("Display name")).toHaveValue("");
  await page.getByRole("link", { name: "Report bot" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Report bot");
  const agentId = new URL(page.url()).pathname.split("/").pop()!;
  await expect(page.getByRole("region", { name: "Decisions for this agent" })).toContainText("No calls by this agent yet.");

  // alice approves this agent via the gateway; its verified call gets her credential.
  await adminFixture(env.env, "approve", { userId: ids.users.alice, provider: "notes", gatewayId: ids.gatewayId, agentId });
  const allowed = await resolveAsAgent("report-bot");
  expect(allowed.status, JSON.stringify(allowed.json)).toBe(200);

  // Its page shows what it used; the audit log filters by agent; the event names the chain once.
  await page.reload();
  const usage = page.getByRole("region", { name: "Decisions for this agent" });
  await expect(usage.getByRole("row").nth(1)).toContainText("notes"); // providers by slug, as in the audit log
  await expect(usage.getByRole("row").nth(1)).toContainText(env.idp.users.alice.email);
  await page.getByRole("link", { name: "All audit events of this agent" }).click();
  await expect(page.getByLabel("Agent (name, subject or id)")).toHaveValue(agentId);
  await page.getByLabel("Agent (name, subject or id)").fill("Report bot");
  await page.getByRole("button", { name: "Apply filters" }).click();
  const events = page.getByRole("region", { name: "Audit events" });
  await expect(events.getByRole("row").filter({ hasText: "resolve" }).first()).toContainText("Report bot");
  await expect(events).not.toContainText("Nightly digest");
  await events.getByRole("row").filter({ hasText: "resolve" }).first().getByRole("link").click();
  const chain = page.getByRole("list", { name: /Delegation chain/ });
  await expect(chain.getByRole("listitem")).toHaveCount(3);
  await expect(chain.getByRole("listitem").nth(0)).toContainText(env.idp.users.alice.email);
  await expect(chain.getByRole("listitem").nth(1)).toContainText("Report bot");
  await expect(chain.getByRole("listitem").nth(1)).toContainText(`report-bot from ${WORKLOADS}`);
  await expect(chain.getByRole("listitem").nth(2)).toContainText("agentgateway");

  // A delegation alice made to it, revoked from the delegations page.
  await adminFixture(env.env, "delegate", { userId: ids.users.alice, provider: "notes", agentId, scopes: ["notes:read"], days: 7 });
  await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Delegations" }).click();
  const row = page.getByRole("region", { name: "Delegations" }).getByRole("row").filter({ hasText: "Report bot" });
  await expect(row).toContainText("active");
  await row.getByText("Revoke…").click();
  await row.getByRole("button", { name: "Revoke delegation" }).click();
  await expect(status(page, "Delegation revoked")).toBeVisible();
  await expect(row).toContainText("revoked");
  const revoked = await adminFixture<{ events: { actorType: string; context: { agentId: string } }[] }>(env.env, "audit", { action: "delegation.revoked" });
  expect(revoked.events.map((e) => [e.actorType, e.context.agentId])).toEqual([["admin", agentId]]);

  // Agents must be allowed explicitly for Notes: the effective decision says why it is denied,
  // then an agent rule added in the form allows it, and the gateway API agrees both times.
  await page.goto(`${base}/admin/policy`);
  await page.getByRole("form", { name: "Default for agents: Notes" }).getByRole("button", { name: "Require agents to be allowed explicitly" }).click();
  await expect(status(page, "Notes: agents must now be allowed explicitly")).toBeVisible();
  const decide = page.getByRole("form", { name: "Effective decision" });
  const askDecision = async () => {
    await decide.getByLabel("User").selectOption({ label: env.idp.users.alice.email });
    await decide.getByLabel("Gateway").selectOption({ label: "agentgateway" });
    await decide.getByLabel("Agent").selectOption({ label: "Report bot" });
    await decide.getByLabel("Provider").selectOption({ label: "Notes" });
    await decide.getByLabel("Requested scopes").fill("notes:read");
    await decide.getByRole("button", { name: "Show the effective decision" }).click();
  };
  await askDecision();
  await expect(status(page, "Effective decision (nothing saved)").last()).toContainText("Denied: the provider requires agents to be allowed explicitly");
  const denied = await resolveAsAgent("report-bot");
  expect(denied.status).toBe(403);
  // The form keeps its answer's question: the decision form still shows what was asked.
  await expect(decide.getByLabel("Agent")).toHaveValue(agentId);
  await expect(decide.getByLabel("Requested scopes")).toHaveValue("notes:read");
  const rule = page.getByRole("form", { name: "New rule" });
  await rule.getByLabel("Provider").selectOption({ label: "Notes" });
  await rule.getByLabel("Kind of rule").selectOption("agent");
  await rule.getByLabel("Allowed scopes").fill("notes:read");
  await rule.getByLabel("Why this rule exists").fill("Report bot reads Notes");
  await rule.getByLabel("Agent subject prefix").fill("report-bot");
  await rule.getByRole("checkbox", { name: /Report bot/ }).check();
  await rule.getByRole("button", { name: "Preview who is affected" }).click();
  await expect(status(page, "Preview (nothing saved)").last()).toContainText("1 newly selected (Report bot)");
  // After the preview the form still holds what was typed (React resets a form after its action;
  // the fields are rendered again from the submission), so Save saves exactly that.
  await expect(rule.getByLabel("Kind of rule")).toHaveValue("agent");
  await expect(rule.getByLabel("Provider")).toHaveValue(ids.notesId);
  await expect(rule.getByLabel("Allowed scopes")).toHaveValue("notes:read");
  await expect(rule.getByLabel("Why this rule exists")).toHaveValue("Report bot reads Notes");
  await expect(rule.getByLabel("Agent subject prefix")).toHaveValue("report-bot");
  await expect(rule.getByRole("checkbox", { name: /Report bot/ })).toBeChecked();
  await rule.getByRole("button", { name: "Add rule" }).click();
  await expect(status(page, /^Saved\./).last()).toBeVisible();
  // A rule that was added leaves an empty new-rule form behind.
  await expect(rule.getByLabel("Why this rule exists")).toHaveValue("");
  await expect(rule.getByRole("checkbox", { name: /Report bot/ })).not.toBeChecked();
  await page.reload();
  const saved = page.getByRole("region", { name: "Policy rules" }).getByRole("row").filter({ hasText: "Report bot reads Notes" });
  await expect(saved).toContainText("agents Report bot + subject report-bot…, for everyone");
  await expect(saved).toContainText("notes:read");
  await askDecision();
  await expect(status(page, "Effective decision (nothing saved)").last()).toContainText("Allowed. Effective = user ∩ gateway ∩ agent");
  expect((await resolveAsAgent("report-bot")).status).toBe(200);

  // Disabled from its page: the next call is refused, and the change is audited.
  await page.goto(`${base}/admin/agents/${agentId}`);
  await page.getByText("Disable this agent…").click();
  await page.getByRole("button", { name: "Disable agent" }).click();
  await expect(status(page, "Report bot disabled")).toBeVisible();
  const refused = await resolveAsAgent("report-bot");
  expect(refused.status).toBe(403);
  expect(refused.json).toMatchObject({ error: { code: "forbidden" } });
  expect(await adminFixture(env.env, "agent", { id: agentId })).toMatchObject({ status: "disabled" });
});
