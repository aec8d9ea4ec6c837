// Frontdesk's production server (`npm start` runs it after the build, compiled to dist/server.js):
//   node dist/server.js [--hostname 127.0.0.1] [--port 3000]
// One node:http server. The gateway API's hot paths (REST resolve, token exchange, elicitation
// status, HTTP ext_authz) go straight to their handlers in lib/gateway-api and lib/egress, on a
// framework-free request (method, target, headers, the body read here) and reply (status,
// headers, body) written directly to the socket; the egress proxy and the health checks get a
// web Request and stream their web Response; every other request (portal, dashboard,
// next-auth, discovery) goes to Next.js. Next serves the same handlers under app/ (through
// their web Request adapter), same tests, one process.
//
// Why: Next's routing and request wrapping cost more than the whole gateway call, and building
// a web Request and reading a web Response back cost about a tenth of a resolve's CPU. Measured
// with `npm run bench` (see README "Benchmarks"): a resolve through `next start` vs this server.
//
// What differs from the same handler under Next: responses get the same security headers (taken
// from next.config.ts); handlers read the request target (path and query) as received, and
// repeated headers joined as web Headers joins them. One copy of lib/ in the process: Next's server bundle
// requires the same compiled dist/lib modules this server imports (scripts/lib-modules.mjs).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Readable } from "node:stream";
import next from "next";
import nextConfig from "./next.config";
import { extAuthzHandler } from "@/lib/egress/ext-authz";
import { proxyHandler } from "@/lib/egress/proxy";
import { handleElicitationStatus } from "@/lib/gateway-api/elicitation-status";
import { checkReadiness, handleLive, handleReady } from "@/lib/health/readiness";
import { installGracefulShutdown } from "@/lib/server/graceful-shutdown";
import { MAX_BODY_BYTES, type ApiRequest, type Reply } from "@/lib/gateway-api/http";
import { handleResolve } from "@/lib/gateway-api/resolve";
import { handleTokenRequest } from "@/lib/gateway-api/token-exchange";
import { env } from "@/lib/env";
import { startConfiguredMetricsServer } from "@/lib/observability/metrics-server";
import { startConfiguredExtAuthzGrpcServer } from "@/lib/egress/ext-authz-grpc";
import { installEdgeListeners, rejectAtEdge } from "@/lib/http-edge/install";
import { rawHeaderReader, type HeaderReader } from "@/lib/http-edge/raw-headers";
import { guardServerErrors, unavailablePage, unreadableAction } from "@/lib/http-edge/server-error-guard";
import { sendThenDrain } from "@/lib/http-edge/respond";
import { startTracing } from "@/lib/observability/tracing";
import { flushBeforeExit, startFrontdesk } from "@/lib/startup";
import { ELICITATIONS_PATH, EXT_AUTHZ_PATH, PROXY_PATH, RESOLVE_PATH, TOKEN_ENDPOINT_PATH } from "@/lib/gateways/urls";

/**
 * `direct`: a gateway API handler on a framework-free request and reply (lib/gateway-api/http.ts),
 * its body read here, bounded. `web`: a web Request/Response handler whose request body and
 * response stream through (the egress proxy; the health checks).
 */
type GatewayRoute = { direct: (req: ApiRequest) => Promise<Reply> } | { web: (req: Request) => Promise<Response> };

/**
 * Exact method + path matches only; anything else (other methods, trailing slashes) is Next's.
 * The proxy routes match on the raw request target, before URL parsing resolves dot segments,
 * so the proxy sees (and refuses) a `..` instead of a silently rewritten path.
 */
function findGatewayHandler(method: string, pathname: string, rawTarget: string): GatewayRoute | null {
  if (method === "POST" && pathname === RESOLVE_PATH) return { direct: handleResolve.direct };
  // Health checks answered here, not by Next: cheap, and they see this process's shutdown state.
  if (method === "GET" && pathname === "/api/health/live") return { web: async () => handleLive() };
  if (method === "GET" && pathname === "/api/health/ready") return { web: handleReady };
  if (method === "POST" && pathname === TOKEN_ENDPOINT_PATH) return { direct: handleTokenRequest.direct };
  if (method === "GET" && pathname.startsWith(`${ELICITATIONS_PATH}/`) && !pathname.slice(ELICITATIONS_PATH.length + 1).includes("/")) {
    return { direct: handleElicitationStatus.direct };
  }
  if (pathname.startsWith(`${PROXY_PATH}/`)) return { web: proxyHandler(rawTarget) };
  if (pathname.startsWith(`${EXT_AUTHZ_PATH}/`)) return { direct: extAuthzHandler(rawTarget).direct };
  return null;
}

