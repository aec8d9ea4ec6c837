// Login and consent pages for the local OAuth/OIDC servers (demo identity provider and demo
// upstream). Real oidc-provider interactions with password-checked accounts; used by the demo
// and by the test suite, never by Frontdesk itself.
import type { IncomingMessage, ServerResponse } from "node:http";
import type Provider from "oidc-provider";

export interface DemoAccount {
  sub: string;
  email: string;
  name: string;
  password: string;
  groups: string[];
}

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}label{display:block;margin:.75rem 0 .25rem}
input{width:100%;padding:.5rem;font-size:1rem}button{margin-top:1rem;margin-right:.5rem;padding:.5rem 1rem;font-size:1rem}.err{color:#b00020}</style>
</head><body>${body}</body></html>`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16_384) throw new Error("form too large");
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function send(res: ServerResponse, status: number, html: string) {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(html);
}

export interface InteractionOptions {
  /** Shown as the page heading, e.g. "Acme SSO" or "Notes (upstream)". */
  brand: string;
  accounts: Record<string, DemoAccount>;
  /** Ask the user to approve scopes (upstream) or grant them silently (first-party IdP). */
  askConsent: boolean;
}

/** Handles /interaction/:uid[/login|/confirm|/abort]; returns false for other paths. */
export async function handleInteraction(
  provider: Provider,
  opts: InteractionOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  const url = new URL(req.url ?? "/", "http://local");
  const match = /^\/interaction\/([\w-]+)(?:\/(login|confirm|abort))?$/.exec(url.pathname);
  if (!match) return false;
  const action = match[2];
  try {
    const details = await provider.interactionDetails(req, res);
    const { prompt, params } = details;
    const clientId = String(params.client_id);
    if (req.method === "GET") {
      if (prompt.name === "login") return send(res, 200, loginPage(opts.brand, details.uid)), true;
      if (!opts.askConsent) return await grantConsent(provider, req, res, details), true;
      const scopes = String(params.scope ?? "").split(" ").filter(Boolean);
      return send(res, 200, consentPage(opts.brand, details.uid, clientId, scopes)), true;
    }
    if (req.method !== "POST") return send(res, 405, page("Not allowed", "<p>Method not allowed</p>")), true;
    if (action === "login") {
      const form = await readForm(req);
      const account = opts.accounts[form.get("login") ?? ""];
      if (!account || account.password !== form.get("password")) {
        return send(res, 401, loginPage(opts.brand, details.uid, "Wrong username or password.")), true;
      }
      await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
      return true;
    }
    if (action === "confirm") return await grantConsent(provider, req, res, details), true;
    if (action === "abort") {
      await provider.interactionFinished(
        req,
        res,
        { error: "access_denied", error_description: "The user denied the request" },
        { mergeWithLastSubmission: false },
      );
      return true;
    }
    send(res, 404, page("Not found", "<p>Unknown interaction step</p>"));
    return true;
  } catch (e) {
    send(res, 400, page("Error", `<p class="err">${escape(e instanceof Error ? e.message : "interaction failed")}</p>`));
    return true;
  }
}

async function grantConsent(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  details: Awaited<ReturnType<Provider["interactionDetails"]>>,
) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session!.accountId, clientId: String(params.client_id) });
  if (!grant) throw new Error("grant not found");
  const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(" "));
  }
  const savedId = await grant.save();
  await provider.interactionFinished(req, res, { consent: grantId ? {} : { grantId: savedId } }, { mergeWithLastSubmission: true });
}

function loginPage(brand: string, uid: string, error?: string): string {
  return page(
    `${brand}: sign in`,
    `<h1>${escape(brand)}</h1><p>Sign in to continue.</p>${error ? `<p class="err" role="alert">${escape(error)}</p>` : ""}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="login">Username</label><input id="login" name="login" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>`,
  );
}

function consentPage(brand: string, uid: string, clientId: string, scopes: string[]): string {
  return page(
    `${brand}: authorize`,
    `<h1>${escape(brand)}</h1><p><strong>${escape(clientId)}</strong> asks for access to your account:</p>
<ul>${scopes.map((s) => `<li><code>${escape(s)}</code></li>`).join("")}</ul>
<form method="post" action="/interaction/${escape(uid)}/confirm"><button type="submit">Authorize</button></form>
<form method="post" action="/interaction/${escape(uid)}/abort"><button type="submit">Deny</button></form>`,
  );
}
