// GET /api/oauth/callback/<provider slug> - upstream OAuth redirect target. Thin: reads the
// session cookie, hands the query to lib/portal, and redirects to a page that explains the result.
import { cookies } from "next/headers";
import { sessionCookieName } from "@/lib/auth/cookies";
import { findViewerBySessionToken } from "@/lib/auth/session";
import { publicUrl } from "@/lib/env";
import { RETRY_AFTER_SECONDS, toAppError } from "@/lib/errors";
import { clientAddress } from "@/lib/http-edge/client-address";
import { log } from "@/lib/log";
import { completeUpstreamAuthorization } from "@/lib/portal/complete-authorization";

export const dynamic = "force-dynamic";

function redirectTo(path: string): Response {
  return new Response(null, { status: 303, headers: { Location: `${publicUrl()}${path}`, "Cache-Control": "no-store" } });
}

export async function GET(request: Request, { params }: { params: Promise<{ provider: string }> }) {
  const { provider } = await params;
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(provider)) return redirectTo("/oauth/error?reason=invalid_state");
  const query = new URL(request.url).searchParams;
  try {
    const viewer = await findViewerBySessionToken((await cookies()).get(sessionCookieName())?.value);
    const result = await completeUpstreamAuthorization({ providerSlug: provider, query, viewer, sourceAddress: clientAddress(request.headers) });
    switch (result.outcome) {
      case "completed":
        return redirectTo(`/connect/${result.elicitationId}`);
      case "settled":
      case "retry":
        return redirectTo(`/connect/${result.elicitationId}?notice=${result.notice}`);
      case "rejected":
        return redirectTo(`/oauth/error?reason=${result.reason}`);
    }
  } catch (e) {
    // A database outage is a retryable 503; anything else a 500 without internals.
    const unavailable = toAppError(e).code === "service_unavailable";
    log.error("upstream callback failed", { provider, error: e instanceof Error ? e.name : "unknown", unavailable });
    return new Response("The connection could not be completed. Nothing was stored; please try again.", {
      status: unavailable ? 503 : 500,
      headers: {
        "Content-Type": "text/plain; charset=utf-8",
        "Cache-Control": "no-store",
        ...(unavailable ? { "Retry-After": String(RETRY_AFTER_SECONDS) } : {}),
      },
    });
  }
}
