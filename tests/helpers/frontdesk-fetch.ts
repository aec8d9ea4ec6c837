// A fetch for in-process tests of the reference gateway: requests to Frontdesk's origin go to
// Frontdesk's own route handlers (token endpoint, elicitation status, egress proxy, JWKS, RFC 8414 metadata), everything else to
// the real network. Frontdesk then runs in the test's process, against its database.
export async function frontdeskHandlersFetch(origin: string, opts: { onTokenCall?: () => void } = {}): Promise<typeof fetch> {
  const { handleTokenRequest } = await import("@/lib/gateway-api/token-exchange");
  const { handleElicitationStatus } = await import("@/lib/gateway-api/elicitation-status");
  const { handleAuthorizationServerMetadata, handleJwks } = await import("@/lib/gateway-api/discovery");
  const { proxyHandler } = await import("@/lib/egress/proxy");
  return async (input, init) => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    if (url.origin !== origin) return fetch(req);
    if (url.pathname === "/oauth/token") {
      opts.onTokenCall?.();
      return handleTokenRequest(req);
    }
    if (url.pathname.startsWith("/api/v1/elicitations/")) return handleElicitationStatus(req);
    // The raw target, as server.ts hands it to the proxy (WHATWG parsing has already run here).
    if (url.pathname.startsWith("/api/v1/proxy/")) return proxyHandler(`${url.pathname}${url.search}`)(req);
    if (url.pathname === "/.well-known/jwks.json") return handleJwks(req);
    if (url.pathname === "/.well-known/oauth-authorization-server") return handleAuthorizationServerMetadata(req);
    return new Response("not found", { status: 404 });
  };
}
