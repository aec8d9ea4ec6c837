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
import { postToReceiver, type AttemptBudget } from "./post";

export const SET_JWT_TYPE = "secevent+jwt";
export const SET_CONTENT_TYPE = "application/secevent+jwt";
export const CAEP_CREDENTIAL_CHANGE = "https://schemas.openid.net/secevent/caep/event-type/credential-change";

type Change = OutboxPayload<"gateway.credential_change">;

/**
 * Gateways that may hold a token of this grant, read from the consent records rather than from
 * history: a credential leaves only after checkRequesterConsent found the requester approved
 * (by the user, a migrated approval, or a policy pre-approval recorded before the token leaves)
 * or a delegation authorized the call. So:
 * - every RequesterApproval of the grant, withdrawn ones too (a withdrawn requester was handed
 *   tokens before it was withdrawn, and revokeGrant withdraws them all in the same transaction);
 * - the gateway a delegation of the grant is pinned to;
 * - for a delegation usable through any gateway: the gateways its allowed uses went through,
 *   from the audit log since its first use (the only record of that): the (at, seq) index finds
 *   where that time starts in the chain, the (userId, seq) index reads this user's rows from there;
 * - the grant's last user (also covers a use whose approval row is not committed yet).
 * This covers every path that hands a credential (token exchange, resolve, ext_authz, the egress
 * proxy) by construction, where the audit-based list named only some actions; it is one indexed
 * statement per revocation instead of a scan of the user's whole audit history, and it does not
 * lose recipients when old audit events are archived. (`at` is UTC wall time, timestamp without
 * time zone, like every stored DateTime; the interval arithmetic stays in that type.)
 */
export async function findGatewaysHandedGrant(tx: AuditTx, grant: { id: string; userId: string }): Promise<string[]> {
  const rows = await tx.$queryRaw<{ gatewayId: string }[]>`
    SELECT "gatewayId" FROM "RequesterApproval" WHERE "grantId" = ${grant.id}
    UNION
    SELECT "gatewayId" FROM "Delegation" WHERE "grantId" = ${grant.id} AND "gatewayId" IS NOT NULL
    UNION
    SELECT "lastUsedGatewayId" FROM "Grant" WHERE id = ${grant.id} AND "lastUsedGatewayId" IS NOT NULL
    UNION
    SELECT a."gatewayId"
      FROM (SELECT array_agg(id) AS ids, min("firstUsedAt") - interval '1 minute' AS since
              FROM "Delegation" WHERE "grantId" = ${grant.id} AND "gatewayId" IS NULL AND "firstUsedAt" IS NOT NULL) d
      JOIN "AuditEvent" a
        ON a."userId" = ${grant.userId}
       AND a.seq >= (SELECT min(seq) FROM "AuditEvent" WHERE at >= d.since)
       AND a.decision = 'allow' AND a."gatewayId" IS NOT NULL AND a.context->>'delegationId' = ANY(d.ids)`;
  return rows.map((r) => r.gatewayId);
}

/**
 * In the transaction that revokes the grant (or marks it needs_reauth): one SET per gateway.
 * `onlyGateways` narrows it to those (a requester withdrawn from the connection: only its gateway
 * has to drop what it cached; the others keep their consent).
 */
export async function enqueueCredentialChange(
  tx: AuditTx,
  grant: { id: string; userId: string; providerId: string },
  change: Pick<Change, "changeType" | "initiatingEntity" | "reason">,
  opts: { onlyGateways?: string[] } = {},
): Promise<number> {
  const gatewayIds = opts.onlyGateways ?? (await findGatewaysHandedGrant(tx, grant));
  if (gatewayIds.length === 0) return 0;
  // One round trip (this runs inside the revoking transaction, which holds the grant's lock).
  const [found] = await tx.$queryRaw<{ issuer: string; subject: string; slug: string; resourceUrls: string[]; gateways: string[] }[]>`
    SELECT u.issuer, u.subject, p.slug, p."resourceUrls",
           ARRAY(SELECT g.id FROM "Gateway" g WHERE g.id = ANY(${gatewayIds}) AND g.status = 'active' AND g."webhookUrl" IS NOT NULL ORDER BY g.id) AS gateways
      FROM "User" u, "Provider" p WHERE u.id = ${grant.userId} AND p.id = ${grant.providerId}`;
  if (!found) return 0;
  const at = Math.floor(Date.now() / 1000);
  await enqueueOutboxEvents(
    tx,
    found.gateways.map((gatewayId) => ({
      kind: "gateway.credential_change" as const,
      target: gatewayId,
      payload: {
        grantId: grant.id,
        userIssuer: found.issuer,
        userSubject: found.subject,
        providerSlug: found.slug,
        resources: found.resourceUrls,
        ...change,
        at,
      },
    })),
  );
  return found.gateways.length;
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
  opts: AttemptBudget,
): Promise<"delivered" | "skipped:no_webhook"> {
  const db = await getDb();
  const gateway = await db.gateway.findUnique({ where: { id: event.target }, select: { webhookUrl: true, status: true } });
  if (!gateway?.webhookUrl || gateway.status !== "active") return "skipped:no_webhook";
  const set = await signFrontdeskJwt(credentialChangeClaims(event.payload), { audience: event.target, typ: SET_JWT_TYPE, jti: event.id });
  await postToReceiver(gateway.webhookUrl, set, SET_CONTENT_TYPE, opts);
  return "delivered";
}
