// The admin dashboard end to end, in Chromium, against real PostgreSQL, the IdP and an upstream
// provider (oidc-provider), and a built Frontdesk: revoke one connection (upstream RFC 7009,
// next resolve elicits, audited with who), bulk revoke by provider, gateway secret shown once,
// rotation, disable -> invalid_client, an audit export free of secrets, and one shared test
// refusing a non-admin on every admin page, server action and route.
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { adminFixture, resolve, setupAdminFixtures, signedIn } from "../helpers/admin-fixtures";
import { startE2eEnvironment, type E2eEnvironment } from "../helpers/e2e-environment";
import { distDir } from "../helpers/frontdesk-server";

test.describe.configure({ mode: "serial" });

interface Setup {
  notesId: string;
  keysId: string;
  gatewayId: string;
  gatewaySecret: string;
  users: { alice: string; bob: string };
  ruleIds: string[];
  agentId: string;
}

let env: E2eEnvironment;
let ids: Setup;
let admin: { context: BrowserContext; page: Page };
/** Every credential and secret this run handled: none may appear in an export. */
const secrets: string[] = [];
let secondGateway: { id: string; secret: string };

async function subjectToken(user: "alice" | "bob"): Promise<string> {
  const token = await env.idp.signSubjectToken({ sub: env.idp.users[user].sub, aud: env.idp.clientId });
  secrets.push(token);
  return token;
}

async function grants() {
  return adminFixture<{ id: string; userId: string; status: string; provider: string }[]>(env.env, "grants");
}

test.beforeAll(async ({ browser }) => {
  env = await startE2eEnvironment();
  ids = await setupAdminFixtures<Setup>(env);
  secrets.push(ids.gatewaySecret, env.upstream.clientSecret);
  for (const name of ["alice", "bob"] as const) {
    const t = await env.upstream.mintTokens({ accountId: name, scope: "openid notes:read" });
    const apiKey = `key-${name}-${Math.random().toString(36).slice(2)}-0123456789`;
    secrets.push(t.accessToken, t.refreshToken, apiKey);
    await adminFixture(env.env, "grant", {
      userId: ids.users[name],
      provider: "notes",
      scopes: ["notes:read"],
      credential: { kind: "oauth", accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: new Date(Date.now() + 3600_000) },
      approveGatewayIds: [ids.gatewayId],
    });
    await adminFixture(env.env, "grant", {
      userId: ids.users[name],
      provider: "keysvc",
      scopes: ["keys:use"],
      credential: { kind: "api_key", apiKey },
      approveGatewayIds: [ids.gatewayId],
    });
  }
  admin = await signedIn(browser, env, "admin", "/admin");
});

test.afterAll(async () => {
  await admin?.context.close();
  await env?.stop();
});

const gatewayCreds = () => ({ id: ids.gatewayId, secret: ids.gatewaySecret });

