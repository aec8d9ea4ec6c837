// Every portal and admin page, in Chromium at a phone width (360 px): no horizontal scrolling,
// and axe-core finds no serious or critical accessibility violation. Admin pages are found by
// following the dashboard's own navigation (and the first detail link of each list), so a page
// added later is checked without being listed here.
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { setupAdminFixtures, signedIn } from "../helpers/admin-fixtures";
import { startE2eEnvironment, type E2eEnvironment } from "../helpers/e2e-environment";
import { fixture } from "./portal-fixtures";

test.describe.configure({ mode: "serial" });

const PHONE = { width: 360, height: 780 };
let env: E2eEnvironment;
let gatewayId: string;

test.beforeAll(async () => {
  env = await startE2eEnvironment();
  gatewayId = (await setupAdminFixtures<{ gatewayId: string }>(env)).gatewayId;
});

test.afterAll(async () => {
  await env?.stop();
});

/** Fails with the offending elements' selectors when the page is wider than the viewport. */
async function expectNoHorizontalOverflow(page: Page, where: string) {
  const overflow = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll<HTMLElement>("body *")]
      .filter((el) => el.getBoundingClientRect().right > width + 1 && !el.closest("[class*='overflow-x-auto']"))
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}.${[...el.classList].slice(0, 3).join(".")}`);
    return { scrollWidth: document.documentElement.scrollWidth, width, wide };
  });
  expect(overflow.scrollWidth, `${where} is ${overflow.scrollWidth}px wide at ${overflow.width}px: ${overflow.wide.join(", ")}`).toBeLessThanOrEqual(overflow.width);
}

async function expectAccessible(page: Page, where: string) {
  const { violations } = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const serious = violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
  expect(serious, where).toEqual([]);
}

async function check(page: Page, path: string) {
  const res = await page.goto(`${env.frontdesk.url}${path}`);
  expect(res?.status(), path).toBeLessThan(500);
  await expectNoHorizontalOverflow(page, path);
  await expectAccessible(page, path);
}

test("signed out: home, sign-in and not-found pages fit a phone and pass axe", async ({ browser }) => {
  const context = await browser.newContext({ viewport: PHONE });
  const page = await context.newPage();
  for (const path of ["/", "/sign-in", "/no-such-page"]) await check(page, path);
  await context.close();
});

test("alice's portal pages (home, connections, a consent request, not found) fit a phone and pass axe", async ({ browser }) => {
  const request = await fixture<{ url: string }>(env.env, "elicit", {
    issuer: env.idp.issuer,
    subject: env.idp.users.alice.sub,
    gatewayId,
    provider: "notes",
    scopes: ["notes:read"],
    expired: false,
  });
  const { context, page } = await signedIn(browser, env, "alice", "/connections");
  await page.setViewportSize(PHONE);
  const consentPath = new URL(request.url).pathname;
  for (const path of ["/", "/connections", consentPath, "/no-such-page", "/admin"]) await check(page, path);
  // The header keeps Sign out on screen at this width.
  await page.goto(`${env.frontdesk.url}/connections`);
  const signOut = page.getByRole("button", { name: "Sign out" });
  await expect(signOut).toBeInViewport();
  await context.close();
});

test("every admin page fits a phone and passes axe", async ({ browser }) => {
  const { context, page } = await signedIn(browser, env, "admin", "/admin");
  await page.setViewportSize(PHONE);
  await page.goto(`${env.frontdesk.url}/admin`);
  const sections = await page
    .getByRole("navigation", { name: "Admin" })
    .getByRole("link")
    .evaluateAll((links) => [...new Set(links.map((a) => new URL((a as HTMLAnchorElement).href).pathname))]);
  expect(sections.length).toBeGreaterThanOrEqual(7);
  const pages = new Set(sections);
  for (const section of sections) {
    await page.goto(`${env.frontdesk.url}${section}`);
    // The first link into a detail page of this section (/admin/<section>/<id>), if any.
    const details = page.locator(`main a[href^="${section}/"]`);
    const detail = (await details.count()) > 0 ? await details.first().getAttribute("href") : null;
    if (detail && section !== "/admin") pages.add(new URL(detail, env.frontdesk.url).pathname);
  }
  expect(pages.size).toBeGreaterThan(sections.length);
  for (const path of pages) await check(page, path);
  await context.close();
});

/** Presses Tab until the focused element's text or label matches `name`; it must show a visible focus indicator. */
async function tabTo(page: Page, name: RegExp, where: string) {
  for (let presses = 0; presses < 40; presses++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const label = el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : null;
      const style = getComputedStyle(el);
      const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== "none";
      return { name: `${label ?? ""} ${el.getAttribute("aria-label") ?? ""} ${el.textContent ?? ""} ${(el as HTMLInputElement).value ?? ""}`, ring };
    });
    if (focused && name.test(focused.name)) {
      expect(focused.ring, `${where}: ${name} has no visible focus indicator`).toBe(true);
      return;
    }
  }
  throw new Error(`${where}: Tab never reached ${name}`);
}

/** Signs bob in on an oidc-provider sign-in page by keyboard alone. */
async function signInByKeyboard(page: Page, where: string) {
  await expect(page.getByLabel("Username")).toBeVisible();
  await tabTo(page, /Username/, where);
  await page.keyboard.type("bob");
  await tabTo(page, /Password/, where);
  await page.keyboard.type(env.idp.users.bob.password);
  await page.keyboard.press("Enter");
}

test("bob completes the whole consent flow by keyboard alone, every control he uses showing its focus", async ({ browser }) => {
  const request = await fixture<{ url: string }>(env.env, "elicit", {
    issuer: env.idp.issuer,
    subject: env.idp.users.bob.sub,
    gatewayId,
    provider: "notes",
    scopes: ["notes:read"],
    expired: false,
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(request.url);
  await expect(page).toHaveURL(/\/sign-in\?callbackUrl=/);
  await tabTo(page, /Sign in with/, "Frontdesk sign-in");
  await page.keyboard.press("Enter");
  // The organization's identity provider.
  await signInByKeyboard(page, "IdP sign-in");
  await expect(page).toHaveURL(request.url);
  // Consent: Approve comes before Decline in tab order.
  await tabTo(page, /Approve and continue|Decline/, "consent page");
  expect(await page.evaluate(() => document.activeElement?.textContent)).toMatch(/Approve and continue/);
  await page.keyboard.press("Enter");
  // The upstream's own sign-in and authorization pages.
  await signInByKeyboard(page, "upstream sign-in");
  await expect(page.getByRole("button", { name: "Authorize" })).toBeVisible();
  await tabTo(page, /Authorize/, "upstream consent");
  await page.keyboard.press("Enter");
  await expect(page.getByText("You can return to your agent")).toBeVisible();
  await context.close();
});

test("an admin edits a provider's scope lines: a bad line is announced as an error, a good one as saved, and the consent page shows it", async ({ browser }) => {
  const { context, page } = await signedIn(browser, env, "admin", "/admin");
  await page.goto(`${env.frontdesk.url}/admin/providers`);
  await page.getByRole("link", { name: /Notes/ }).first().click();
  const form = page.getByRole("form", { name: "Provider settings" });
  const lines = form.getByLabel(/What each scope lets an agent do/);
  await lines.fill("notes:read Read your notes");
  await form.getByRole("button", { name: "Save changes" }).click();
  // Announced in the admin layout's live regions (role=alert for errors, role=status for success).
  await expect(page.getByRole("alert").filter({ hasText: "line 1" })).toBeVisible();
  await lines.fill("notes:read = Look through your notes");
  await form.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved: scopeDescriptions changed" })).toBeVisible();
  await context.close();

  const request = await fixture<{ url: string }>(env.env, "elicit", {
    issuer: env.idp.issuer,
    subject: env.idp.users.alice.sub,
    gatewayId,
    provider: "notes",
    scopes: ["notes:read"],
    expired: false,
  });
  const alice = await signedIn(browser, env, "alice", new URL(request.url).pathname);
  await expect(alice.page.getByRole("listitem").filter({ hasText: "Look through your notes" })).toContainText("notes:read");
  await alice.context.close();
});
