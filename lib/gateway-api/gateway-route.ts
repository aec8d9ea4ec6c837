// The one wrapper around every authenticated gateway route: request id, body parsing with size
// and content-type checks, gateway authentication (audited when it fails), and error mapping in
// the route's style. Handlers receive an authenticated gateway and only do their own business.
import { appendUnauthenticatedFailure } from "@/lib/audit/failure-windows";
import { isDatabaseUnavailable } from "@/lib/db/unavailable";
import { AppError } from "@/lib/errors";
import { authenticateGatewayPending, type AuthenticatedGateway, type GatewayAuthFailureDetails } from "@/lib/gateways/authenticate";
import { clientAddress } from "@/lib/http-edge/client-address";
import { newId } from "@/lib/ids";
import { log } from "@/lib/log";
import { recordGatewayRequest } from "@/lib/observability/metrics";
import { runWithRequest } from "@/lib/observability/request-context";
import { recordAuthFailure } from "@/lib/rate-limit/auth-failures";
import { limitGatewayCall } from "@/lib/rate-limit/gateway-calls";
import { annotateSpan, withRequestSpan, withSpan } from "@/lib/observability/tracing";
import { apiError, fromWebRequest, readForm, readJson, toWebResponse, type ApiRequest, type Reply } from "./http";
import { oauthErrorResponse } from "./oauth-errors";

export interface GatewayRouteContext<R = ApiRequest> {
  /** The request: an ApiRequest, or for streaming routes (the egress proxy) the web Request. */
  req: R;
  requestId: string;
  gateway: AuthenticatedGateway;
  /** Form body (token endpoint), client-authentication parameters removed. */
  form: URLSearchParams;
  /** JSON body (REST routes). */
  body: unknown;
  /**
   * Settles when the gateway's authentication is complete: already settled, unless the route
   * overlaps a client assertion's single use (`overlapSingleUse`); then the handler may do
   * read-only work meanwhile and awaits this before anything with an effect.
   */
  authenticated: Promise<void>;
}

/**
 * A gateway route: called with a web Request it answers a web Response (Next.js routes, tests);
 * `direct` is the same route on server.ts's framework-free request and reply.
 */
export type GatewayHandler = ((req: Request) => Promise<Response>) & { direct: (req: ApiRequest) => Promise<Reply> };

export interface GatewayRouteOptions {
  /** What the route reads: a form (token endpoint), JSON, or nothing (GET). */
  body: "form" | "json" | "none";
  /** Error shape: RFC 6749 for the token endpoint, `{error:{code,message,requestId}}` elsewhere. */
  style: "oauth" | "api";
  /** Route label in metrics, traces and logs (a fixed name, never a path with ids in it). */
  name: string;
  /**
   * Header carrying the gateway's client authentication (default `authorization`). ext_authz
   * uses another one: there, Authorization is the original request's (the user's token).
   */
  credentialHeader?: string;
  /**
   * The handler starts while a client assertion's jti is being stored (one committed insert),
   * instead of after: the token endpoint, whose handler awaits `authenticated` before any effect.
   * A replay is refused as one whatever the handler did meanwhile.
   */
  overlapSingleUse?: boolean;
}

export const CLIENT_AUTH_PARAMS = ["client_id", "client_secret", "client_assertion", "client_assertion_type"] as const;

function takeClientAuthParams(form: URLSearchParams) {
  const creds: Partial<Record<(typeof CLIENT_AUTH_PARAMS)[number], string>> = {};
  for (const name of CLIENT_AUTH_PARAMS) {
    const values = form.getAll(name);
    if (values.length > 1) throw new AppError("invalid_request", `Parameter ${name} is repeated`);
    if (values.length === 1) creds[name] = values[0];
    form.delete(name);
  }
  return creds;
}

async function auditAuthFailure(e: AppError, requestId: string, req: ApiRequest): Promise<void> {
  const details = e.details as unknown as GatewayAuthFailureDetails | undefined;
  try {
    // Nobody is authenticated yet: one event per reason, source and minute, with a count.
    await appendUnauthenticatedFailure({
      actorType: "gateway",
      actorId: details?.gatewayId ?? null,
      gatewayId: details?.gatewayId ?? null,
      action: "gateway.auth_failed",
      decision: "deny",
      reason: details?.reason ?? "invalid_client",
      requestId,
      context: { path: pathOf(req.target) },
    }, clientAddress(req.headers));
  } catch (err) {
    // The request is refused either way; a failed audit write must not turn a 401 into a 500.
    log.error("audit of gateway auth failure failed", { requestId, reason: err instanceof Error ? err.message : "unknown" });
  }
}

function pathOf(target: string): string {
  const q = target.indexOf("?");
  return q === -1 ? target : target.slice(0, q);
}

/** How the shared wrapper reads and stamps a route's answers, and turns its own errors into one. */
interface Answers<Out> {
  status(out: Out): number;
  stamp(out: Out, requestId: string): void;
  fromReply(reply: Reply): Out;
}

const REPLIES: Answers<Reply> = {
  status: (r) => r.status,
  stamp: (r, requestId) => void (r.headers["X-Request-Id"] = requestId),
  fromReply: (r) => r,
};

const RESPONSES: Answers<Response> = {
  status: (r) => r.status,
  stamp: (r, requestId) => r.headers.set("X-Request-Id", requestId),
  fromReply: toWebResponse,
};

