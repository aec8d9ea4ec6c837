// In the transaction that creates an elicitation: one e-mail and/or one chat notice for it,
// unless the user turned notices off. Only creation calls this (a gateway retrying the same call
// reuses the pending elicitation and sends nothing new), so there is at most one notice of each
// kind per elicitation; the outbox delivers each once across instances.
import type { AuditTx } from "@/lib/audit/append";
import { enqueueOutboxEvents, type NewOutboxEvent } from "@/lib/outbox/enqueue";
import { isChatEnabled } from "./chat";
import { isEmailEnabled } from "./email";

export async function enqueueElicitationNotices(
  tx: AuditTx,
  input: {
    elicitationId: string;
    /** The Frontdesk user, when they have signed in to the portal before. */
    user: { id: string; email: string | null; noticesEnabled: boolean } | null;
    /** For a user who never signed in: the address from their verified subject token. */
    emailHint?: string | null;
    target: string;
  },
): Promise<void> {
  if (input.user && !input.user.noticesEnabled) return;
  const events: NewOutboxEvent[] = [];
  const to = input.user?.email ?? input.emailHint ?? null;
  if (isEmailEnabled() && to && /^[^\s@<>]+@[^\s@<>]+$/.test(to) && to.length <= 320) {
    events.push({ kind: "notice.email", target: input.target, payload: { elicitationId: input.elicitationId, to } });
  }
  if (isChatEnabled()) events.push({ kind: "notice.chat", target: input.target, payload: { elicitationId: input.elicitationId } });
  await enqueueOutboxEvents(tx, events);
}

/**
 * In the transaction that records a delegation's first use: one e-mail to its user, if e-mail is
 * configured, the user has an address and has not turned notices off (the portal's Requests page
 * shows recent first uses either way).
 */
export async function enqueueDelegationFirstUseNotice(
  tx: AuditTx,
  input: { delegationId: string; gatewayId: string; user: { id: string; email: string | null; noticesEnabled: boolean } },
): Promise<void> {
  const to = input.user.email;
  if (!input.user.noticesEnabled || !isEmailEnabled() || !to || !/^[^\s@<>]+@[^\s@<>]+$/.test(to) || to.length > 320) return;
  await enqueueOutboxEvents(tx, [{ kind: "notice.delegation_email", target: input.user.id, payload: { delegationId: input.delegationId, gatewayId: input.gatewayId, to } }]);
}
