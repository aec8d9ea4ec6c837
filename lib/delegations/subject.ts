// The user an agent names in a delegation-mode call (no subject token: nobody is present).
// REST resolve names them by issuer + subject (`on_behalf_of`); the token endpoint (RFC 8693)
// names them by the delegation itself (subject_token = the delegation id, subject_token_type =
// DELEGATION_TOKEN_TYPE). Neither counts for anything until resolveCredential finds an active
// delegation from exactly that user to the verified agent covering the call (authorize.ts); a
// named delegation pins the check to that one.
import { appendAudit } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { trustedIssuers } from "@/lib/subject-tokens/issuers";
import type { VerifiedSubject } from "@/lib/subject-tokens/verify";

/** Frontdesk's subject_token_type for a delegation id (RFC 8693 3: token type identifiers are URIs). */
export const DELEGATION_TOKEN_TYPE = "urn:frontdesk:params:oauth:token-type:delegation";

const DELEGATION_ID = /^dlg_[A-Za-z0-9_-]{1,64}$/;

export function namedByAgent(named: { issuer: string; subject: string }): VerifiedSubject {
  if (!trustedIssuers().includes(named.issuer)) throw new AppError("invalid_subject", "on_behalf_of.issuer is not a trusted identity provider");
  return { issuer: named.issuer, subject: named.subject, email: null, groups: null, source: "delegation" };
}

export function delegationDenied(message = "No active delegation from this user covers this agent, provider and scopes"): AppError {
  return new AppError("delegation_denied", message);
}

/**
 * The delegating user of a named delegation, pinned to it. An unknown (or malformed) id is
 * refused like any other uncovered call, with the same error (an agent probing ids learns
 * nothing), and audited before the answer.
 */
export async function subjectOfDelegation(
  delegationId: string,
  call: { gatewayId: string; providerId: string; action: "resolve" | "token_exchange"; requestId: string; authMethod: string },
): Promise<VerifiedSubject> {
  const db = await getDb();
  const row = DELEGATION_ID.test(delegationId)
    ? await db.delegation.findUnique({ where: { id: delegationId }, select: { id: true, user: { select: { issuer: true, subject: true } } } })
    : null;
  if (!row) {
    await appendAudit({
      actorType: "gateway",
      actorId: call.gatewayId,
      gatewayId: call.gatewayId,
      providerId: call.providerId,
      action: call.action,
      decision: "deny",
      reason: "delegation:no_delegation",
      requestId: call.requestId,
      // Only the shape is kept: a guessed id is not worth storing verbatim.
      context: { mode: "delegation", delegationIdWellFormed: DELEGATION_ID.test(delegationId), authMethod: call.authMethod },
    });
    throw delegationDenied();
  }
  return { issuer: row.user.issuer, subject: row.user.subject, email: null, groups: null, source: "delegation", delegationId: row.id };
}
