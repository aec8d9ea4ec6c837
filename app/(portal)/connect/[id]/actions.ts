"use server";
// Consent server actions: approve (start the upstream authorization), approve a new requester of
// an existing connection (one click), decline, API-key connect.
// Each one: strict parse, signed-in viewer, CSRF guard (Origin + form token), then lib/portal.
import { redirect } from "next/navigation";
import { z } from "zod";
import { isAppError } from "@/lib/errors";
import { approveRequester } from "@/lib/portal/approve-requester";
import { connectApiKey } from "@/lib/portal/connect-api-key";
import { declineConsent } from "@/lib/portal/decline";
import { submittedFields } from "@/lib/portal/form-fields";
import type { NoticeCode } from "@/lib/portal/notices";
import { startUpstreamAuthorization } from "@/lib/portal/start-authorization";
import { requirePortalPost } from "../../portal-post";

const consentForm = z
  .object({
    elicitationId: z.string().min(1).max(100),
    formToken: z.string().max(100),
    // "Also let this agent act for me while I am away, for N days" (lib/portal/consent-delegation.ts).
    delegate: z.literal("on").optional(),
    delegateDays: z.string().max(4).optional(),
  })
  .strict();
const apiKeyForm = consentForm.extend({ apiKey: z.string().max(4096) }).strict();

function pagePath(id: string, notice?: NoticeCode): string {
  return `/connect/${encodeURIComponent(id)}${notice ? `?notice=${notice}` : ""}`;
}

async function guard(formData: unknown, schema: typeof consentForm | typeof apiKeyForm) {
  // Not a form, a repeated field or a missing one: back to the list (no 5xx for a crafted call).
  const parsed = schema.safeParse(submittedFields(formData));
  if (!parsed.success) redirect("/connections");
  const id = parsed.data.elicitationId;
  const viewer = await requirePortalPost({ page: pagePath(id), purpose: `consent:${id}`, formToken: parsed.data.formToken });
  const { delegate, delegateDays } = parsed.data;
  // Ticked with a number of days: lib checks the bounds (and that there is a verified agent).
  const days = delegate === "on" ? (/^\d{1,4}$/.test(delegateDays ?? "") ? Number(delegateDays) : Number.NaN) : null;
  return { id, viewer, data: parsed.data, delegateDays: days };
}

/** A delegation out of bounds (or without a verified agent) changes nothing: back to the page with a notice. */
async function orDelegationNotice<T>(id: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (isAppError(e) && e.code === "invalid_request") redirect(pagePath(id, "delegation_invalid"));
    throw e;
  }
}

export async function approveAction(formData: unknown): Promise<void> {
  const { id, viewer, delegateDays } = await guard(formData, consentForm);
  let target: string;
  try {
    const result = await orDelegationNotice(id, () => startUpstreamAuthorization(id, viewer, { delegateDays }));
    target = result.ok ? result.authorizationUrl : pagePath(id);
  } catch (e) {
    if (isAppError(e) && (e.code === "upstream_unavailable" || e.code === "upstream_error")) target = pagePath(id, "upstream_unavailable");
    else throw e;
  }
  redirect(target);
}

export async function approveRequesterAction(formData: unknown): Promise<void> {
  const { id, viewer, delegateDays } = await guard(formData, consentForm);
  // needs_connect (the connection changed since the page was shown): the page now offers to connect.
  await orDelegationNotice(id, () => approveRequester(id, viewer, { delegateDays }));
  redirect(pagePath(id));
}

export async function declineAction(formData: unknown): Promise<void> {
  const { id, viewer } = await guard(formData, consentForm);
  await declineConsent(id, viewer);
  redirect(pagePath(id));
}

export async function apiKeyAction(formData: unknown): Promise<void> {
  const { id, viewer, data, delegateDays } = await guard(formData, apiKeyForm);
  const result = await orDelegationNotice(id, () => connectApiKey(id, viewer, (data as z.infer<typeof apiKeyForm>).apiKey, { delegateDays }));
  if (!result.ok && (result.reason === "invalid_key" || result.reason === "key_rejected" || result.reason === "validation_unavailable")) {
    redirect(pagePath(id, result.reason));
  }
  redirect(pagePath(id));
}
