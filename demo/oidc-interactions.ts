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

// The same look as Frontdesk's portal (slate on white cards, the portal's button styles), in
// plain CSS: these servers stand in for an IdP and an upstream and serve no Tailwind build.
const STYLE = `*{box-sizing:border-box}body{margin:0;min-height:100vh;background:#f8fafc;color:#0f172a;
font-family:ui-sans-serif,system-ui,sans-serif;-webkit-font-smoothing:antialiased}
main{max-width:28rem;margin:0 auto;padding:2.5rem 1rem}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:.5rem;box-shadow:0 1px 2px rgb(0 0 0/.05);padding:1.5rem}
.brand{font-size:.875rem;font-weight:600;color:#475569;margin:0 0 1rem}
h1{font-size:1.5rem;font-weight:600;letter-spacing:-.025em;margin:0 0 .5rem}
p{color:#334155;line-height:1.5}label{display:block;font-size:.875rem;font-weight:500;margin:1rem 0 .25rem}
input{width:100%;padding:.5rem .75rem;font-size:1rem;border:1px solid #cbd5e1;border-radius:.375rem}
input:focus-visible,button:focus-visible{outline:2px solid #0f172a;outline-offset:2px}
ul{padding-left:1.25rem;color:#334155}li{margin:.25rem 0}code{font-size:.75rem;color:#64748b}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1.5rem}.actions form{margin:0}
button{cursor:pointer;border-radius:.375rem;padding:.5rem 1rem;font-size:.875rem;font-weight:500;border:1px solid transparent}
.primary{background:#0f172a;color:#fff}.primary:hover{background:#334155}
.secondary{background:#fff;color:#0f172a;border-color:#cbd5e1}.secondary:hover{background:#f1f5f9}
.err{color:#b91c1c;background:#fef2f2;border:1px solid #fecaca;border-radius:.375rem;padding:.5rem .75rem}`;

function page(brand: string, title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escape(brand)}: ${escape(title)}</title><style>${STYLE}</style></head>
<body><main><p class="brand">${escape(brand)}</p><div class="card">${body}</div></main></body></html>`;
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
      // Name the application by its registered display name (client_name), not its client id.
      const client = await provider.Client.find(clientId);
      return send(res, 200, consentPage(opts.brand, details.uid, client?.clientName ?? clientId, scopes)), true;
    }
    if (req.method !== "POST") return send(res, 405, page(opts.brand, "Not allowed", "<h1>Not allowed</h1><p>Method not allowed</p>")), true;
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
    send(res, 404, page(opts.brand, "Not found", "<h1>Not found</h1><p>Unknown interaction step</p>"));
    return true;
  } catch (e) {
    send(res, 400, page(opts.brand, "Error", `<h1>Something went wrong</h1><p class="err" role="alert">${escape(e instanceof Error ? e.message : "interaction failed")}</p>`));
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
    brand,
    "sign in",
    `<h1>Sign in</h1><p>Sign in to ${escape(brand)} to continue.</p>${error ? `<p class="err" role="alert">${escape(error)}</p>` : ""}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="login">Username</label><input id="login" name="login" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<div class="actions"><button type="submit" class="primary">Sign in</button></div></form>`,
  );
}

function consentPage(brand: string, uid: string, clientName: string, scopes: string[]): string {
  return page(
    brand,
    "authorize",
    `<h1>Authorize ${escape(clientName)}</h1><p><strong>${escape(clientName)}</strong> asks for access to your ${escape(brand)} account:</p>
<ul>${scopes.map((s) => `<li><code>${escape(s)}</code></li>`).join("")}</ul>
<div class="actions"><form method="post" action="/interaction/${escape(uid)}/confirm"><button type="submit" class="primary">Authorize</button></form>
<form method="post" action="/interaction/${escape(uid)}/abort"><button type="submit" class="secondary">Deny</button></form></div>`,
  );
}
