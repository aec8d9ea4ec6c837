// Proxy mode of the reference gateway (the demo's default): instead of exchanging the user's
// identity token for the upstream token and calling the upstream itself, the gateway sends the
// upstream request to Frontdesk's egress proxy (interface G), authenticated as itself, with the
// user's identity token and the route's scopes in Frontdesk-* headers. Frontdesk adds the
// credential on its own connection to the provider's registered API base and streams the answer
// back, so neither this gateway nor the MCP server behind it ever holds the upstream token.
// Consent needed comes back as Frontdesk's MCP-ready 403 body, relayed unchanged; Frontdesk's
// other refusals (any answer without Frontdesk-Origin: upstream) become this gateway's own error contract toward
// the MCP server, the same as in inject mode: {error, error_description}.
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";

export type GatewayMode = "proxy" | "inject";

/** Frontdesk's egress proxy path (lib/gateways/urls.ts PROXY_PATH; the gateway keeps no import of Frontdesk code). */
const PROXY_PATH = "/api/v1/proxy";
/** Response headers worth passing back from the upstream (Frontdesk already dropped cookies and hop-by-hop ones). */
const PASSED_RESPONSE_HEADERS = ["content-type", "content-length", "cache-control", "etag", "last-modified", "www-authenticate", "location"];
/** lib/egress/proxy.ts ORIGIN_HEADER: "upstream" on relayed answers; absent on Frontdesk's own. */
const ORIGIN_HEADER = "frontdesk-origin";
const TIMEOUT_MS = 30_000;

/** Frontdesk's API error codes, as the OAuth-style errors the MCP server knows from inject mode. */
function gatewayError(status: number, code: string, message: string): { status: number; body: { error: string; error_description: string }; invalidToken: boolean } {
  if (code === "consent_declined" || code === "consent_failed") return { status: 403, body: { error: "access_denied", error_description: message }, invalidToken: false };
  if (code === "invalid_request_state") return { status: 400, body: { error: code, error_description: message }, invalidToken: false };
  // The user's identity token is the only input that came from the caller: its 401.
  if (status === 401 || code === "invalid_subject") return { status: 401, body: { error: "invalid_token", error_description: message }, invalidToken: true };
  if (status === 429 || status >= 500) return { status: 502, body: { error: "credential_unavailable", error_description: message }, invalidToken: false };
  return { status, body: { error: code, error_description: message }, invalidToken: false };
}

export interface ProxyForward {
  frontdeskUrl: string;
  /** `Basic ...`: this gateway's client authentication at Frontdesk. */
  clientAuthorization: string;
  provider: string;
  scopes: string[];
  /** Path and query under the provider's API base. */
  rest: string;
  subjectToken: string;
  fetch: typeof fetch;
  log: (line: string) => void;
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
  });
}

export async function forwardThroughFrontdesk(req: IncomingMessage, res: ServerResponse, f: ProxyForward): Promise<void> {
  const headers: Record<string, string> = {
    authorization: f.clientAuthorization,
    "frontdesk-subject-token": f.subjectToken,
    accept: req.headers.accept ?? "*/*",
  };
  if (f.scopes.length > 0) headers["frontdesk-scopes"] = f.scopes.join(" ");
  if (req.headers["content-type"]) headers["content-type"] = req.headers["content-type"];
  // An MCP 2026-07-28 retry: Frontdesk's requestState and wait, passed through as they came.
  for (const name of ["frontdesk-request-state", "frontdesk-wait", "frontdesk-request-digest"]) {
    const value = req.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  const body = req.method === "GET" || req.method === "HEAD" ? undefined : new Uint8Array(await readAll(req));
  // A 2026 retry may wait at Frontdesk for the user (Frontdesk-Wait seconds) before the answer starts.
  const waitSeconds = Number(headers["frontdesk-wait"] ?? 0);
  const timeoutMs = TIMEOUT_MS + (Number.isFinite(waitSeconds) && waitSeconds > 0 ? Math.min(waitSeconds, 60) * 1000 : 0);
  let answer: Response;
  try {
    answer = await f.fetch(`${f.frontdeskUrl}${PROXY_PATH}/${encodeURIComponent(f.provider)}${f.rest}`, {
      method: req.method,
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    f.log(`${f.provider}: Frontdesk unavailable`);
    res.writeHead(502, { "content-type": "application/json" }).end(JSON.stringify({ error: "credential_broker_unavailable" }));
    return;
  }
  const path = f.rest.split("?")[0];
  if (answer.headers.get(ORIGIN_HEADER) !== "upstream" && !answer.ok) {
    const body = (await answer.json().catch(() => null)) as { error?: { code?: unknown; message?: unknown } } | null;
    const code = body?.error?.code;
    if (code === -32042) {
      f.log(`${f.provider}: ${req.method} ${path} via Frontdesk -> consent needed`);
      res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(body));
      return;
    }
    const mapped = gatewayError(answer.status, typeof code === "string" ? code : "refused", typeof body?.error?.message === "string" ? body.error.message : "");
    f.log(`${f.provider}: ${req.method} ${path} via Frontdesk -> refused (${mapped.body.error})`);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (mapped.invalidToken) headers["www-authenticate"] = 'Bearer error="invalid_token"';
    res.writeHead(mapped.status, headers).end(JSON.stringify(mapped.body));
    return;
  }
  f.log(`${f.provider}: ${req.method} ${path} via Frontdesk -> ${answer.status}`);
  const out: Record<string, string> = {};
  for (const name of PASSED_RESPONSE_HEADERS) {
    const value = answer.headers.get(name);
    if (value) out[name] = value;
  }
  res.writeHead(answer.status, out);
  if (!answer.body) return void res.end();
  // Streamed through with backpressure: a large upstream answer is never held here either.
  Readable.fromWeb(answer.body as import("node:stream/web").ReadableStream<Uint8Array>)
    .once("error", () => res.destroy())
    .pipe(res);
}
