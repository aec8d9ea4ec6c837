"use server";
// Revoke one of the signed-in user's own connections (POST, CSRF-guarded, confirmed in the UI).
import { redirect } from "next/navigation";
import { z } from "zod";
import { isAppError } from "@/lib/errors";
import { revokeGrant } from "@/lib/grants/revoke";
import { submittedFields } from "@/lib/portal/form-fields";
import { requirePortalPost } from "../portal-post";

const revokeForm = z.object({ grantId: z.string().regex(/^grt_[A-Za-z0-9_-]{1,64}$/), formToken: z.string().max(100) }).strict();

export async function revokeAction(formData: unknown): Promise<void> {
  // Not a form (a crafted call with other arguments) reads as not found, like a bad id.
  const parsed = revokeForm.safeParse(submittedFields(formData));
  if (!parsed.success) redirect("/connections?notice=revoke_not_found");
  const viewer = await requirePortalPost({ page: "/connections", purpose: "revoke", formToken: parsed.data.formToken });
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
