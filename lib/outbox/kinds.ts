// The closed set of outbox event kinds and their payloads. Payloads carry ids and display text
// only: never a token, refresh token, API key or secret (tests/integration/invariant-secrets).
// They are parsed again at delivery, so a row written by an older version cannot surprise a sender.
import { z } from "zod";

const id = z.string().min(1).max(200);

export const outboxPayloadSchemas = {
  /** A gateway's elicitation settled (interface E webhook, signed JWS). */
  "gateway.elicitation_settled": z.object({ elicitationId: id }).strict(),
  /**
   * A grant the gateway was handed tokens of was revoked or needs re-authorization: an RFC 8417
   * Security Event Token (CAEP credential-change) so it can drop its cache.
   */
  "gateway.credential_change": z
    .object({
      grantId: id,
      userIssuer: z.string().min(1).max(500),
      userSubject: z.string().min(1).max(500),
      providerSlug: id,
      resources: z.array(z.string().max(2000)).max(50),
      changeType: z.enum(["revoke", "update"]),
      initiatingEntity: z.enum(["user", "admin", "system"]),
      reason: z.string().max(100),
      at: z.number().int(),
    })
    .strict(),
  /** Tell the user by e-mail that a request waits for them (one per created elicitation). */
  "notice.email": z.object({ elicitationId: id, to: z.string().min(3).max(320) }).strict(),
  /** The same, through the deployment's chat webhook. */
  "notice.chat": z.object({ elicitationId: id }).strict(),
  /** Tell the user by e-mail that an agent used their standing delegation for the first time (via gatewayId). */
  "notice.delegation_email": z.object({ delegationId: id, gatewayId: id, to: z.string().min(3).max(320) }).strict(),
} as const;

export type OutboxKind = keyof typeof outboxPayloadSchemas;
export type OutboxPayload<K extends OutboxKind> = z.infer<(typeof outboxPayloadSchemas)[K]>;

export const OUTBOX_KINDS = Object.keys(outboxPayloadSchemas) as OutboxKind[];

export function isOutboxKind(kind: string): kind is OutboxKind {
  return Object.hasOwn(outboxPayloadSchemas, kind);
}
