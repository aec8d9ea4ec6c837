// Reference egress gateway: the smallest honest version of what agentgateway, ToolHive or an
// Envoy filter does in front of upstream APIs, with Frontdesk as the credential broker.
//
//   MCP server --(Authorization: Bearer <user's IdP JWT>)--> gateway --(RFC 8693)--> Frontdesk
//   gateway --(Authorization: Bearer <upstream token>)--> upstream API
//
// The MCP server names the user (its subject token) and the route; it never sees the upstream
// credential, which exists only inside this process for the duration of one forwarded request
// (and in a short cache keyed by a hash of the subject token). When Frontdesk answers
// `interaction_required`, the gateway answers 403 with a body ready to forward in both MCP
// revisions (the -32042 error and the 2026-07-28 input_required result); an MCP server's retry
// passes Frontdesk's requestState back in headers (RETRY_HEADERS). It also relays Frontdesk's elicitation status long-poll
// (interface E), authenticating as itself, so the MCP server can tell the user's client when
// the consent is done; a signed webhook from Frontdesk (verified with Frontdesk's JWKS) answers
// those waits early.
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRemoteJWKSet, customFetch, jwtVerify } from "jose";
import { listenOnLoopback } from "../loopback-server";
import { sendWithFreshCredential } from "./reauthorize";
import { createSecurityEventReceiver, isSecurityEventRequest, type SecurityEventStats } from "./security-events";
import { encodeClientSecretBasic, TokenExchanger, type ExchangeClient, type ExchangeRequest, type InputRequired, type UrlElicitation } from "./token-exchange";
import { forwardThroughFrontdesk, type GatewayMode } from "./proxy-mode";

export interface EgressRoute {
  /** First path segment the gateway serves this route under: `/<name>/...`; in proxy mode also the Frontdesk provider slug. */
  name: string;
  /** Upstream base URL; `/<name>/rest` is forwarded to `<target>/rest`. Also the RFC 8707 `resource`. */
  target: string;
  /** Scopes requested from Frontdesk for every request on this route. */
  scopes: string[];
}

export interface EgressGatewayOptions {
  /** Frontdesk's public origin (elicitation status lives under it). */
  frontdeskUrl: string;
  /** This gateway's registration at Frontdesk; tokenEndpoint from Frontdesk's RFC 8414 metadata. */
  client: ExchangeClient;
  routes: EgressRoute[];
  /**
   * "proxy" (the demo's default): upstream requests go through Frontdesk's egress proxy and the
   * gateway never holds an upstream token (demo/gateway/proxy-mode.ts). "inject": RFC 8693
   * exchange and the gateway adds the token itself, as agentgateway and ToolHive do.
   */
  mode?: GatewayMode;
  port?: number;
  fetch?: typeof fetch;
  /** Called with one line per request (ids and outcomes only; never tokens). */
  log?: (line: string) => void;
}

export interface EgressGateway {
  url: string;
  mode: GatewayMode;
  port: number;
  /** Where Frontdesk should POST its signed elicitation webhooks (`gateway add --webhook`). */
  webhookUrl: string;
  stats: { webhooksAccepted: number; webhooksRejected: number };
  /** Revocation events (RFC 8417 SETs) received at the same webhook URL. */
  securityEvents: SecurityEventStats;
  close(): Promise<void>;
}

export const WEBHOOK_PATH = "/frontdesk/webhook";
const WEBHOOK_TYPE = "frontdesk-webhook+jwt";
const WEBHOOK_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

/** Upstream response headers worth passing back; everything else (cookies, hop-by-hop) is dropped. */
const PASSED_RESPONSE_HEADERS = ["content-type", "cache-control", "etag", "last-modified", "www-authenticate"];
const MAX_WAIT_SECONDS = 30;
const UPSTREAM_TIMEOUT_MS = 15_000;

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body));
}

function bearer(req: IncomingMessage): string | null {
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(req.headers.authorization ?? "");
  return match?.[1] ?? null;
}

