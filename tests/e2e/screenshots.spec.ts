// The README's visual walkthrough: consent (desktop and phone), connections, the requests inbox,
// the dashboard overview and the audit log, taken from a real run (real IdP, upstream OAuth,
// PostgreSQL, Chromium). In the suite it writes to test-results/screenshots and only has to
// succeed; `npm run screenshots` regenerates the committed images in docs/screenshots.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { setupAdminFixtures, signedIn } from "../helpers/admin-fixtures";
import { startE2eEnvironment, type E2eEnvironment } from "../helpers/e2e-environment";
import { fixture } from "./portal-fixtures";

test.describe.configure({ mode: "serial" });

const OUT = process.env.SCREENSHOTS_DIR || path.join("test-results", "screenshots");
const DESKTOP = { width: 1280, height: 860 };
let env: E2eEnvironment;
let gatewayId: string;

test.beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  env = await startE2eEnvironment();
  gatewayId = (await setupAdminFixtures<{ gatewayId: string }>(env)).gatewayId;
});

test.afterAll(async () => {
  await env?.stop();
});

async function shoot(page: Page, name: string) {
  await page.evaluate(() => document.fonts.ready);
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
}

function elicit(subject: string) {
  return fixture<{ url: string }>(env.env, "elicit", { issuer: env.idp.issuer, subject, gatewayId, provider: "notes", scopes: ["notes:read"], expired: false });
}

test("portal: inbox, consent, phone consent, connections", async ({ browser }) => {
  const first = await elicit(env.idp.users.alice.sub);
  const { context, page } = await signedIn(browser, env, "alice", "/requests");
  await page.setViewportSize(DESKTOP);
  await expect(page.getByRole("heading", { name: /Requests waiting for you/ })).toBeVisible();
  await shoot(page, "requests");

  await page.goto(first.url);
  await expect(page.getByRole("heading", { name: "Connect Notes?" })).toBeVisible();
  await shoot(page, "consent");
  await page.setViewportSize({ width: 390, height: 844 });
  await shoot(page, "consent-phone");
  await page.setViewportSize(DESKTOP);

  await page.getByRole("button", { name: /Approve and continue/ }).click();
  await page.getByLabel("Username").fill("alice");
  await page.getByLabel("Password").fill(env.idp.users.alice.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Authorize" }).click();
  await expect(page.getByText("You can return to your agent")).toBeVisible();
  await page.goto(`${env.frontdesk.url}/connections`);
  await expect(page.getByRole("heading", { name: /Notes/ }).first()).toBeVisible();
  await shoot(page, "connections");
  await context.close();
});

test("dashboard: overview, audit log and one audit event", async ({ browser }) => {
  await elicit(env.idp.users.bob.sub);
  const { context, page } = await signedIn(browser, env, "admin", "/admin");
  await page.setViewportSize(DESKTOP);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await shoot(page, "dashboard");
  await page.goto(`${env.frontdesk.url}/admin/audit`);
  await expect(page.getByRole("heading", { name: /Audit/ }).first()).toBeVisible();
  await shoot(page, "audit");
  await page.locator('main a[href^="/admin/audit/"]').first().click();
  await expect(page).toHaveURL(/\/admin\/audit\/\d+/);
  await shoot(page, "audit-event");
  await context.close();
});
