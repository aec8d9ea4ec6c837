// ANY /api/v1/proxy/<provider>/<path> - the egress proxy (interface G): a gateway sends the
// upstream request here instead of to the upstream; Frontdesk checks the request against the
// provider's request rules for the scopes asked for, resolves the user's credential through the
// same hot path as REST resolve, adds it, sends the request to the provider's registered API base
// on a connection pinned to a checked address, and streams the answer back. The credential
// never leaves Frontdesk except on the wire to that base. Consent needed: the same 403 body as
// resolve. Every call is audited twice: the decision (before anything is sent upstream) and the
// outcome (status, bytes, duration) when the response has been streamed.
import type { IncomingMessage } from "node:http";
import type { VerifiedActor } from "@/lib/agents/actor";
import { establishActor } from "@/lib/agents/establish";
import { appendAudit } from "@/lib/audit/append";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import type { Provider } from "@/lib/generated/prisma/client";
import type { AuthenticatedGateway } from "@/lib/gateways/authenticate";
import { PROXY_PATH } from "@/lib/gateways/urls";
import { streamingGatewayRoute, type GatewayRouteContext } from "@/lib/gateway-api/gateway-route";
import { toWebResponse } from "@/lib/gateway-api/http";
import { findProviderBySlugCached } from "@/lib/gateway-api/providers";
import { consentRequiredResponse, injectionHeader } from "@/lib/gateway-api/resolve";
import { awaitRetry, requestStateBinding } from "@/lib/gateway-api/request-state-retry";
import { resolveCredential, type ResolveOutcome } from "@/lib/gateway-api/resolve-credential";
import type { OpenCredential } from "@/lib/grants/sealed";
import { log } from "@/lib/log";
import { dnsServerResolver, resolvePinned, systemResolver, type HostResolver } from "./address-guard";
import { downstreamResponseHeaders, upstreamRequestHeaders } from "./headers";
import { identifyCaller, UPSTREAM_BASE_HEADER, type EgressCaller } from "./identify";
import { checkRequestRules, HTTP_METHODS, parseRequestRules } from "./request-rules";
import { buildUpstreamUrl, chooseBase, type UpstreamTarget } from "./target";
import { callUpstream, type UpstreamExchange } from "./upstream";

/** Request bodies up to this size are held in memory, so that a 401 can be retried after a refresh. */
const RETRYABLE_BODY_BYTES = 64 * 1024;
const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

let resolver: HostResolver | null = null;
function hostResolver(): HostResolver {
  if (!resolver) {
    const servers = env().FRONTDESK_EGRESS_DNS_SERVERS;
    resolver = servers.length > 0 ? dnsServerResolver(servers) : systemResolver;
  }
  return resolver;
}

/** `<prefix>/<slug><path>?<query>` from the raw request target (or the parsed URL under Next). */
export function splitEgressTarget(target: string, prefix: string): { slug: string; path: string; search: string } {
  const q = target.indexOf("?");
  const pathPart = q === -1 ? target : target.slice(0, q);
  const search = q === -1 ? "" : target.slice(q);
  const rest = pathPart.slice(prefix.length + 1);
  const slash = rest.indexOf("/");
  const slug = slash === -1 ? rest : rest.slice(0, slash);
  if (!pathPart.startsWith(`${prefix}/`) || !SLUG.test(slug)) throw new AppError("not_found", "No provider with this slug");
  return { slug, path: slash === -1 ? "" : rest.slice(slash), search };
}

export async function findActiveProvider(slug: string): Promise<Provider> {
  const provider = await findProviderBySlugCached(slug);
  if (!provider || provider.status !== "active") throw new AppError("not_found", "No active provider with this slug");
  return provider;
}

export interface CallFacts {
  gateway: AuthenticatedGateway;
  provider: Provider;
  requestId: string;
  method: string;
  host: string;
  pathTemplate: string;
  caller?: EgressCaller;
  /** The agent acting for the user, once its actor token is verified. */
  actor?: VerifiedActor;
}

