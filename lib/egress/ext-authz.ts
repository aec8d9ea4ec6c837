// ANY /api/v1/ext-authz/<provider>/<original path> - HTTP ext_authz (interface C) for Envoy's
// ext_authz filter (HTTP service) and agentgateway's `extAuthz` (HTTP protocol). The proxy asks
// before forwarding: the check request carries the original method and path (Envoy: path_prefix
// + original path; agentgateway: its `path` expression) and the original `Authorization` header,
// which is the user's token (Envoy always includes it; agentgateway sends only it by default).
// So the gateway authenticates in another header, `Frontdesk-Gateway-Authorization`, set
// statically by the proxy (Envoy `authorization_request.headers_to_add`, agentgateway
// `addRequestHeaders`). Answers:
//   allow: 200, empty body, with the upstream credential header (Authorization, or the API-key
//          header), which the proxy copies onto the upstream request (Envoy
//          `allowed_upstream_headers`, agentgateway `includeResponseHeaders`);
//   deny:  a status and a JSON body the proxy returns to the client as is: consent needed is the
//          same 403 MCP body as REST resolve (the consent link inside), a request the scopes do
//          not allow a structured 403, a missing or bad user token a 401.
// Unlike the egress proxy, the credential does reach the proxy here (it adds it); the request
// rules still hold, but the proxy chooses where it sends the request.
import { AppError } from "@/lib/errors";
import { EXT_AUTHZ_PATH } from "@/lib/gateways/urls";
import { gatewayRoute, type GatewayHandler } from "@/lib/gateway-api/gateway-route";
import { consentRequiredResponse, injectionHeader } from "@/lib/gateway-api/resolve";
import { requestStateBinding } from "@/lib/gateway-api/request-state-retry";
import { resolveCredential } from "@/lib/gateway-api/resolve-credential";
import { identifyCaller } from "./identify";
import { enforceRequestRules, findActiveProvider, splitEgressTarget, verifiedActor, type CallFacts } from "./proxy";
import { HTTP_METHODS } from "./request-rules";
import { checkProxyPath } from "./target";

export const GATEWAY_AUTHORIZATION_HEADER = "frontdesk-gateway-authorization";

/** The check route for one request; `rawTarget` is the request target as received (server.ts), before URL parsing. */
export function extAuthzHandler(rawTarget?: string): GatewayHandler {
  return gatewayRoute({ name: "ext_authz", body: "none", style: "api", credentialHeader: GATEWAY_AUTHORIZATION_HEADER }, async ({ req, gateway, requestId }) => {
    const { slug, path } = splitEgressTarget(rawTarget ?? req.target, EXT_AUTHZ_PATH);
    const provider = await findActiveProvider(slug);
    const method = req.method.toUpperCase();
    if (!(HTTP_METHODS as readonly string[]).includes(method)) throw new AppError("invalid_request", `Method ${method} is not authorized here`);
    const checkedPath = checkProxyPath(path);
    // The proxy, not Frontdesk, picks the upstream host here; the audit names the registered one.
    const facts: CallFacts = { gateway, provider, requestId, method, host: provider.resourceUrls[0] ? new URL(provider.resourceUrls[0]).host : "", pathTemplate: "" };
    let caller;
    try {
      caller = await identifyCaller(req.headers, gateway, { bearerFallback: true });
    } catch (e) {
      // Envoy and agentgateway hand this answer to the MCP client: a bad user token is its 401.
      if (e instanceof AppError && e.code === "invalid_subject") throw new AppError("unauthenticated", e.message);
      throw e;
    }
    facts.caller = caller;
    facts.actor = await verifiedActor(caller, facts, "ext_authz");
    const scopes = caller.scopes.length > 0 ? caller.scopes : provider.defaultScopes;
    const pathTemplate = await enforceRequestRules(facts, scopes, checkedPath);
    const outcome = await resolveCredential({
      action: "ext_authz",
      gateway,
      subject: caller.subject,
      subjectToken: caller.subjectToken,
      actor: facts.actor,
      provider,
      scopes: caller.scopes,
      context: caller.context,
      requestId,
      auditExtra: { method, pathTemplate },
    });
    if (outcome.kind === "elicitation") return consentRequiredResponse(outcome, provider, requestStateBinding({ gateway, subject: caller.subject, actor: facts.actor, provider, scopes: caller.scopes, digest: undefined }));
    const header = injectionHeader(provider, outcome.credential);
    return { status: 200, headers: { [header.name]: header.value, "Cache-Control": "no-store" }, body: null };
  });
}

/** The check route under Next.js (app/api/v1/ext-authz/...): the URL as Next parsed it. */
export const handleExtAuthz = extAuthzHandler();
