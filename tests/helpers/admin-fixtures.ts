// Runs tests/helpers/admin-fixtures-cli.ts in a child process with a Frontdesk environment, plus
// browser helpers shared by the admin specs.
import path from "node:path";
import { expect, type Browser, type BrowserContext, type Page } from "@playwright/test";
import type { E2eEnvironment } from "./e2e-environment";
import { runFixture } from "./fixture-process";

export function adminFixture<T = Record<string, unknown>>(env: Record<string, string>, command: string, input: Record<string, unknown> = {}): Promise<T> {
  return runFixture<T>(path.join("tests", "helpers", "admin-fixtures-cli.ts"), env, command, input, { timeoutMs: 180_000 });
}

/** The admin fixtures' "setup" for an e2e environment: the Notes provider for its upstream, alice and bob, a gateway and rules. */
export function setupAdminFixtures<T = Record<string, unknown>>(env: E2eEnvironment): Promise<T> {
  const { alice, bob } = env.idp.users;
  return adminFixture<T>(env.env, "setup", {
    issuer: env.idp.issuer,
    upstream: { issuer: env.upstream.issuer, clientId: env.upstream.clientId, clientSecret: env.upstream.clientSecret, apiUrl: env.upstream.apiUrl },
    users: { alice, bob },
  });
}

/** A browser context signed in to the portal as one of the IdP's demo users, on `firstPath`. */
export async function signedIn(browser: Browser, env: E2eEnvironment, user: "alice" | "bob" | "admin", firstPath = "/admin"): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.frontdesk.url}${firstPath}`);
  await expect(page).toHaveURL(/\/sign-in\?callbackUrl=/);
  await page.getByRole("button", { name: /Sign in with/ }).click();
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(env.idp.users[user].password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => url.pathname === firstPath || url.pathname === "/", { timeout: 30_000 });
  return { context, page };
}

/** HTTP Basic for a gateway's client id and secret (form-urlencoded first, RFC 6749 2.3.1). */
export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;
}

/** REST resolve as a gateway would call it. */
export async function resolve(env: E2eEnvironment, gateway: { id: string; secret: string }, body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${env.frontdesk.url}/api/v1/resolve`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: basic(gateway.id, gateway.secret) },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