test("the admin revokes alice's connection: upstream revocation, the next resolve elicits, and the audit log names the admin", async () => {
  const { page } = admin;
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();

  const ok = await resolve(env, gatewayCreds(), { subject_token: await subjectToken("alice"), provider: "notes", scopes: ["notes:read"] });
  expect(ok.status).toBe(200);
  expect(String((ok.json.header as { value: string }).value)).toMatch(/^Bearer /);

  const revocationsBefore = env.upstream.stats.revocations;
  await page.goto(`${env.frontdesk.url}/admin/connections?q=${encodeURIComponent(env.idp.users.alice.email)}&provider=${ids.notesId}`);
  const rows = page.locator("tbody tr");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(env.idp.users.alice.email);
  await expect(rows.first()).toContainText("active");
  await rows.first().getByText("Revoke…").click();
  await expect(rows.first().getByText("asks Notes to revoke it")).toBeVisible();
  await rows.first().getByRole("button", { name: "Revoke connection" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Connection revoked" })).toBeVisible();
  expect(env.upstream.stats.revocations).toBeGreaterThan(revocationsBefore);
  await page.reload();
  await expect(page.locator("tbody tr").first()).toContainText("revoked");

  const next = await resolve(env, gatewayCreds(), { subject_token: await subjectToken("alice"), provider: "notes", scopes: ["notes:read"] });
  expect(next.status).toBe(403);
  const error = next.json.error as { code: number; data: { elicitations: { url: string; mode: string }[] } };
  expect(error.code).toBe(-32042);
  expect(error.data.elicitations[0]?.mode).toBe("url");
  expect(error.data.elicitations[0]?.url).toContain(`${env.frontdesk.url}/connect/eli_`);

  await page.goto(`${env.frontdesk.url}/admin/audit?action=grant.revoked`);
  const event = page.locator("tbody tr").first();
  await expect(event).toContainText("grant.revoked");
  await expect(event).toContainText("admin admin@example.test");
  await expect(event).toContainText(env.idp.users.alice.email);
  await expect(event).toContainText("notes");
});

test("bulk revoke by provider revokes exactly that provider's connections", async () => {
  const { page } = admin;
  const before = await grants();
  expect(before.filter((g) => g.provider === "keysvc" && g.status === "active")).toHaveLength(2);
  await page.goto(`${env.frontdesk.url}/admin/connections?provider=${ids.keysId}`);
  await page.getByText("Revoke all 2 live connections of provider Key Service (keysvc)…").click();
  await page.getByRole("button", { name: "Revoke 2 connections" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Revoked 2 connections" })).toBeVisible();

  const after = await grants();
  for (const g of after) {
    const was = before.find((b) => b.id === g.id)!;
    // keysvc: all revoked; notes: exactly as before (alice's revoked by the previous test, bob's active).
    expect(g.status).toBe(g.provider === "keysvc" ? "revoked" : was.status);
  }
  expect(after.find((g) => g.provider === "notes" && g.userId === ids.users.bob)?.status).toBe("active");
  const audit = await adminFixture<{ events: { action: string; actorType: string; providerId: string; context: { matched: number } }[] }>(env.env, "audit", {
    action: "admin.grants_bulk_revoked",
  });
  expect(audit.events).toHaveLength(1);
  expect(audit.events[0]).toMatchObject({ actorType: "admin", providerId: ids.keysId, context: { matched: 2 } });
});

test("a new gateway's secret is shown once and cannot be retrieved again; rotation replaces it; disabling a gateway fails its next call with invalid_client", async () => {
  const { page } = admin;
  await page.goto(`${env.frontdesk.url}/admin/gateways`);
  const form = page.getByRole("form", { name: "Register a gateway" });
  const name = form.getByRole("textbox", { name: "Name", exact: true });
  // A refused registration keeps what was typed (private_key_jwt with neither JWKS nor URI).
  await name.fill("second-gateway");
  await form.getByLabel("Authentication").selectOption("private_key_jwt");
  await form.getByLabel("Webhook URL (optional)").fill("https://gateway.example.test/hooks");
  await form.getByLabel("Trusted subject (dangerous)").check();
  await form.getByRole("button", { name: "Register gateway" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "private_key_jwt needs exactly one of jwks or jwksUri" })).toBeVisible();
  await expect(name).toHaveValue("second-gateway");
  // The fields were mounted afresh; focus is back on the form's button, not lost to the page.
  await expect(form.getByRole("button", { name: "Register gateway" })).toBeFocused();
  await expect(form.getByLabel("Authentication")).toHaveValue("private_key_jwt");
  await expect(form.getByLabel("Webhook URL (optional)")).toHaveValue("https://gateway.example.test/hooks");
  await expect(form.getByLabel("Trusted subject (dangerous)")).toBeChecked();
  // Corrected: a client-secret gateway, no webhook, not trusted.
  await form.getByLabel("Authentication").selectOption("client_secret_basic");
  await form.getByLabel("Webhook URL (optional)").fill("");
  await form.getByLabel("Trusted subject (dangerous)").uncheck();
  await form.getByRole("button", { name: "Register gateway" }).click();
  const once = page.getByTestId("secret-once");
  await expect(once).toBeVisible();
  const secret = (await once.getByLabel("Client secret").textContent())!.trim();
  expect(secret).toMatch(/^fdgs_/);
  const id = (await page.getByRole("status").filter({ hasText: "Client id:" }).textContent())!.match(/gw_[A-Za-z0-9_-]+/)![0];
  secondGateway = { id, secret };
  secrets.push(secret);

  // It is the real secret: the gateway authenticates (and is then denied by policy, having no rules).
  const denied = await resolve(env, secondGateway, { subject_token: await subjectToken("bob"), provider: "notes", scopes: ["notes:read"] });
  expect(denied.status).toBe(403);
  expect((denied.json.error as { code: string }).code).toBe("policy_denied");

  // Never again: not on the list, not on its page, not in the database.
  await page.reload();
  await expect(page.getByRole("link", { name: "second-gateway" })).toBeVisible();
  expect(await page.content()).not.toContain(secret);
  await page.goto(`${env.frontdesk.url}/admin/gateways/${id}`);
  await expect(page.getByRole("heading", { name: /second-gateway/ })).toBeVisible();
  expect(await page.content()).not.toContain(secret);
  expect((await adminFixture<{ text: string }>(env.env, "dump")).text).not.toContain(secret);

  // Rotation: a new secret, shown once; the old one stops working at once.
  await page.getByText("Rotate the client secret…").click();
  await page.getByRole("button", { name: "Rotate secret" }).click();
  const rotated = (await page.getByTestId("secret-once").getByLabel("Client secret").textContent())!.trim();
  expect(rotated).not.toBe(secret);
  secrets.push(rotated);
  const old = await resolve(env, secondGateway, { subject_token: await subjectToken("bob"), provider: "notes" });
  expect(old.status).toBe(401);
  expect((old.json.error as { code: string }).code).toBe("invalid_client");
  const fresh = await resolve(env, { id, secret: rotated }, { subject_token: await subjectToken("bob"), provider: "notes" });
  expect(fresh.status).toBe(403);

  // Disable the working gateway: bob's resolve succeeds before, fails with invalid_client after.
  const before = await resolve(env, gatewayCreds(), { subject_token: await subjectToken("bob"), provider: "notes", scopes: ["notes:read"] });
  expect(before.status).toBe(200);
  await page.goto(`${env.frontdesk.url}/admin/gateways/${ids.gatewayId}`);
  await page.getByText("Disable this gateway…").click();
  await expect(page.getByText("Its next call fails with invalid_client")).toBeVisible();
  await page.getByRole("button", { name: "Disable gateway" }).click();
  await expect(page.getByRole("status").filter({ hasText: "disabled" })).toBeVisible();
  const after = await resolve(env, gatewayCreds(), { subject_token: await subjectToken("bob"), provider: "notes", scopes: ["notes:read"] });
  expect(after.status).toBe(401);
  expect((after.json.error as { code: string }).code).toBe("invalid_client");
  expect((await adminFixture<{ status: string }>(env.env, "gateway", { id: ids.gatewayId })).status).toBe("disabled");
});

test("the audit export (CSV and JSON Lines) of a run with successful resolves contains no token or secret", async () => {
  const { page } = admin;
  const all = await adminFixture<{ events: { action: string; decision: string }[]; chainOk: boolean }>(env.env, "audit");
  expect(all.chainOk).toBe(true);
  expect(all.events.filter((e) => e.action === "resolve" && e.decision === "allow").length).toBeGreaterThanOrEqual(2);

  const csv = await page.request.get(`${env.frontdesk.url}/api/admin/audit/export?format=csv`);
  expect(csv.status()).toBe(200);
  expect(csv.headers()["content-type"]).toContain("text/csv");
  expect(csv.headers()["content-disposition"]).toMatch(/attachment; filename="frontdesk-audit-.*\.csv"/);
  const csvText = await csv.text();
  const jsonl = await page.request.get(`${env.frontdesk.url}/api/admin/audit/export?format=jsonl`);
  expect(jsonl.status()).toBe(200);
  const jsonlText = await jsonl.text();
  const lines = jsonlText.trim().split("\n").map((l) => JSON.parse(l) as { action: string; decision: string; seq: string });
  // Everything up to the export (the CSV export itself was audited in between).
  expect(lines.length).toBeGreaterThanOrEqual(all.events.length);
  expect(lines.some((l) => l.action === "resolve" && l.decision === "allow")).toBe(true);
  expect(csvText.split("\r\n")[0]).toBe("seq,id,at,actorType,actorId,userId,gatewayId,agentId,providerId,action,decision,reason,requestId,context,prevHash,hash");
  expect(secrets.length).toBeGreaterThanOrEqual(10);
  for (const s of secrets) {
    expect(csvText).not.toContain(s);
    expect(jsonlText).not.toContain(s);
  }

  // A filtered export holds only the filtered set.
  const revoked = await page.request.get(`${env.frontdesk.url}/api/admin/audit/export?format=jsonl&action=grant.revoked`);
  const revokedLines = (await revoked.text()).trim().split("\n").map((l) => JSON.parse(l) as { action: string });
  expect(revokedLines).toHaveLength(3);
  expect(revokedLines.every((l) => l.action === "grant.revoked")).toBe(true);
  const exports = await adminFixture<{ events: unknown[] }>(env.env, "audit", { action: "admin.audit_exported" });
  expect(exports.events).toHaveLength(3);
});

test("every admin page renders for the admin; provider discovery test, provider edit and policy preview work from the UI", async () => {
  const { page } = admin;
  for (const p of ADMIN_PAGES(ids)) {
    const res = await page.goto(`${env.frontdesk.url}${p}`);
    expect(res?.status(), p).toBe(200);
    await expect(page.getByRole("heading", { level: 1 }), p).toBeVisible();
  }

  await page.goto(`${env.frontdesk.url}/admin/providers/${ids.notesId}`);
  await page.getByRole("button", { name: /Test discovery of/ }).click();
  await expect(page.getByRole("status").filter({ hasText: "Discovery OK" })).toContainText(`revocation ${env.upstream.issuer}`);
  const settings = page.getByRole("form", { name: "Provider settings" });
  // The stored client secret is never sent to the browser, not even as a field value.
  expect(await page.content()).not.toContain(env.upstream.clientSecret);
  await expect(settings.getByLabel("Client secret")).toHaveValue("");
  await settings.getByLabel("Default scopes").fill("notes:read notes:write");
  await settings.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved: defaultScopes changed." })).toBeVisible();

  // Egress settings: the request rules are JSON checked against the rules' schema, named in the
  // error; allowing private addresses is warned about in the answer and on the page.
  const rulesField = settings.getByLabel("Request rules (JSON)");
  await rulesField.fill("{ not json");
  await settings.getByLabel("Allow private and loopback addresses").check();
  await settings.getByLabel("Client secret").fill("typed-before-a-refused-save");
  await settings.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "requestRules: not valid JSON" })).toBeVisible();
  // The refused save keeps what was typed, to correct; a secret is never put back (typed again).
  await expect(rulesField).toHaveValue("{ not json");
  await expect(settings.getByLabel("Allow private and loopback addresses")).toBeChecked();
  await expect(settings.getByLabel("Default scopes")).toHaveValue("notes:read notes:write");
  await expect(settings.getByLabel("Client secret")).toHaveValue("");
  await rulesField.fill('{"notes:read": [{"methods": ["GET"], "paths": ["/notes", "/notes/*"]}]}');
  await settings.getByLabel("Allow private and loopback addresses").check();
  await settings.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved: allowPrivateNetwork, requestRules changed. Warning:" })).toBeVisible();
  await page.reload();
  await expect(page.getByRole("note").filter({ hasText: "Private network allowed." })).toBeVisible();
  expect(JSON.parse(await settings.getByLabel("Request rules (JSON)").inputValue())).toEqual({ "notes:read": [{ methods: ["GET"], paths: ["/notes", "/notes/*"] }] });
  await settings.getByLabel("Allow private and loopback addresses").uncheck();
  await settings.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved: allowPrivateNetwork changed." })).toBeVisible();
  await page.reload();
  await expect(page.getByRole("note").filter({ hasText: "Private network allowed." })).toHaveCount(0);

  await page.goto(`${env.frontdesk.url}/admin/policy`);
  const rule = page.getByRole("form", { name: "New rule" });
  await rule.getByLabel("Provider").selectOption({ label: "Notes" });
  await rule.getByLabel("Only these groups").fill("nobody-is-in-this-group");
  await rule.getByRole("button", { name: "Preview who is affected" }).click();
  // Today's rule for Notes lets everyone (alice, bob, admin) connect; this one adds nobody.
  await expect(page.getByRole("status").filter({ hasText: "Preview (nothing saved)" })).toContainText("users allowed to connect the provider: 3 → 3 of 3; 0 gain access; 0 lose access");
  await page.goto(`${env.frontdesk.url}/admin/policy/${ids.ruleIds[1]}`);
  await page.getByText("Delete this rule…").click();
  await expect(page.getByText(/cannot be undone.*3 lose access/)).toBeVisible();
});