function parseArgs(argv: string[]): { hostname: string; port: number } {
  let hostname = "127.0.0.1";
  let port = env().PORT;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--hostname" || arg === "-H") hostname = argv[++i] ?? hostname;
    else if (arg === "--port" || arg === "-p") port = Number(argv[++i]);
    else throw new Error(`Unknown argument ${arg} (use --hostname and --port)`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error("--port must be a TCP port");
  return { hostname, port };
}

async function securityHeaders(): Promise<[string, string][]> {
  const rules = (await nextConfig.headers?.()) ?? [];
  return rules.filter((r) => r.source === "/:path*").flatMap((r) => r.headers.map((h): [string, string] => [h.key, h.value]));
}

/**
 * The request body, read into memory up to one byte past the handlers' limit: enough for them to
 * answer 413 (lib/gateway-api/http.ts), without buffering an oversized body. Cheaper than
 * piping the socket through a web stream.
 */
function readBody(req: IncomingMessage): Promise<{ body: Buffer; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.off("data", onData);
        req.pause();
        resolve({ body: Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES + 1), truncated: true });
      }
    };
    req.on("data", onData);
    req.once("end", () => resolve({ body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), truncated: false }));
    req.once("error", reject);
  });
}

function toRequest(req: IncomingMessage, body: ReadableStream<Uint8Array> | undefined, signal: AbortSignal): Request {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  const host = req.headers.host ?? "localhost";
  const init: RequestInit & { duplex?: "half" } = { method: req.method, headers, body, signal };
  if (body) init.duplex = "half";
  return new Request(`http://${host}${req.url ?? "/"}`, init);
}

/** Aborts the handler (e.g. a long-poll, a proxied upstream call) when the client goes away. */
function abortOnClose(res: ServerResponse): AbortSignal {
  const aborter = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) aborter.abort();
  });
  return aborter.signal;
}

/**
 * The ApiRequest of a direct call. Its `signal` (abortOnClose) is made when a handler first reads
 * it: most direct calls (a resolve without request_state) never do, and an AbortSignal per request
 * cost about 0.6% of a resolve's CPU. Read after the client went away, it is aborted already.
 * A class, not an object literal with a getter: V8 allocates each literal's accessor pair in old
 * space, and that old object kept the request's whole graph (request, response, body, the
 * handler's state) alive through every young-generation collection until the next major one:
 * every direct request promoted about 4.4 KB, feeding the major collections behind resolve's
 * open-loop latency tail (README, Benchmarks).
 */
class DirectRequest implements ApiRequest {
  readonly method: string;
  readonly target: string;
  // rawHeaderReader, not req.headers: repeated headers joined as web Headers does (lib/http-edge/raw-headers.ts).
  readonly headers: HeaderReader;
  #signal: AbortSignal | undefined;

  constructor(
    req: IncomingMessage,
    private readonly res: ServerResponse,
    readonly body: Buffer | null,
    readonly truncated: boolean,
  ) {
    this.method = req.method ?? "GET";
    this.target = req.url ?? "/";
    this.headers = rawHeaderReader(req.rawHeaders);
  }