/**
 * Consent needed, in both MCP revisions: `error` forwards unchanged as the error of a JSON-RPC
 * response (-32042, 2025-11-25); `inputRequired` (when Frontdesk sent one) is the 2026-07-28
 * tool result to return unchanged.
 */
export function elicitationRequiredBody(elicitation: UrlElicitation, message: string, inputRequired: InputRequired | null = null) {
  return { error: { code: -32042, message, data: { elicitations: [elicitation] } }, ...(inputRequired ? { inputRequired } : {}) };
}

/** Headers an MCP server sets on a 2026-07-28 retry (passed to Frontdesk as its extension parameters). */
export const RETRY_HEADERS = { requestState: "frontdesk-request-state", wait: "frontdesk-wait", digest: "frontdesk-request-digest" } as const;
const MAX_RETRY_WAIT_SECONDS = 50;

function readRetryHeaders(req: IncomingMessage): Pick<ExchangeRequest, "retry" | "requestDigest"> {
  const one = (name: string) => {
    const v = req.headers[name];
    return typeof v === "string" && v !== "" ? v : undefined;
  };
  const requestState = one(RETRY_HEADERS.requestState);
  const digest = one(RETRY_HEADERS.digest);
  const wait = Math.min(Math.max(Math.floor(Number(one(RETRY_HEADERS.wait) ?? 0)) || 0, 0), MAX_RETRY_WAIT_SECONDS);
  return { ...(digest ? { requestDigest: digest } : {}), ...(requestState ? { retry: { requestState, waitSeconds: wait } } : {}) };
}