export function gatewayRoute(opts: GatewayRouteOptions, handler: (ctx: GatewayRouteContext) => Promise<Reply>): GatewayHandler {
  const direct = (req: ApiRequest) => run(opts, req, req, handler, REPLIES);
  return Object.assign(async (req: Request) => toWebResponse(await direct(await fromWebRequest(req))), { direct });
}

/**
 * The egress proxy's route: the request body streams to the upstream and the upstream's answer
 * streams back, so it keeps the web Request and Response (and reads no body here).
 */
export function streamingGatewayRoute(
  opts: GatewayRouteOptions & { body: "none" },
  handler: (ctx: GatewayRouteContext<Request>) => Promise<Response>,
): (req: Request) => Promise<Response> {
  return (req: Request) => {
    const url = new URL(req.url);
    const head: ApiRequest = { method: req.method, target: `${url.pathname}${url.search}`, headers: req.headers, body: null, truncated: false, signal: req.signal };
    return run(opts, head, req, handler, RESPONSES);
  };
}

function run<R, Out>(
  opts: GatewayRouteOptions,
  api: ApiRequest,
  req: R,
  handler: (ctx: GatewayRouteContext<R>) => Promise<Out>,
  answers: Answers<Out>,
): Promise<Out> {
  const requestId = newId("req");
  return runWithRequest({ requestId, route: opts.name }, () =>
    withRequestSpan(`gateway.${opts.name}`, api.headers, { "frontdesk.request_id": requestId, "http.request.method": api.method }, () => measured()),
  );

  async function measured(): Promise<Out> {
    const started = performance.now();
    let decision = "internal_error";
    const out = await handle((d) => (decision = d));
    const status = answers.status(out);
    recordGatewayRequest(opts.name, decision, status, (performance.now() - started) / 1000);
    annotateSpan({ "frontdesk.decision": decision, "http.response.status_code": status });
    return out;
  }

  async function handle(decide: (decision: string) => void): Promise<Out> {
    const fail = (e: unknown) => {
      decide(e instanceof AppError ? e.code : "internal_error");
      if (!(e instanceof AppError)) {
        // An outage is answered 503 (lib/errors.ts toAppError); one short line, not a stack per request.
        if (isDatabaseUnavailable(e)) log.warn("gateway api: database unavailable", { requestId, error: e instanceof Error ? e.name : "unknown" });
        else log.error("gateway api error", { requestId, error: e instanceof Error ? `${e.name}: ${e.message}` : "unknown" });
      }
      const reply = opts.style === "oauth" ? oauthErrorResponse(e) : apiError(e, requestId);
      if (opts.style === "api" && e instanceof AppError && e.code === "invalid_client") {
        const challenge = (e.details as unknown as GatewayAuthFailureDetails | undefined)?.challengeBasic;
        if (!challenge) delete reply.headers["WWW-Authenticate"];
      }
      reply.headers["X-Request-Id"] = requestId;
      return answers.fromReply(reply);
    };
    try {
      let form = new URLSearchParams();
      let body: unknown = undefined;
      let creds = {};
      if (opts.body === "form") {
        form = readForm(api);
        creds = takeClientAuthParams(form);
      } else if (opts.body === "json") {
        body = readJson(api);
      }
      // A refused credential: counted toward the failure limits (beyond them the answer is 429
      // instead of 401, lib/rate-limit) and audited.
      const refuse = async (e: unknown): Promise<never> => {
        if (!(e instanceof AppError) || e.code !== "invalid_client") throw e;
        const details = e.details as unknown as GatewayAuthFailureDetails | undefined;
        const limited = await recordAuthFailure(clientAddress(api.headers), details?.gatewayId ?? null);
        await auditAuthFailure(e, requestId, api);
        throw limited ?? e;
      };
      let gateway: AuthenticatedGateway;
      let authenticated: Promise<void>;
      try {
        const pending = await withSpan("auth.gateway", {}, async (span) => {
          const p = await authenticateGatewayPending({
            authorization: api.headers.get(opts.credentialHeader ?? "authorization"),
            form: creds,
            allowBearerAssertion: opts.style === "api",
          });
          span.setAttributes({ "frontdesk.gateway_id": p.gateway.id });
          return p;
        });
        gateway = pending.gateway;
        // Calls per gateway: counted in memory, shared about once a second (no query here); only
        // an authenticated call counts.
        const countCall = () => {
          const overLimit = limitGatewayCall(pending.gateway.id);
          if (overLimit) throw overLimit;
        };
        if (pending.singleUse && opts.overlapSingleUse) {
          authenticated = pending.singleUse.catch(refuse).then(countCall);
        } else {
          await pending.singleUse;
          authenticated = Promise.resolve();
          countCall();
        }
      } catch (e) {
        return await refuse(e);
      }
      const handled = handler({ req, requestId, gateway, form, body, authenticated });
      // Both settle before the answer; an authentication refused meanwhile is the answer.
      const [result, auth] = await Promise.allSettled([handled, authenticated]);
      if (auth.status === "rejected") throw auth.reason;
      if (result.status === "rejected") throw result.reason;
      const out = result.value;
      // Handlers answer non-2xx only with an elicitation (consent needed); errors are thrown.
      const status = answers.status(out);
      decide(status >= 200 && status < 300 ? "allow" : "elicitation");
      answers.stamp(out, requestId);
      return out;
    } catch (e) {
      return fail(e);
    }
  }
}