/** The audit record of an egress decision or outcome: ids, method, host, path template; never bodies, tokens or query values. */
export function auditEgress(
  facts: CallFacts,
  action: string,
  decision: "allow" | "deny" | "info",
  reason: string | null,
  extra: Record<string, unknown> = {},
) {
  const subject = facts.caller?.subject;
  const actor = facts.actor;
  return appendAudit({
    actorType: "gateway",
    actorId: facts.gateway.id,
    gatewayId: facts.gateway.id,
    agentId: actor?.agentId ?? null,
    providerId: facts.provider.id,
    action,
    decision,
    reason,
    requestId: facts.requestId,
    context: {
      method: facts.method,
      host: facts.host,
      pathTemplate: facts.pathTemplate,
      scopes: facts.caller?.scopes,
      subject: subject ? { issuer: subject.issuer, subject: subject.subject } : undefined,
      subjectSource: subject?.source,
      // The requester chain as resolveCredential records it: the verified agent and the actors before it.
      actor: actor ? { issuer: actor.issuer, subject: actor.subject, name: actor.displayName, act: actor.actChain } : undefined,
      agentId: facts.caller?.context.agentId,
      mcpServer: facts.caller?.context.mcpServer,
      toolName: facts.caller?.context.toolName,
      ...extra,
    },
  });
}

/** The caller's agent, verified (a bad actor token is refused and audited by establishActor, never dropped). */
export async function verifiedActor(caller: EgressCaller, facts: CallFacts, action: "proxy" | "ext_authz"): Promise<VerifiedActor | undefined> {
  if (!caller.actor) return undefined;
  return establishActor({ presented: caller.actor, gateway: facts.gateway, subject: caller.subject, providerId: facts.provider.id, action, requestId: facts.requestId });
}

/** Refuses (audited) when the requested scopes do not allow this method and path. */
export async function enforceRequestRules(facts: CallFacts, scopes: readonly string[], path: string): Promise<string> {
  const { rules, problem } = parseRequestRules(facts.provider.requestRules);
  const decision = checkRequestRules(rules, scopes, facts.method, path);
  facts.pathTemplate = decision.template;
  if (decision.allowed) return decision.template;
  const reason = problem ? "request_rule:rules_invalid" : "request_rule:not_allowed";
  await auditEgress(facts, "egress.refused", "deny", reason, { requestedScopes: scopes });
  throw new AppError(
    "forbidden",
    problem
      ? "This provider's request rules are invalid, so nothing is forwarded; an admin must fix them"
      : `The requested scopes (${scopes.join(" ") || "none"}) do not allow ${facts.method} ${decision.template} at this provider`,
    { egress: "request_rule" },
  );
}

async function readSmallBody(body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new AppError("payload_too_large", "Request body larger than its Content-Length");
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

type StreamOutcome = "complete" | "too_large" | "upstream_error" | "client_aborted";

/** The upstream body as a pull stream (read only as fast as the client takes it), counted and capped. */
function relayBody(source: IncomingMessage, max: number, done: (outcome: StreamOutcome, bytes: number) => void): ReadableStream<Uint8Array> {
  let bytes = 0;
  let finished = false;
  const finish = (outcome: StreamOutcome) => {
    if (finished) return;
    finished = true;
    done(outcome, bytes);
  };
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await chunks.next();
          if (next.done) {
            controller.close();
            return finish("complete");
          }
          bytes += next.value.byteLength;
          if (bytes > max) {
            source.destroy();
            controller.error(new AppError("upstream_error", "Upstream response too large"));
            return finish("too_large");
          }
          controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength));
        } catch (e) {
          controller.error(e);
          finish("upstream_error");
        }
      },
      cancel() {
        finish("client_aborted");
        source.destroy();
      },
    },
    { highWaterMark: 0 },
  );
}

/** A redirect within the base becomes a proxy URL; one anywhere else is refused (never followed, never passed on). */
function rewriteLocation(location: string, target: UpstreamTarget, slug: string): string | null {
  let to: URL;
  try {
    to = new URL(location, target.url);
  } catch {
    return null;
  }
  const base = new URL(target.base);
  const basePath = base.pathname.replace(/\/+$/, "");
  if (to.origin !== base.origin || (to.pathname !== basePath && !to.pathname.startsWith(`${basePath}/`))) return null;
  return `${PROXY_PATH}/${slug}${to.pathname.slice(basePath.length) || "/"}${to.search}`;
}

