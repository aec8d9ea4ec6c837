"use server";
// Turn out-of-band notices (e-mail, chat) about waiting requests on or off, for the signed-in user only.
import { redirect } from "next/navigation";
import { z } from "zod";
import { setNoticesEnabled } from "@/lib/notify/preferences";
import { submittedFields } from "@/lib/portal/form-fields";
import { requirePortalPost } from "../portal-post";

const noticesForm = z.object({ enabled: z.enum(["true", "false"]), formToken: z.string().max(100) }).strict();

export async function setNoticesAction(formData: unknown): Promise<void> {
  const parsed = noticesForm.safeParse(submittedFields(formData));
  if (!parsed.success) redirect("/requests?notice=forbidden");
  const viewer = await requirePortalPost({ page: "/requests", purpose: "notices", formToken: parsed.data.formToken });
  const enabled = parsed.data.enabled === "true";
  await setNoticesEnabled(viewer.userId, enabled);
  redirect(`/requests?notice=${enabled ? "notices_on" : "notices_off"}`);
}
