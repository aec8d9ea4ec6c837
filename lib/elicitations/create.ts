// Creating an elicitation: bound to the verified user's (issuer, subject), a gateway, a provider,
// scopes and context. The id is the only thing the URL carries; it has 256 random bits.
import { appendAuditMany, appendAuditWithRows, type AuditEventInput, auditSubjectRef } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { env, publicUrl } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { newId } from "@/lib/ids";
import { recordElicitation } from "@/lib/observability/metrics";
import { limitElicitationCreation } from "@/lib/rate-limit/limits";
import { isChatEnabled } from "@/lib/notify/chat";
import { isEmailEnabled } from "@/lib/notify/email";
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
  /** The user row as the caller already read it (null: none yet); spares the lookup when no notice goes out. */
  knownUser?: { id: string } | null;
  /** Further audit events about this request (given the new id), committed in the same batch. */
  alsoAudit?: (elicitationId: string) => AuditEventInput[];
}

// The row travels in the audit batch's transaction as jsonb (lib/audit/group-commit.ts,
// CompanionRows). Times are ISO strings ending in Z cast to timestamp(3): the UTC wall time, as
// Prisma stores DateTime. A row that cannot be inserted (its gateway or provider just deleted)
// fails that batch's callers with a retryable 503.
const ELICITATION_INSERT_SQL = `
  INSERT INTO "Elicitation" (id, "userIssuer", "userSubject", "gatewayId", "agentId", "providerId", scopes, context, "expiresAt", "createdAt")
  SELECT id, "userIssuer", "userSubject", "gatewayId", "agentId", "providerId", ARRAY(SELECT jsonb_array_elements_text(scopes)), context, "expiresAt", "createdAt"
  FROM jsonb_to_recordset($1::jsonb) AS r(id text, "userIssuer" text, "userSubject" text, "gatewayId" text, "agentId" text, "providerId" text,
       scopes jsonb, context jsonb, "expiresAt" timestamp(3), "createdAt" timestamp(3))`;

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
  const createdEvent = (userId: string | null): AuditEventInput => ({
    actorType: "gateway",
    actorId: input.gatewayId,
    userId: userId ?? auditSubjectRef(input.userIssuer, input.userSubject),
    gatewayId: input.gatewayId,
    agentId: input.agentId ?? null,
    providerId: input.providerId,
    action: "elicitation.created",
    decision: "info",
    context: { elicitationId: id, scopes, ...context.data },
    requestId: input.requestId ?? null,
  });
  const also = input.alsoAudit?.(id) ?? [];
  const fields = {
    id,
    userIssuer: input.userIssuer,
    userSubject: input.userSubject,
    gatewayId: input.gatewayId,
    agentId: input.agentId ?? null,
    providerId: input.providerId,
    scopes,
    context: context.data,
  };
  if (input.knownUser !== undefined && !isEmailEnabled() && !isChatEnabled()) {
    // The gateway hot path: no notice to enqueue and the user already known, so the row and its
    // audit events join the next group-commit batch instead of a transaction of their own.
    const row = { ...fields, expiresAt: expiresAt.toISOString(), createdAt: new Date().toISOString() };
    await appendAuditWithRows([createdEvent(input.knownUser?.id ?? null), ...also], [{ sql: ELICITATION_INSERT_SQL, rows: [row] }]);
    recordElicitation("created");
    return { id, expiresAt, url: elicitationUrl(id) };
  }
  const db = await getDb();
  await db.$transaction(async (tx) => {
    await tx.elicitation.create({ data: { ...fields, expiresAt } });
    const user = await tx.user.findUnique({
      where: { issuer_subject: { issuer: input.userIssuer, subject: input.userSubject } },
      select: { id: true, email: true, noticesEnabled: true },
    });
    await appendAuditMany([createdEvent(user?.id ?? null), ...also], tx);
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
