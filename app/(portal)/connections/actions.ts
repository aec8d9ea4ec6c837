"use server";
// Revoke one of the signed-in user's own connections (POST, CSRF-guarded, confirmed in the UI).
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { z } from "zod";
import { getViewer, signInPath } from "@/lib/auth/session";
import { isAppError } from "@/lib/errors";
import { revokeGrant } from "@/lib/grants/revoke";
import { submittedFields } from "@/lib/portal/form-fields";
import { verifyPortalPost } from "@/lib/portal/form-guard";
import { portalActionAllowed } from "@/lib/rate-limit/limits";

const revokeForm = z.object({ grantId: z.string().regex(/^grt_[A-Za-z0-9_-]{1,64}$/), formToken: z.string().max(100) }).strict();

export async function revokeAction(formData: unknown): Promise<void> {
  // Not a form (a crafted call with other arguments) reads as not found, like a bad id.
  const parsed = revokeForm.safeParse(submittedFields(formData));
  if (!parsed.success) redirect("/connections?notice=revoke_not_found");
  const viewer = await getViewer();
  if (!viewer) redirect(signInPath("/connections"));
  const h = await headers();
  try {
    verifyPortalPost({
      origin: h.get("origin"),
      secFetchSite: h.get("sec-fetch-site"),
      formToken: parsed.data.formToken,
      sessionHash: viewer.sessionHash,
      purpose: "revoke",
    });
  } catch (e) {
    if (isAppError(e) && e.code === "forbidden") redirect("/connections?notice=forbidden");
    throw e;
  }
  if (!(await portalActionAllowed(viewer.userId, viewer.sessionHash))) redirect("/connections?notice=rate_limited");
  let notice: string;
  try {
    // expectedUserId: a user can only ever revoke their own connections.
    const { upstreamRevoked } = await revokeGrant(parsed.data.grantId, { type: "user", id: viewer.userId }, { expectedUserId: viewer.userId });
    notice = upstreamRevoked ? "revoked_upstream" : "revoked";
  } catch (e) {
    if (isAppError(e) && e.code === "not_found") notice = "revoke_not_found";
    else throw e;
  }
  redirect(`/connections?notice=${notice}`);
}