  get signal(): AbortSignal {
    if (this.#signal) return this.#signal;
    const res = this.res;
    if (!res.closed) return (this.#signal = abortOnClose(res));
    return (this.#signal = res.writableFinished ? new AbortController().signal : AbortSignal.abort());
  }
}

const NO_BODY = { body: null, truncated: false };

async function dispatchDirect(handler: (req: ApiRequest) => Promise<Reply>, req: IncomingMessage, res: ServerResponse, headers: [string, string][]): Promise<void> {
  const { body, truncated } = req.method === "GET" || req.method === "HEAD" ? NO_BODY : await readBody(req);
  const reply = await handler(new DirectRequest(req, res, body, truncated));
  const payload = reply.body === null ? Buffer.alloc(0) : typeof reply.body === "string" ? Buffer.from(reply.body) : reply.body;
  if (truncated) {
    // An oversized body (the handler answers 413): answer, discard the rest, then close, so
    // the client reads the 413 instead of a reset (lib/http-edge/respond.ts).
    sendThenDrain(req, res, reply.status, [...headers, ...Object.entries(reply.headers)], payload);
    return;
  }
  for (const [key, value] of headers) res.setHeader(key, value);
  for (const key in reply.headers) res.setHeader(key, reply.headers[key]!);
  res.statusCode = reply.status;
  // end() with the whole body and no head written yet: Node sends a Content-Length, not chunks.
  res.end(payload);
}

async function dispatchWeb(handler: (req: Request) => Promise<Response>, req: IncomingMessage, res: ServerResponse, headers: [string, string][]): Promise<void> {
  const signal = abortOnClose(res);
  // The proxy streams the body upstream and applies its own limit while doing so.
  const body = req.method === "GET" || req.method === "HEAD" ? undefined : (Readable.toWeb(req) as ReadableStream<Uint8Array>);
  await streamResponse(res, await handler(toRequest(req, body, signal)), headers);
}

function writeHead(res: ServerResponse, response: Response, extraHeaders: [string, string][]): void {
  for (const [key, value] of extraHeaders) res.setHeader(key, value);
  response.headers.forEach((value, key) => res.setHeader(key, value));
  res.writeHead(response.status);
}

/**
 * Streams the body with backpressure: the next chunk is read only when the socket has taken the
 * previous one, so a slow client holds at most a few chunks in memory (and slows the upstream
 * through TCP), never the whole response. A client that goes away cancels the stream.
 */
async function streamResponse(res: ServerResponse, response: Response, extraHeaders: [string, string][]): Promise<void> {
  writeHead(res, response, extraHeaders);
  if (!response.body) return void res.end();
  const reader = response.body.getReader();
  let closed = false;
  let wake: (() => void) | null = null;
  res.once("close", () => {
    closed = true;
    wake?.();
    if (!res.writableFinished) reader.cancel().catch(() => undefined);
  });
  res.on("drain", () => wake?.());
  try {
    while (!closed) {
      const { done, value } = await reader.read();
      if (done) return void res.end();
      if (!res.write(value) && !closed) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
  } catch {
    // The upstream failed mid-body (or hit a limit): the client must see a cut-off, not a clean end.
    res.destroy();
  }
}

async function main() {
  // When the reader of stdout or stderr goes away (a log shipper restarts, a supervisor's pipe
  // closes), every write fails with EPIPE. Unhandled, that error is an uncaught exception, which
  // Next's handler logs to the same broken pipe, and again: the process stopped answering and
  // kept a core busy for good. Nowhere is left to report it; the server goes on serving.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
  const { hostname, port } = parseArgs(process.argv.slice(2));
  // Configuration, keys and database before the port opens: a bad setup exits 1 without ever
  // accepting a connection (Next's instrumentation runs the same idempotent checks again).
  // OpenTelemetry only when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (a no-op otherwise).
  startTracing();
  await startFrontdesk();
  // Prometheus metrics on their own port, only when configured (FRONTDESK_METRICS_PORT).
  await startConfiguredMetricsServer();
  // gRPC ext_authz for agentgateway / Envoy on its own port, only when configured (FRONTDESK_EXT_AUTHZ_GRPC_PORT).
  await startConfiguredExtAuthzGrpcServer();
  const app = next({ dev: false, hostname, port });
  const handleNext = app.getRequestHandler();
  await app.prepare();
  const headers = await securityHeaders();

  const server = createServer();
  // Installed before the request handler: it decides `Connection: close` while draining.
  const shutdown = installGracefulShutdown(server, {
    drainDelayMs: env().FRONTDESK_SHUTDOWN_DRAIN_MS,
    timeoutMs: env().FRONTDESK_SHUTDOWN_TIMEOUT_MS,
    onDrained: ({ forced }) => void flushBeforeExit().finally(() => process.exit(forced ? 1 : 0)),
  });
  server.on("request", (req, res) => {
    // Methods, Host, request target, path escapes and server-action basics (lib/http-edge).
    if (rejectAtEdge(req, res, headers)) return;
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const route = findGatewayHandler(req.method ?? "GET", q === -1 ? url : url.slice(0, q), url);
    if (!route) {
      // Next's 500s: a page whose database read failed gets a branded 503 with Retry-After; a
      // server-action POST (to a page, not an API route) that failed with the database fine had
      // a body Next could not decode: 400 (lib/http-edge/server-error-guard.ts).
      const isActionPost = req.method === "POST" && !url.startsWith("/api/");
      guardServerErrors(res, async () => {
        if ((await checkReadiness()).checks.database === "unreachable") return unavailablePage();
        return isActionPost ? unreadableAction() : null;
      });
      void handleNext(req, res);
      return;
    }
    ("direct" in route ? dispatchDirect(route.direct, req, res, headers) : dispatchWeb(route.web, req, res, headers)).catch(() => {
      // The handlers map every error to a response; this is a bug or a broken socket.
      if (res.headersSent) return void res.destroy();
      res.writeHead(500, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify({ error: { code: "internal_error", message: "Internal error" } }));
    });
  });
  installEdgeListeners(server);
  server.keepAliveTimeout = 5_000;
  // A port that cannot be bound (in use, not permitted) ends start-up with exit 1. Without this the
  // listen error is an uncaught exception, which Next's handler only logs: the process would live
  // on, listening nowhere, until an orchestrator's readiness check gave up on it.
  await new Promise<void>((resolve, reject) => {
    const refused = (error: Error) => reject(new Error(`Frontdesk cannot start: cannot listen on ${hostname}:${port}: ${error.message}`));
    server.once("error", refused);
    server.listen(port, hostname, () => {
      server.off("error", refused);
      resolve();
    });
  });
  console.log(`Frontdesk listening on http://${hostname}:${port} (gateway API direct, everything else Next.js)`);
  // SIGTERM (orchestrator, load balancer roll): drain as lib/server/graceful-shutdown.ts says.
  // SIGINT (Ctrl-C at a terminal): the same, without waiting for a load balancer to notice.
  process.once("SIGTERM", () => shutdown.begin());
  process.once("SIGINT", () => shutdown.begin({ drainDelayMs: 0 }));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
