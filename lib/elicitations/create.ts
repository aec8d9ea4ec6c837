// Creating an elicitation: bound to the verified user's (issuer, subject), a gateway, a provider,
// scopes and context. The id is the only thing the URL carries; it has 256 random bits.
import { appendAudit, auditSubjectRef } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { env, publicUrl } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { newId } from "@/lib/ids";
import { recordElicitation } from "@/lib/observability/metrics";
import { limitElicitationCreation } from "@/lib/rate-limit/limits";
import { enqueueElicitationNotices } from "@/lib/notify/enqueue";
import { wakeOutbox } from "@/lib/outbox/wake";
import { elicitationContextSchema, type ElicitationContext } from "./context";

export interface CreateElicitationInput {
  userIssuer: string;
  userSubject: string;
  gatewayId: string;
  /** The verified agent asking (actor token); the context's agentId is only what the gateway claims. */
  agentId?: string | null;
  providerId: string;
  scopes: string[];
  context: ElicitationContext;
  requestId?: string;
  /** The e-mail claim of the verified subject token: where to send a notice to a user who never signed in. */
  userEmail?: string | null;
}

export function elicitationUrl(id: string): string {
  return `${publicUrl()}/connect/${id}`;
}

export async function createElicitation(input: CreateElicitationInput): Promise<{ id: string; expiresAt: Date; url: string }> {
  const context = elicitationContextSchema.safeParse(input.context);
  if (!context.success) throw new AppError("invalid_request", "invalid elicitation context");
  if (!input.userIssuer || !input.userSubject) throw new AppError("invalid_request", "an elicitation needs a verified user");
  // Each elicitation is a link a person is asked to open: bounded per user (all gateways, all instances).
  await limitElicitationCreation(auditSubjectRef(input.userIssuer, input.userSubject));
  const id = newId("eli", 32);
  const expiresAt = new Date(Date.now() + env().ELICITATION_TTL_SECONDS * 1000);
  const scopes = [...new Set(input.scopes)];
  const db = await getDb();
  await db.$transaction(async (tx) => {
    await tx.elicitation.create({
      data: {
        id,
        userIssuer: input.userIssuer,
        userSubject: input.userSubject,
        gatewayId: input.gatewayId,
        agentId: input.agentId ?? null,
        providerId: input.providerId,
        scopes,
        context: context.data,
        expiresAt,
      },
    });
    const user = await tx.user.findUnique({
      where: { issuer_subject: { issuer: input.userIssuer, subject: input.userSubject } },
      select: { id: true, email: true, noticesEnabled: true },
    });
    await appendAudit(
      {
        actorType: "gateway",
        actorId: input.gatewayId,
        userId: user?.id ?? auditSubjectRef(input.userIssuer, input.userSubject),
        gatewayId: input.gatewayId,
        agentId: input.agentId ?? null,
        providerId: input.providerId,
        action: "elicitation.created",
        decision: "info",
        context: { elicitationId: id, scopes, ...context.data },
        requestId: input.requestId ?? null,
      },
      tx,
    );
    await enqueueElicitationNotices(tx, {
      elicitationId: id,
      user,
      emailHint: input.userEmail,
      target: user?.id ?? auditSubjectRef(input.userIssuer, input.userSubject),
    });
  });
  recordElicitation("created");
  wakeOutbox();
  return { id, expiresAt, url: elicitationUrl(id) };
}
