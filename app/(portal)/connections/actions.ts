"use server";
// The signed-in user's own connections (POSTs, CSRF-guarded, confirmed in the UI): revoke a
// connection, withdraw one requester from it, revoke a standing delegation of it.
import { redirect } from "next/navigation";
import { z } from "zod";
import { withdrawApproval } from "@/lib/consent/approvals";
import { revokeDelegation } from "@/lib/delegations/revoke";
import { isAppError } from "@/lib/errors";
import { revokeGrant } from "@/lib/grants/revoke";
import { submittedFields } from "@/lib/portal/form-fields";
import type { NoticeCode } from "@/lib/portal/notices";
import { requirePortalPost } from "../portal-post";

const PAGE = "/connections";
const formToken = z.string().max(100);
const revokeForm = z.object({ grantId: z.string().regex(/^grt_[A-Za-z0-9_-]{1,64}$/), formToken }).strict();
const withdrawForm = z.object({ approvalId: z.string().regex(/^apr_[A-Za-z0-9_-]{1,64}$/), formToken }).strict();
const delegationForm = z.object({ delegationId: z.string().regex(/^dlg_[A-Za-z0-9_-]{1,64}$/), formToken }).strict();

/**
 * Runs one change for the signed-in user, after the shared guard. A form that did not parse (a
 * crafted call) and `not_found`/`conflict` (not theirs, already gone) both become `notFound`.
 */
async function change(
  parsed: { success: true; data: { formToken: string } } | { success: false },
  purpose: string,
  notFound: NoticeCode,
  run: (userId: string) => Promise<NoticeCode>,
): Promise<never> {
  if (!parsed.success) redirect(`${PAGE}?notice=${notFound}`);
  const viewer = await requirePortalPost({ page: PAGE, purpose, formToken: parsed.data.formToken });
  let notice: NoticeCode;
  try {
    notice = await run(viewer.userId);
  } catch (e) {
    if (isAppError(e) && (e.code === "not_found" || e.code === "conflict")) notice = notFound;
    else throw e;
  }
  redirect(`${PAGE}?notice=${notice}`);
}

export async function revokeAction(formData: unknown): Promise<void> {
  const parsed = revokeForm.safeParse(submittedFields(formData));
  await change(parsed, "revoke", "revoke_not_found", async (userId) => {
    const data = parsed.data!;
    // expectedUserId: a user can only ever change their own connections.
    const { upstreamRevoked } = await revokeGrant(data.grantId, { type: "user", id: userId }, { expectedUserId: userId });
    return upstreamRevoked ? "revoked_upstream" : "revoked";
  });
}

export async function withdrawRequesterAction(formData: unknown): Promise<void> {
  const parsed = withdrawForm.safeParse(submittedFields(formData));
  await change(parsed, "withdraw_requester", "withdraw_not_found", async (userId) => {
    const data = parsed.data!;
    await withdrawApproval(data.approvalId, { type: "user", id: userId }, { expectedUserId: userId });
    return "requester_withdrawn";
  });
}

export async function revokeDelegationAction(formData: unknown): Promise<void> {
  const parsed = delegationForm.safeParse(submittedFields(formData));
  await change(parsed, "revoke_delegation", "delegation_not_found", async (userId) => {
    const data = parsed.data!;
    await revokeDelegation(data.delegationId, { type: "user", id: userId }, { expectedUserId: userId });
    return "delegation_revoked";
  });
}
