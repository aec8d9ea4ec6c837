// Why a consent page or action is refused, what the person is told, and the audit record.
// The wording never reveals anything about someone else's request beyond the refusal itself.
import { appendAudit } from "@/lib/audit/append";
import type { Viewer } from "@/lib/auth/session";

export type RefusalReason = "malformed" | "unknown" | "wrong_user" | "expired" | "completed" | "declined" | "failed" | "provider_disabled";

export const refusalMessages: Record<RefusalReason, { title: string; body: string }> = {
  malformed: {
    title: "This link is not valid",
    body: "The address is not a Frontdesk request link. Check that you copied the whole link your agent gave you.",
  },
  unknown: {
    title: "Request not found",
    body: "There is no such request. It may have been removed, or the link may be incomplete. Ask your agent to try again.",
  },
  wrong_user: {
    title: "This request is for a different account",
    body: "You are signed in as someone other than the person this request was made for, so it cannot be shown or approved here. If it is yours, sign out and sign in with the right account.",
  },
  expired: {
    title: "This request has expired",
    body: "Requests are valid for a few minutes only. Ask your agent to try again; it will give you a new link.",
  },
  completed: {
    title: "This request was already completed",
    body: "It has been used and cannot be used again. You can return to your agent.",
  },
  declined: {
    title: "This request was declined",
    body: "It cannot be used again. If you change your mind, ask your agent to try again.",
  },
  failed: {
    title: "This request did not complete",
    body: "The connection could not be made. Ask your agent to try again for a new link.",
  },
  provider_disabled: {
    title: "This service is not available",
    body: "An administrator has disabled this service in Frontdesk. Contact your administrator.",
  },
};

/** Audits a refused attempt (page view or POST) on an elicitation. */
export async function auditRefusal(input: {
  viewer: Viewer;
  reason: RefusalReason;
  elicitationId?: string | null;
  gatewayId?: string | null;
  providerId?: string | null;
  attempt: "view" | "approve" | "decline" | "api_key" | "callback";
}): Promise<void> {
  await appendAudit({
    actorType: "user",
    actorId: input.viewer.userId,
    userId: input.viewer.userId,
    gatewayId: input.gatewayId ?? null,
    providerId: input.providerId ?? null,
    action: "elicitation.refused",
    decision: "deny",
    reason: input.reason,
    // A malformed id is attacker-controlled text: it is not recorded, only that it was malformed.
    context: { attempt: input.attempt, ...(input.reason !== "malformed" && input.elicitationId ? { elicitationId: input.elicitationId } : {}) },
  });
}
