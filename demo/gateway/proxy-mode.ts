// Proxy mode of the reference gateway (the demo's default): instead of exchanging the user's
// identity token for the upstream token and calling the upstream itself, the gateway sends the
// upstream request to Frontdesk's egress proxy (interface G), authenticated as itself, with the
// user's identity token and the route's scopes in Frontdesk-* headers. Frontdesk adds the
// credential on its own connection to the provider's registered API base and streams the answer
// back, so neither this gateway nor the MCP server behind it ever holds the upstream token.
// Consent needed comes back as Frontdesk's MCP-ready 403 body, relayed unchanged.
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";

export type GatewayMode = "proxy" | "inject";

/** Frontdesk's egress proxy path (lib/gateways/urls.ts PROXY_PATH; the gateway keeps no import of Frontdesk code). */
const PROXY_PATH = "/api/v1/proxy";
/** Response headers worth passing back from the upstream (Frontdesk already dropped cookies and hop-by-hop ones). */
const PASSED_RESPONSE_HEADERS = ["content-type", "content-length", "cache-control", "etag", "last-modified", "www-authenticate", "location"];
const TIMEOUT_MS = 30_000;

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
  let answer: Response;
  try {
    answer = await f.fetch(`${f.frontdeskUrl}${PROXY_PATH}/${encodeURIComponent(f.provider)}${f.rest}`, {
      method: req.method,
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch {
    f.log(`${f.provider}: Frontdesk unavailable`);
    res.writeHead(502, { "content-type": "application/json" }).end(JSON.stringify({ error: "credential_broker_unavailable" }));
    return;
  }
  const consent = answer.status === 403 && (answer.headers.get("content-type") ?? "").includes("json");
  f.log(`${f.provider}: ${req.method} ${f.rest.split("?")[0]} via Frontdesk -> ${answer.status}${consent ? " (consent needed or refused)" : ""}`);
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
