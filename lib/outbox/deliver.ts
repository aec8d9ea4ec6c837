// Routes one claimed outbox event to its sender. The payload is parsed against its kind's
// schema first; an unknown kind or a malformed payload can never succeed and is given up at once.
import { deliverElicitationSettled } from "@/lib/gateways/webhook";
import { deliverChatNotice } from "@/lib/notify/chat";
import { deliverDelegationEmailNotice, deliverEmailNotice } from "@/lib/notify/email";
import { deliverCredentialChange } from "./credential-change";
import { isOutboxKind, outboxPayloadSchemas } from "./kinds";
import { DeliveryError, type AttemptBudget } from "./post";

/** "delivered", or "skipped:<why>" when there was nothing (left) to send; both end the event. */
export type DeliveryOutcome = "delivered" | `skipped:${string}`;

export async function deliverOutboxEvent(
  event: { id: string; kind: string; target: string; payload: unknown },
  opts: AttemptBudget,
): Promise<DeliveryOutcome> {
  if (!isOutboxKind(event.kind)) throw new DeliveryError("unknown_kind", true);
  const base = { id: event.id, target: event.target };
  switch (event.kind) {
    case "gateway.elicitation_settled":
      return deliverElicitationSettled({ ...base, payload: parse(event.kind, event.payload) }, opts);
    case "gateway.credential_change":
      return deliverCredentialChange({ ...base, payload: parse(event.kind, event.payload) }, opts);
    case "notice.email":
      return deliverEmailNotice({ ...base, payload: parse(event.kind, event.payload) }, opts);
    case "notice.chat":
      return deliverChatNotice({ ...base, payload: parse(event.kind, event.payload) }, opts);
    case "notice.delegation_email":
      return deliverDelegationEmailNotice({ ...base, payload: parse(event.kind, event.payload) }, opts);
  }
}

function parse<K extends keyof typeof outboxPayloadSchemas>(kind: K, payload: unknown) {
  const parsed = outboxPayloadSchemas[kind].safeParse(payload);
  if (!parsed.success) throw new DeliveryError("malformed_payload", true);
  return parsed.data as never;
}