async function proxy(ctx: GatewayRouteContext<Request>, rawTarget: string | undefined): Promise<Response> {
  const started = performance.now();
  const { req, gateway, requestId } = ctx;
  const config = env();
  const parsedUrl = new URL(req.url);
  const { slug, path, search } = splitEgressTarget(rawTarget ?? `${parsedUrl.pathname}${parsedUrl.search}`, PROXY_PATH);
  const provider = await findActiveProvider(slug);
  const method = req.method.toUpperCase();
  const facts: CallFacts = { gateway, provider, requestId, method, host: "", pathTemplate: "" };
  if (!(HTTP_METHODS as readonly string[]).includes(method)) throw new AppError("invalid_request", `Method ${method} is not proxied`);
  const base = chooseBase(provider.resourceUrls, req.headers.get(UPSTREAM_BASE_HEADER));
  facts.host = new URL(base).host;
  let target: UpstreamTarget;
  try {
    target = buildUpstreamUrl(base, path, search, { allowHttp: provider.allowInsecureHttp });
  } catch (e) {
    // Traversal and smuggling attempts by an authenticated gateway are worth an audit row.
    if (e instanceof AppError && e.details?.egress === "path_refused") await auditEgress(facts, "egress.refused", "deny", "path_refused");
    throw e;
  }
  const caller = await identifyCaller(req.headers, gateway);
  facts.caller = caller;
  facts.actor = await verifiedActor(caller, facts, "proxy");
  const scopes = caller.scopes.length > 0 ? caller.scopes : provider.defaultScopes;
  await enforceRequestRules(facts, scopes, target.path);

  const declared = req.headers.get("content-length");
  const declaredBytes = declared === null ? null : Number(declared);
  if (declaredBytes !== null && (!Number.isSafeInteger(declaredBytes) || declaredBytes < 0)) throw new AppError("invalid_request", "Malformed Content-Length");
  if (declaredBytes !== null && declaredBytes > config.FRONTDESK_PROXY_MAX_REQUEST_BYTES) {
    throw new AppError("payload_too_large", `Request body larger than ${config.FRONTDESK_PROXY_MAX_REQUEST_BYTES} bytes`);
  }

  // The SSRF guard: one resolution, every answer checked, the connection pinned to it.
  let pinned;
  try {
    pinned = await resolvePinned(target.url.hostname, { allowPrivate: provider.allowPrivateNetwork, resolver: hostResolver() });
  } catch (e) {
    if (e instanceof AppError) await auditEgress(facts, "egress.refused", "deny", `ssrf:${String(e.details?.egress ?? e.code)}`);
    throw e;
  }

  const resolveOnce = (forceRefresh: boolean): Promise<ResolveOutcome> =>
    resolveCredential({
      action: "proxy",
      gateway,
      subject: caller.subject,
      subjectToken: caller.subjectToken,
      actor: facts.actor,
      provider,
      scopes: caller.scopes,
      context: caller.context,
      requestId,
      forceRefresh,
      auditExtra: { method, host: facts.host, pathTemplate: facts.pathTemplate, ...(forceRefresh ? { retryAfterUpstream401: true } : {}) },
    });
  // Consent needed: the same two MCP forms as resolve (the 2026 requestState binds this call);
  // a 2026 retry that passes the state back waits, bounded, for the user first.
  const call = { gateway, subject: caller.subject, actor: facts.actor, provider, scopes: caller.scopes, digest: caller.digest };
  const binding = requestStateBinding(call);
  const retry = caller.retry
    ? await awaitRetry({ ...call, action: "proxy", requestState: caller.retry.requestState, waitSeconds: caller.retry.waitSeconds, requestId, signal: req.signal })
    : null;
  let outcome = await resolveOnce(false);
  if (outcome.kind === "elicitation") return toWebResponse(await consentRequiredResponse(outcome, provider, binding, retry));

  let body: Uint8Array | ReadableStream<Uint8Array> | null = null;
  let retryable = true;
  if (method !== "GET" && method !== "HEAD" && req.body) {
    if (declaredBytes !== null && declaredBytes <= RETRYABLE_BODY_BYTES) body = await readSmallBody(req.body, declaredBytes);
    else {
      body = req.body;
      retryable = false;
    }
  }

  const send = (credential: OpenCredential): Promise<UpstreamExchange> => {
    const header = injectionHeader(provider, credential);
    const headers = upstreamRequestHeaders(req.headers, header.name);
    headers[header.name.toLowerCase()] = header.value;
    if (body instanceof Uint8Array) headers["content-length"] = String(body.byteLength);
    return callUpstream({
      url: target.url,
      pinned,
      method,
      headers,
      body,
      maxRequestBytes: config.FRONTDESK_PROXY_MAX_REQUEST_BYTES,
      idleTimeoutMs: config.FRONTDESK_PROXY_TIMEOUT_SECONDS * 1000,
      signal: req.signal,
    });
  };

  let exchange = await send(outcome.credential);
  // The upstream rejected a token Frontdesk thought valid (revoked or rotated there): refresh once
  // and retry once. Only bodies still in memory can be sent again.
  if (exchange.response.statusCode === 401 && retryable && outcome.credential.kind === "oauth") {
    const rejected = outcome.credential.accessToken;
    const again = await resolveOnce(true);
    if (again.kind === "elicitation") {
      exchange.response.resume();
      return toWebResponse(await consentRequiredResponse(again, provider, binding));
    }
    if (again.credential.kind === "oauth" && again.credential.accessToken !== rejected) {
      exchange.response.resume();
      outcome = again;
      exchange = await send(again.credential);
    }
  }

  const upstream = exchange.response;
  const status = upstream.statusCode ?? 502;
  const headers = downstreamResponseHeaders(upstream.headers);
  const finishAudit = (streamOutcome: StreamOutcome | "redirect_refused", bytesOut: number, sentStatus: number) => {
    auditEgress(facts, "egress.completed", "info", streamOutcome === "complete" ? null : streamOutcome, {
      status: sentStatus,
      upstreamStatus: status,
      bytesIn: exchange.bytesSent(),
      bytesOut,
      durationMs: Math.round(performance.now() - started),
      grantId: outcome.kind === "credential" ? outcome.grantId : undefined,
    }).catch((e: unknown) => log.error("egress outcome audit failed", { requestId, reason: e instanceof Error ? e.message : "unknown" }));
  };

  if (status >= 300 && status < 400 && headers.has("location")) {
    const rewritten = rewriteLocation(headers.get("location")!, target, slug);
    if (rewritten === null) {
      upstream.resume();
      finishAudit("redirect_refused", 0, 502);
      throw new AppError("upstream_error", "The provider's API redirected off its registered base; the redirect was not followed", { egress: "redirect_refused" });
    }
    headers.set("location", rewritten);
  }
  const length = Number(upstream.headers["content-length"] ?? NaN);
  if (Number.isFinite(length) && length > config.FRONTDESK_PROXY_MAX_RESPONSE_BYTES) {
    upstream.destroy();
    finishAudit("too_large", 0, 502);
    throw new AppError("upstream_error", `The upstream response is larger than ${config.FRONTDESK_PROXY_MAX_RESPONSE_BYTES} bytes`, { egress: "response_too_large" });
  }
  if (method === "HEAD" || NULL_BODY_STATUSES.has(status) || status < 200) {
    upstream.resume();
    finishAudit("complete", 0, status);
    if (status >= 200) headers.set(ORIGIN_HEADER, "upstream");
    return new Response(null, { status: status < 200 ? 502 : status, headers });
  }
  headers.set(ORIGIN_HEADER, "upstream");
  const stream = relayBody(upstream, config.FRONTDESK_PROXY_MAX_RESPONSE_BYTES, (o, bytes) => finishAudit(o, bytes, status));
  return new Response(stream, { status, headers });
}

/**
 * On every response relayed from the upstream: `Frontdesk-Origin: upstream`. Anything else the
 * proxy answers (a refusal, consent needed, an error) is Frontdesk's own, so a gateway tells "the
 * user declined" from an upstream 403 by this header alone; the upstream cannot forge it
 * (downstreamResponseHeaders drops its Frontdesk-* headers).
 */
export const ORIGIN_HEADER = "frontdesk-origin";

/** The proxy route for one request; `rawTarget` is the request target as received (server.ts), before URL parsing. */
export function proxyHandler(rawTarget?: string): (req: Request) => Promise<Response> {
  return streamingGatewayRoute({ name: "proxy", body: "none", style: "api" }, (ctx) => proxy(ctx, rawTarget));
}

/** The proxy route under Next.js (app/api/v1/proxy/...): the URL as Next parsed it. */
export const handleProxy = proxyHandler();