// ---- Access control: ONE test over every admin page, action and route. Add new ones here. ----

/** Every admin page (ids filled in at run time). */
const ADMIN_PAGES = (s: Setup) => [
  "/admin",
  "/admin?bucket=day",
  "/admin/connections",
  "/admin/sessions",
  "/admin/providers",
  `/admin/providers/${s.notesId}`,
  "/admin/gateways",
  `/admin/gateways/${s.gatewayId}`,
  "/admin/policy",
  `/admin/policy/${s.ruleIds[0]}`,
  "/admin/audit",
  "/admin/audit/1",
  "/admin/deliveries",
  "/admin/agents",
  `/admin/agents/${s.agentId}`,
  "/admin/delegations",
];

/** Every server action exported by a module under app/(admin), with fields that would make it act. */
const ADMIN_ACTIONS = (s: Setup, bobNotesGrant: string, gw: string): Record<string, Record<string, string>> => ({
  "app/(admin)/admin/connections/actions.ts#revokeGrantAction": { grantId: bobNotesGrant },
  "app/(admin)/admin/connections/actions.ts#bulkRevokeAction": { by: "provider", target: s.notesId },
  "app/(admin)/admin/sessions/actions.ts#endSessionAction": { sessionId: "any" },
  "app/(admin)/admin/sessions/actions.ts#endUserSessionsAction": { userId: s.users.bob },
  "app/(admin)/admin/providers/actions.ts#createPresetProviderAction": { preset: "github", slug: "evil-github", clientId: "x", clientSecret: "y" },
  "app/(admin)/admin/providers/actions.ts#createGenericProviderAction": { slug: "evil", displayName: "Evil", kind: "api_key", apiKeyHeader: "X", tokenEndpointAuth: "none" },
  "app/(admin)/admin/providers/actions.ts#updateProviderAction": { providerId: s.notesId, displayName: "Hijacked", tokenEndpointAuth: "client_secret_basic" },
  "app/(admin)/admin/providers/actions.ts#setProviderStatusAction": { providerId: s.notesId, status: "disabled" },
  "app/(admin)/admin/providers/actions.ts#testDiscoveryAction": { providerId: s.notesId },
  "app/(admin)/admin/gateways/actions.ts#createGatewayAction": { name: "evil-gateway", authMethod: "client_secret_basic" },
  "app/(admin)/admin/gateways/actions.ts#rotateGatewaySecretAction": { gatewayId: gw },
  "app/(admin)/admin/gateways/actions.ts#setGatewayStatusAction": { gatewayId: gw, status: "disabled" },
  "app/(admin)/admin/gateways/actions.ts#updateGatewaySettingsAction": { gatewayId: gw, trustedSubject: "on" },
  "app/(admin)/admin/gateways/actions.ts#allowGatewayProviderAction": { gatewayId: gw, providerId: s.notesId, scopes: "*" },
  "app/(admin)/admin/gateways/actions.ts#removeGatewayRuleAction": { ruleId: s.ruleIds[0]! },
  "app/(admin)/admin/policy/actions.ts#savePolicyRuleAction": { providerId: s.notesId, kind: "gateway", gatewayId: gw, scopes: "*", intent: "save" },
  "app/(admin)/admin/policy/actions.ts#setPolicyRuleEnabledAction": { ruleId: s.ruleIds[1]!, enabled: "false" },
  "app/(admin)/admin/policy/actions.ts#deletePolicyRuleAction": { ruleId: s.ruleIds[1]! },
  "app/(admin)/admin/policy/actions.ts#setAgentsExplicitAction": { providerId: s.notesId, agentsExplicit: "true" },
  "app/(admin)/admin/policy/actions.ts#previewEffectiveDecisionAction": { userId: s.users.bob, gatewayId: gw, providerId: s.notesId, scopes: "notes:read" },
  "app/(admin)/admin/agents/actions.ts#registerAgentAction": { issuer: "https://evil.example", subject: "evil" },
  "app/(admin)/admin/agents/actions.ts#updateAgentAction": { agentId: s.agentId, displayName: "Hijacked", owner: "", description: "" },
  "app/(admin)/admin/agents/actions.ts#setAgentStatusAction": { agentId: s.agentId, status: "disabled" },
  "app/(admin)/admin/delegations/actions.ts#revokeDelegationAction": { delegationId: "dlg_any" },
  "app/(admin)/admin/deliveries/actions.ts#retryDeliveryAction": { eventId: "evt_any" },
});