async function readBody(req: IncomingMessage, limit = 1_000_000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error("body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function startEgressGateway(opts: EgressGatewayOptions): Promise<EgressGateway> {
  const fetchImpl = opts.fetch ?? fetch;
  const exchanger = new TokenExchanger(opts.client, fetchImpl);
  const log = opts.log ?? (() => {});
  const frontdesk = opts.frontdeskUrl.replace(/\/+$/, "");
  const basic = `Basic ${encodeClientSecretBasic(opts.client.clientId, opts.client.clientSecret)}`;

  async function forward(req: IncomingMessage, res: ServerResponse, route: EgressRoute, rest: string) {
    const subjectToken = bearer(req);
    if (!subjectToken) {
      res.setHeader("www-authenticate", 'Bearer realm="egress-gateway"');
      return sendJson(res, 401, { error: "invalid_request", error_description: "send the user's identity token as a Bearer token" });
    }
    if (opts.mode === "proxy") {
      return forwardThroughFrontdesk(req, res, { frontdeskUrl: frontdesk, clientAuthorization: basic, provider: route.name, scopes: route.scopes, rest, subjectToken, fetch: fetchImpl, log });
    }
    const exchange: ExchangeRequest = { subjectToken, resource: route.target, scopes: route.scopes, ...readRetryHeaders(req) };
    const body = req.method === "GET" || req.method === "HEAD" ? undefined : new Uint8Array(await readBody(req));
    const send = async (accessToken: string) => {
      const headers: Record<string, string> = { authorization: `Bearer ${accessToken}`, accept: req.headers.accept ?? "*/*" };
      if (req.headers["content-type"]) headers["content-type"] = req.headers["content-type"];
      return fetchImpl(`${route.target.replace(/\/+$/, "")}${rest}`, {
        method: req.method,
        headers,
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
      });
    };
    let attempt;
    try {
      // A token the upstream rejects (revoked or rotated since it was cached) is dropped and
      // Frontdesk asked once more (reauthorize.ts), so a revocation reaches the user as a link.
      attempt = await sendWithFreshCredential(exchanger, exchange, send);
    } catch {
      return sendJson(res, 502, { error: "upstream_unavailable" });
    }
    if (attempt.kind === "exchange") {
      const result = attempt.result;
      switch (result.kind) {
        case "interaction_required":
          log(`${route.name}: consent needed (${result.elicitation.elicitationId.slice(0, 12)}…)`);
          return sendJson(res, 403, elicitationRequiredBody(result.elicitation, result.description || result.elicitation.message, result.inputRequired));
        case "rejected": {
          log(`${route.name}: Frontdesk refused (${result.error})`);
          // The user declined (or the authorization failed), or the retry's requestState was
          // refused: the caller ends its tool call with that message.
          if (result.error === "access_denied" || result.error === "invalid_request_state") {
            return sendJson(res, result.error === "access_denied" ? 403 : 400, { error: result.error, error_description: result.description });
          }
          // RFC 8693 2.2.2 reports an unacceptable subject token as invalid_request; the subject
          // token is the only input that came from the caller, so that is the caller's 401. Policy
          // refusals (invalid_target, invalid_scope) are a 403.
          const callerToken = result.error === "invalid_request" || result.error === "invalid_grant";
          if (callerToken) res.setHeader("www-authenticate", 'Bearer error="invalid_token"');
          return sendJson(res, callerToken ? 401 : 403, { error: result.error, error_description: result.description });
        }
        case "unavailable":
          log(`${route.name}: Frontdesk unavailable (${result.reason})`);
          return sendJson(res, 502, { error: "credential_unavailable", error_description: "the credential broker could not be reached" });
      }
    }
    const upstream = attempt.response;
    log(`${route.name}: ${req.method} ${rest} -> ${upstream.status}${attempt.reexchanged ? " (after dropping a rejected cached token)" : ""}`);
    const out: Record<string, string> = {};
    for (const name of PASSED_RESPONSE_HEADERS) {
      const value = upstream.headers.get(name);
      if (value) out[name] = value;
    }
    res.writeHead(upstream.status, out).end(Buffer.from(await upstream.arrayBuffer()));
  }

  // Elicitations Frontdesk told us (signed webhook) have settled, and relays waiting for them.
  const settled = new Map<string, string>();
  const webhookWaiters = new Map<string, Set<(status: string) => void>>();
  const seenWebhookIds = new Map<string, number>();
  const stats = { webhooksAccepted: 0, webhooksRejected: 0 };
  const frontdeskKeys = createRemoteJWKSet(new URL(`${frontdesk}/.well-known/jwks.json`), {
    timeoutDuration: 5_000,
    [customFetch]: (url, options) => fetchImpl(url, options),
  });

  // Revocation events arrive at the same URL as application/secevent+jwt (security-events.ts).
  const securityEvents = createSecurityEventReceiver({
    issuer: frontdesk,
    audience: opts.client.clientId,
    keys: frontdeskKeys,
    purgeSubject: ({ iss, sub }) => exchanger.forgetSubject(iss, sub),
    log,
  });

  // POST /frontdesk/webhook: a compact JWS from Frontdesk. Verified (signature with Frontdesk's
  // published key, issuer, our client id as audience, type, expiry, single use) before it counts;
  // it only ever ends a wait early, the status endpoint stays the source of truth.
  async function receiveWebhook(req: IncomingMessage, res: ServerResponse) {
    const reject = (status: number) => {
      stats.webhooksRejected++;
      res.writeHead(status).end();
    };
    let claims: Record<string, unknown>;
    try {
      const jws = (await readBody(req, 16_384)).toString("utf8").trim();
      ({ payload: claims } = await jwtVerify(jws, frontdeskKeys, {
        issuer: frontdesk,
        audience: opts.client.clientId,
        typ: WEBHOOK_TYPE,
        algorithms: WEBHOOK_ALGORITHMS,
        requiredClaims: ["exp", "jti"],
        clockTolerance: 30,
      }));
    } catch {
      return reject(401);
    }
    const id = claims.elicitation_id;
    const status = claims.status;
    const jti = String(claims.jti);
    if (claims.event !== "elicitation.settled" || typeof id !== "string" || typeof status !== "string") return reject(400);
    const now = Date.now();
    for (const [k, exp] of seenWebhookIds) if (exp < now) seenWebhookIds.delete(k);
    if (seenWebhookIds.has(jti)) return reject(409);
    seenWebhookIds.set(jti, (Number(claims.exp) + 60) * 1000);
    stats.webhooksAccepted++;
    if (settled.size > 10_000) settled.delete(settled.keys().next().value!);
    settled.set(id, status);
    for (const wake of webhookWaiters.get(id) ?? []) wake(status);
    webhookWaiters.delete(id);
    log(`webhook: elicitation ${id.slice(0, 12)}… ${status}`);
    res.writeHead(204).end();
  }

  function webhookSettles(id: string, signal: AbortSignal): Promise<string> {
    return new Promise((resolve) => {
      const set = webhookWaiters.get(id) ?? new Set();
      webhookWaiters.set(id, set);
      set.add(resolve);
      signal.addEventListener("abort", () => set.delete(resolve), { once: true });
    });
  }

  // GET /elicitations/<id>?wait=<s>: Frontdesk's status endpoint, called as this gateway, unless
  // a verified webhook already said (or says, while we wait) that the elicitation settled.
  async function relayElicitationStatus(res: ServerResponse, id: string, wait: number) {
    const known = settled.get(id);
    if (known) return sendJson(res, 200, { status: known });
    const done = new AbortController();
    type Answer = { httpStatus: number; body: { status?: unknown; completedAt?: unknown } | null };
    let answer: Answer | string;
    try {
      const fromWebhook = webhookSettles(id, done.signal);
      const fromFrontdesk = fetchImpl(`${frontdesk}/api/v1/elicitations/${encodeURIComponent(id)}?wait=${wait}`, {
        headers: { authorization: basic, accept: "application/json" },
        signal: AbortSignal.any([done.signal, AbortSignal.timeout((wait + 10) * 1000)]),
        redirect: "error",
      }).then(async (r): Promise<Answer> => ({ httpStatus: r.status, body: (await r.json().catch(() => null)) as Answer["body"] }));
      // When the webhook wins, the aborted poll's rejection is expected, not unhandled.
      fromFrontdesk.catch(() => undefined);
      answer = await Promise.race([fromWebhook, fromFrontdesk]);
    } catch {
      return sendJson(res, 502, { error: "credential_broker_unavailable" });
    } finally {
      done.abort();
    }
    if (typeof answer === "string") return sendJson(res, 200, { status: answer });
    const { httpStatus, body } = answer;
    if (httpStatus !== 200 || typeof body?.status !== "string") return sendJson(res, httpStatus === 404 ? 404 : 502, { error: "status_unavailable" });
    sendJson(res, 200, { status: body.status, ...(typeof body.completedAt === "string" ? { completedAt: body.completedAt } : {}) });
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://gateway");
    if (url.pathname === "/healthz") return sendJson(res, 200, { status: "ok" });
    if (url.pathname === WEBHOOK_PATH && req.method === "POST") {
      return isSecurityEventRequest(req) ? securityEvents.receive(req, res) : receiveWebhook(req, res);
    }
    const status = /^\/elicitations\/([A-Za-z0-9_-]{1,100})$/.exec(url.pathname);
    if (status && req.method === "GET") {
      const wait = Math.min(Math.max(Number(url.searchParams.get("wait") ?? 0) || 0, 0), MAX_WAIT_SECONDS);
      return relayElicitationStatus(res, status[1]!, Math.floor(wait));
    }
    const [, name, ...rest] = url.pathname.split("/");
    const route = opts.routes.find((r) => r.name === name);
    if (!route) return sendJson(res, 404, { error: "no_route" });
    return forward(req, res, route, `/${rest.join("/")}${url.search}`);
  };

  const server = await listenOnLoopback(handle, { port: opts.port, onError: (res) => sendJson(res, 500, { error: "gateway_error" }) });
  const { port } = server;
  return {
    url: `http://localhost:${port}`,
    mode: opts.mode ?? "inject",
    port,
    webhookUrl: `http://localhost:${port}${WEBHOOK_PATH}`,
    stats,
    securityEvents: securityEvents.stats,
    close: server.close,
  };
}
