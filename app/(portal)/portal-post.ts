// What every portal server action checks after parsing its form: a signed-in viewer, the CSRF
// guard (same origin + a form token bound to this session and purpose) and the per-user and
// per-session rate limit. Each refusal goes back to the action's page with a notice.
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { getViewer, signInPath, type Viewer } from "@/lib/auth/session";
import { isAppError } from "@/lib/errors";
import { log } from "@/lib/log";
import { verifyPortalPost } from "@/lib/portal/form-guard";
import { portalActionAllowed } from "@/lib/rate-limit/limits";

/** `page` is the action's own path (no query); `purpose` is the form token's purpose. */
export async function requirePortalPost(input: { page: string; purpose: string; formToken: string }): Promise<Viewer> {
  const viewer = await getViewer();
  if (!viewer) redirect(signInPath(input.page));
  const h = await headers();
  try {
    verifyPortalPost({
      origin: h.get("origin"),
      secFetchSite: h.get("sec-fetch-site"),
      formToken: input.formToken,
      sessionHash: viewer.sessionHash,
      purpose: input.purpose,
    });
  } catch (e) {
    if (isAppError(e) && e.code === "forbidden") {
      log.warn("portal form refused", { reason: e.message, userId: viewer.userId });
      redirect(`${input.page}?notice=forbidden`);
    }
    throw e;
  }
  if (!(await portalActionAllowed(viewer.userId, viewer.sessionHash))) redirect(`${input.page}?notice=rate_limited`);
  return viewer;
}