/** Every admin route handler, with each method it answers. */
const ADMIN_ROUTES = [
  { method: "GET", path: "/api/admin/audit/export?format=jsonl", route: "/api/admin/audit/export" },
  { method: "POST", path: "/api/admin/audit/export?format=jsonl", route: "/api/admin/audit/export" },
];

/**
 * The body React sends for `action(prevState, formData)` (useActionState): the arguments as a
 * Flight reply, "0" = [null, <form data reference 1>], and the form fields as "_1_<name>" (the
 * prefix React's decodeReply reads for reference 1).
 */
function actionCall(fields: Record<string, string>): FormData {
  // The referenced entries precede the root, as React's encodeReply writes them (a plain object
  // would not do: JavaScript enumerates the integer-like key "0" first).
  const body = new FormData();
  for (const [k, v] of Object.entries(fields)) body.append(`_1_${k}`, v);
  body.append("0", JSON.stringify([null, "$K1"]));
  return body;
}

/** Admin actions in the build: name -> action id and a page whose bundle holds it (where it is POSTed). */
function builtAdminActions(): Map<string, { id: string; page: string }> {
  const manifest = JSON.parse(readFileSync(path.join(distDir(), "server", "server-reference-manifest.json"), "utf8")) as {
    node: Record<string, { filename?: string; exportedName?: string; workers?: Record<string, unknown> }>;
  };
  const found = new Map<string, { id: string; page: string }>();
  for (const [id, entry] of Object.entries(manifest.node)) {
    if (!entry.filename?.startsWith("app/(admin)/")) continue;
    const worker = Object.keys(entry.workers ?? {}).find((w) => !w.includes("["))!;
    found.set(`${entry.filename}#${entry.exportedName}`, { id, page: worker.replace(/^app\/\(admin\)/, "").replace(/\/page$/, "") });
  }
  return found;
}

