// Revocation pushed to gateways (interface H): when a grant is revoked or needs re-authorization,
// every gateway that was handed one of its tokens gets an RFC 8417 Security Event Token at its
// webhook URL, so it can drop what it cached instead of using the token until its cache expires
// (up to TOKEN_MAX_EXPIRES_IN). The event type is the OpenID CAEP 1.0 credential-change event;
// the subject is the user in RFC 9493 `iss_sub` form (Shared Signals 1.0 `sub_id`), and a
// `frontdesk_grant` claim names the grant, provider and upstream resources. As Shared Signals
// requires, there is no `sub` and no `exp`: receivers bound a SET's age by `iat` and remember its
// `jti` (the outbox event id, the same on every retry). Delivery follows RFC 8935 (push):
// `application/secevent+jwt`, 202 (any 2xx) on success; 409 means the receiver already has it.
import type { AuditTx } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { signFrontdeskJwt } from "@/lib/signing/sign";
import { enqueueOutboxEvents } from "./enqueue";
import type { OutboxPayload } from "./kinds";
import { postToReceiver } from "./post";

export const SET_JWT_TYPE = "secevent+jwt";
export const SET_CONTENT_TYPE = "application/secevent+jwt";
export const CAEP_CREDENTIAL_CHANGE = "https://schemas.openid.net/secevent/caep/event-type/credential-change";

type Change = OutboxPayload<"gateway.credential_change">;

/**
 * Gateways that were handed a credential of this grant: the allowed resolves and token exchanges
 * in the audit log (written before each credential left, so none is missed; the index on
 * (userId, seq) keeps this to the user's own rows) plus the grant's last user.
 */
export async function findGatewaysHandedGrant(tx: AuditTx, grant: { id: string; userId: string; providerId: string }): Promise<string[]> {
  const rows = await tx.$queryRaw<{ gatewayId: string }[]>`
    SELECT DISTINCT "gatewayId" FROM "AuditEvent"
     WHERE "userId" = ${grant.userId} AND "providerId" = ${grant.providerId} AND decision = 'allow'
       AND action IN ('resolve', 'token_exchange') AND "gatewayId" IS NOT NULL AND context->>'grantId' = ${grant.id}`;
  const last = await tx.grant.findUnique({ where: { id: grant.id }, select: { lastUsedGatewayId: true } });
  return [...new Set([...rows.map((r) => r.gatewayId), ...(last?.lastUsedGatewayId ? [last.lastUsedGatewayId] : [])])];
}

/** In the transaction that revokes the grant (or marks it needs_reauth): one SET per gateway. */
export async function enqueueCredentialChange(
  tx: AuditTx,
  grant: { id: string; userId: string; providerId: string },
  change: Pick<Change, "changeType" | "initiatingEntity" | "reason">,
): Promise<number> {
  const gatewayIds = await findGatewaysHandedGrant(tx, grant);
  if (gatewayIds.length === 0) return 0;
  const [user, provider, gateways] = await Promise.all([
    tx.user.findUnique({ where: { id: grant.userId }, select: { issuer: true, subject: true } }),
    tx.provider.findUnique({ where: { id: grant.providerId }, select: { slug: true, resourceUrls: true } }),
    tx.gateway.findMany({ where: { id: { in: gatewayIds }, status: "active", webhookUrl: { not: null } }, select: { id: true } }),
  ]);
  if (!user || !provider) return 0;
  const at = Math.floor(Date.now() / 1000);
  await enqueueOutboxEvents(
    tx,
    gateways.map((g) => ({
      kind: "gateway.credential_change" as const,
      target: g.id,
      payload: {
        grantId: grant.id,
        userIssuer: user.issuer,
        userSubject: user.subject,
        providerSlug: provider.slug,
        resources: provider.resourceUrls,
        ...change,
        at,
      },
    })),
  );
  return gateways.length;
}

/** The SET's claims (iss, aud, iat and jti are added when it is signed). */
export function credentialChangeClaims(change: Change) {
  return {
    sub_id: { format: "iss_sub", iss: change.userIssuer, sub: change.userSubject },
    events: {
      [CAEP_CREDENTIAL_CHANGE]: {
        credential_type: "upstream-credential",
        change_type: change.changeType,
        initiating_entity: change.initiatingEntity,
        reason_admin: { en: change.reason },
        event_timestamp: change.at,
      },
    },
    frontdesk_grant: { id: change.grantId, provider: change.providerSlug, resources: change.resources },
  };
}

export async function deliverCredentialChange(
  event: { id: string; target: string; payload: Change },
  opts: { timeoutMs: number },
): Promise<"delivered" | "skipped:no_webhook"> {
  const db = await getDb();
  const gateway = await db.gateway.findUnique({ where: { id: event.target }, select: { webhookUrl: true, status: true } });
  if (!gateway?.webhookUrl || gateway.status !== "active") return "skipped:no_webhook";
  const set = await signFrontdeskJwt(credentialChangeClaims(event.payload), { audience: event.target, typ: SET_JWT_TYPE, jti: event.id });
  await postToReceiver(gateway.webhookUrl, set, SET_CONTENT_TYPE, opts.timeoutMs);
  return "delivered";
}
