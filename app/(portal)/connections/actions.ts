"use server";
// The signed-in user's own connections (POSTs, CSRF-guarded, confirmed in the UI): revoke a
// connection, withdraw one requester from it, create or revoke a standing delegation of it.
import { redirect } from "next/navigation";
import { z } from "zod";
import { withdrawApproval } from "@/lib/consent/approvals";
import { revokeDelegation } from "@/lib/delegations/revoke";
import { isAppError } from "@/lib/errors";
import { delegateFromConnections } from "@/lib/portal/connection-delegation";
import { revokeGrant } from "@/lib/grants/revoke";
import { submittedFields } from "@/lib/portal/form-fields";
import type { NoticeCode } from "@/lib/portal/notices";
import { requirePortalPost } from "../portal-post";

const PAGE = "/connections";
const formToken = z.string().max(100);
const revokeForm = z.object({ grantId: z.string().regex(/^grt_[A-Za-z0-9_-]{1,64}$/), formToken }).strict();
const withdrawForm = z.object({ approvalId: z.string().regex(/^apr_[A-Za-z0-9_-]{1,64}$/), formToken }).strict();
const delegationForm = z.object({ delegationId: z.string().regex(/^dlg_[A-Za-z0-9_-]{1,64}$/), formToken }).strict();
const createDelegationForm = z
  .object({
    grantId: z.string().regex(/^grt_[A-Za-z0-9_-]{1,64}$/),
    agentId: z.string().regex(/^agt_[A-Za-z0-9_-]{1,64}$/),
    /** "" = through any gateway policy allows. */
    gatewayId: z.union([z.literal(""), z.string().regex(/^gw_[A-Za-z0-9_-]{1,64}$/)]),
    /** Checkboxes: absent (none ticked), one value, or several. */
    scopes: z.union([z.string().max(256), z.array(z.string().max(256)).max(100)]).optional(),
    days: z.string().max(8),
    formToken,
  })
  .strict();

/** Which notice tells the user what to change when lib/delegations refuses (its details.field). */
const delegationRefusal: Record<string, NoticeCode> = {
  days: "delegation_invalid",
  scopes: "delegation_no_scopes",
};

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

export async function createDelegationAction(formData: unknown): Promise<void> {
  const parsed = createDelegationForm.safeParse(submittedFields(formData));
  // A form that does not parse (a crafted call) is delegation_not_possible, like an agent never offered.
  await change(parsed, "create_delegation", "delegation_not_possible", async (userId) => {
    const data = parsed.data!;
    const scopes = data.scopes === undefined ? [] : Array.isArray(data.scopes) ? data.scopes : [data.scopes];
    try {
      // Not a whole number: NaN, which lib refuses as out of bounds (the days notice).
      const days = /^\d{1,4}$/.test(data.days) ? Number(data.days) : Number.NaN;
      await delegateFromConnections({ userId, grantId: data.grantId, agentId: data.agentId, gatewayId: data.gatewayId || null, scopes, days });
    } catch (e) {
      // Days out of bounds or no permission chosen say what to change; anything else the form
      // never offered (scopes beyond the connection) is delegation_not_possible.
      if (!isAppError(e) || e.code !== "invalid_request") throw e;
      return (!e.details?.beyond && delegationRefusal[String(e.details?.field)]) || "delegation_not_possible";
    }
    return "delegation_created";
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