function builtAdminRoutes(): string[] {
  const manifest = JSON.parse(readFileSync(path.join(distDir(), "server", "app-paths-manifest.json"), "utf8")) as Record<string, string>;
  return Object.keys(manifest)
    .filter((k) => k.startsWith("/api/admin/") || k.startsWith("/(admin)/"))
    .map((k) => k.replace(/^\/\(admin\)/, "").replace(/\/(page|route)$/, "") || "/");
}

test("a non-admin is refused (404, audited, nothing changes) on every admin page, server action and route", async ({ browser }) => {
  const bobNotes = (await grants()).find((g) => g.provider === "notes" && g.userId === ids.users.bob)!;
  const gw = secondGateway?.id ?? ids.gatewayId;
  const actions = ADMIN_ACTIONS(ids, bobNotes.id, gw);
  const pages = ADMIN_PAGES(ids);

  // The lists cover what the build contains: a new admin action or route must be added above.
  const built = builtAdminActions();
  expect([...built.keys()].sort()).toEqual(Object.keys(actions).sort());
  const routes = builtAdminRoutes();
  for (const r of routes.filter((r) => r.startsWith("/api/admin/"))) expect(ADMIN_ROUTES.map((a) => a.route)).toContain(r);
  for (const p of routes.filter((r) => r.startsWith("/admin"))) {
    const pattern = new RegExp(`^${p.replace(/\[[^\]]+\]/g, "[^/?]+")}(\\?|$)`);
    expect(pages.some((x) => pattern.test(x)), `page ${p} is in ADMIN_PAGES`).toBe(true);
  }

  const deniedBefore = (await adminFixture<{ events: unknown[] }>(env.env, "audit", { action: "admin.access_denied" })).events.length;
  const stateBefore = { grants: await grants(), gateway: await adminFixture(env.env, "gateway", { id: gw }), agent: await adminFixture(env.env, "agent", { id: ids.agentId }) };
  const alice = await signedIn(browser, env, "alice", "/connections");
  const base = env.frontdesk.url;

  for (const p of pages) {
    const res = await alice.page.goto(`${base}${p}`);
    expect(res?.status(), p).toBe(404);
    expect(await alice.page.content(), p).not.toContain("Frontdesk admin");
  }
  // The same pages as RSC payloads (what client-side navigation fetches): Next answers a flight
  // payload carrying the not-found fallback, and nothing of the dashboard.
  for (const p of pages) {
    const res = await alice.page.request.get(`${base}${p}`, { headers: { RSC: "1" } });
    const body = await res.text();
    expect([200, 404], `RSC ${p}`).toContain(res.status());
    expect(body, `RSC ${p}`).toContain("404");
    for (const leak of ["Frontdesk admin", "agentgateway", "Active connections", "Key Service", env.idp.users.bob.email]) expect(body, `RSC ${p}`).not.toContain(leak);
  }

  for (const [name, fields] of Object.entries(actions)) {
    const { id, page } = built.get(name)!;
    const res = await alice.page.request.post(`${base}${page}`, {
      headers: { "Next-Action": id, Origin: base, Accept: "text/x-component" },
      multipart: actionCall({ ...fields, formToken: "forged" }),
    });
    const text = await res.text();
    expect(res.status(), name).toBe(404);
    expect(text, name).not.toContain("ok\":true");
  }
  // Anonymous callers are refused the same way.
  const anonymous = await browser.newContext();
  const anon = await anonymous.request.post(`${base}/admin/connections`, {
    headers: { "Next-Action": built.get("app/(admin)/admin/connections/actions.ts#revokeGrantAction")!.id, Origin: base },
    multipart: actionCall({ grantId: bobNotes.id }),
  });
  expect(anon.status()).toBe(404);
  await anonymous.close();

  for (const r of ADMIN_ROUTES) {
    const res = await alice.page.request.fetch(`${base}${r.path}`, { method: r.method });
    expect([404, 405], `${r.method} ${r.path}`).toContain(res.status());
    expect(await res.text()).not.toContain("resolve");
  }

  // Nothing changed, and every refusal was audited with alice as the actor.
  expect(await grants()).toEqual(stateBefore.grants);
  expect(await adminFixture(env.env, "gateway", { id: gw })).toEqual(stateBefore.gateway);
  expect(await adminFixture(env.env, "agent", { id: ids.agentId })).toEqual(stateBefore.agent);
  const denied = await adminFixture<{ events: { actorId: string; reason: string; context: { surface: string } }[] }>(env.env, "audit", { action: "admin.access_denied" });
  const fresh = denied.events.slice(deniedBefore);
  const byAlice = fresh.filter((e) => e.actorId === ids.users.alice);
  expect(byAlice.filter((e) => e.context.surface === "page").length).toBeGreaterThanOrEqual(pages.length);
  expect(byAlice.filter((e) => e.context.surface === "action")).toHaveLength(Object.keys(actions).length);
  expect(byAlice.filter((e) => e.context.surface === "route")).toHaveLength(ADMIN_ROUTES.filter((r) => r.method === "GET").length);
  expect(fresh.some((e) => e.reason === "not_signed_in")).toBe(true);
  await alice.context.close();
});

test("an admin's own session cannot be used cross-site: a POST without the session's form token or from another origin changes nothing", async () => {
  const bobNotes = (await grants()).find((g) => g.provider === "notes" && g.userId === ids.users.bob)!;
  expect(bobNotes.status).toBe("active");
  const { id, page } = builtAdminActions().get("app/(admin)/admin/connections/actions.ts#revokeGrantAction")!;
  const base = env.frontdesk.url;
  const forged = await admin.page.request.post(`${base}${page}`, {
    headers: { "Next-Action": id, Origin: base, Accept: "text/x-component" },
    multipart: actionCall({ grantId: bobNotes.id, formToken: "forged-token" }),
  });
  expect(await forged.text()).toContain("form token does not match this session");
  const crossSite = await admin.page.request.post(`${base}${page}`, {
    headers: { "Next-Action": id, Origin: "https://evil.example", Accept: "text/x-component" },
    multipart: actionCall({ grantId: bobNotes.id, formToken: "forged-token" }),
  });
  expect(crossSite.ok()).toBe(false);
  expect((await grants()).find((g) => g.id === bobNotes.id)?.status).toBe("active");
});
