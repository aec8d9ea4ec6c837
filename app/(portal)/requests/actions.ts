"use server";
// Turn out-of-band notices (e-mail, chat) about waiting requests on or off, for the signed-in user only.
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { z } from "zod";
import { getViewer, signInPath } from "@/lib/auth/session";
import { isAppError } from "@/lib/errors";
import { setNoticesEnabled } from "@/lib/notify/preferences";
import { submittedFields } from "@/lib/portal/form-fields";
import { verifyPortalPost } from "@/lib/portal/form-guard";
import { portalActionAllowed } from "@/lib/rate-limit/limits";

const noticesForm = z.object({ enabled: z.enum(["true", "false"]), formToken: z.string().max(100) }).strict();

export async function setNoticesAction(formData: unknown): Promise<void> {
  const parsed = noticesForm.safeParse(submittedFields(formData));
  if (!parsed.success) redirect("/requests?notice=forbidden");
  const viewer = await getViewer();
  if (!viewer) redirect(signInPath("/requests"));
  const h = await headers();
  try {
    verifyPortalPost({
      origin: h.get("origin"),
      secFetchSite: h.get("sec-fetch-site"),
      formToken: parsed.data.formToken,
      sessionHash: viewer.sessionHash,
      purpose: "notices",
    });
  } catch (e) {
    if (isAppError(e) && e.code === "forbidden") redirect("/requests?notice=forbidden");
    throw e;
  }
  if (!(await portalActionAllowed(viewer.userId, viewer.sessionHash))) redirect("/requests?notice=rate_limited");
  const enabled = parsed.data.enabled === "true";
  await setNoticesEnabled(viewer.userId, enabled);
  redirect(`/requests?notice=${enabled ? "notices_on" : "notices_off"}`);
}
