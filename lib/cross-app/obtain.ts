// Cross-app access, outbound: when a user has no usable grant for an ID-JAG-capable provider,
// Frontdesk asks the enterprise IdP for an ID-JAG (draft-ietf-oauth-identity-assertion-authz-grant-03
// §4.3), redeems it at the provider (§4.4), and stores the token as the user's grant, with this
// requester approved by the IdP's decision. No browser, no click: the IdP's policy is the consent.
//
// Whose identity is presented, and when (docs/security.md "Cross-app access"): only the live
// subject token of this very call, as the gateway presented it and Frontdesk just verified it,
// and only if it is an ID token the organization's IdP issued to Frontdesk itself (its `aud`
// names OIDC_CLIENT_ID; the IdP checks that again, §4.3.1). Frontdesk stores no identity token and
// never borrows a portal session's. So a gateway can make Frontdesk obtain an ID-JAG only for a
// user whose valid ID token it holds right now: a trusted-subject gateway naming a user, an
// agent's delegation-mode call, or a token for another audience never reaches the IdP.
import { getDb } from "@/lib/db/client";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import type { Provider } from "@/lib/generated/prisma/client";
import { recordApproval } from "@/lib/consent/approvals";
import type { Requester } from "@/lib/consent/requester";
import { saveGrant } from "@/lib/grants/save";
import { missingScopes } from "@/lib/grants/sealed";
import { newId } from "@/lib/ids";
import type { VerifiedSubject } from "@/lib/subject-tokens/verify";
import { providerAuthorizationServer, redeemIdJag } from "./redeem-id-jag";
import { requestIdJag } from "./request-id-jag";

export type CrossAppOutcome =
  /** Cross-app access does not apply to this call; the caller goes on as without it. */
  | { kind: "not_applicable"; reason: string }
  | { kind: "obtained"; grantId: string; scopes: string[]; approvalId: string; decision: CrossAppDecision }
  | { kind: "refused"; decision: CrossAppDecision };

/** What the audit row records about the attempt (no token, no assertion). */
export interface CrossAppDecision {
  idp: string;
  audience: string;
  /** The IdP's answer: issued, or its error code; then the provider's, when asked. */
  idpDecision: string;
  providerDecision?: string;
  description?: string | null;
  scopes: string[];
}

/**
 * The IdP or the provider could not be reached (5xx, timeout, refused connection, unreadable
 * answer): retryable, 503 with Retry-After. Never a refusal and never a fallback to URL consent,
 * since neither party has decided anything; the decision says which party was down, for the audit row.
 */
export class CrossAppUnavailable extends AppError {
  constructor(
    readonly decision: CrossAppDecision,
    cause: AppError,
  ) {
    super("upstream_unavailable", cause.message);
  }
}

/** Runs one step of the attempt; an outage of it becomes a CrossAppUnavailable naming that party. */
async function step<T>(work: () => Promise<T>, down: () => CrossAppDecision): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof AppError && e.code === "upstream_unavailable") throw new CrossAppUnavailable(down(), e);
    throw e;
  }
}

export async function obtainByCrossAppAccess(input: {
  provider: Provider;
  subject: VerifiedSubject;
  /** The subject token presented in this call (absent for trusted-subject and delegation calls). */
  subjectToken: string | undefined;
  requester: Requester;
  /** Everything the grant should hold afterwards. */
  scopes: string[];
}): Promise<CrossAppOutcome> {
  const { provider, subject } = input;
  const e = env();
  if (provider.crossAppAccess === "off") return { kind: "not_applicable", reason: "off" };
  // Only a user's own, live assertion may be turned into an ID-JAG (see the header).
  if (subject.source !== "subject_token" || !input.subjectToken) return { kind: "not_applicable", reason: "no_user_assertion" };
  if (!e.OIDC_ISSUER || subject.issuer !== e.OIDC_ISSUER) return { kind: "not_applicable", reason: "other_issuer" };
  if (!e.OIDC_CLIENT_ID || !subject.audiences?.includes(e.OIDC_CLIENT_ID)) return { kind: "not_applicable", reason: "subject_token_not_for_frontdesk" };
  const as = await step(
    () => providerAuthorizationServer(provider),
    () => ({ idp: e.OIDC_ISSUER!, audience: provider.issuer ?? provider.slug, idpDecision: "not_asked", providerDecision: "unavailable", scopes: input.scopes }),
  );
  if (provider.crossAppAccess === "when_advertised" && !as.advertisesIdJag) return { kind: "not_applicable", reason: "not_advertised" };

  const base = { idp: e.OIDC_ISSUER, audience: as.issuer };
  const idp = await step(
    () => requestIdJag({ idToken: input.subjectToken!, subject, audience: as.issuer, resource: provider.resourceUrls[0], scopes: input.scopes }),
    () => ({ ...base, idpDecision: "unavailable", scopes: input.scopes }),
  );
  if (idp.kind === "refused") return { kind: "refused", decision: { ...base, idpDecision: idp.error, description: idp.description, scopes: input.scopes } };
  // §4.3.1: the IdP MAY grant fewer scopes; fewer than asked is a refusal of the rest.
  if (missingScopes(idp.scopes, input.scopes).length > 0) {
    return { kind: "refused", decision: { ...base, idpDecision: "scope_narrowed", description: "The identity provider granted fewer scopes than asked", scopes: idp.scopes } };
  }
  const token = await step(
    () => redeemIdJag(provider, idp.idJag),
    () => ({ ...base, idpDecision: "issued", providerDecision: "unavailable", scopes: idp.scopes }),
  );
  if (token.kind === "refused") {
    return { kind: "refused", decision: { ...base, idpDecision: "issued", providerDecision: token.error, description: token.description, scopes: idp.scopes } };
  }
  const granted = token.scopes ?? idp.scopes;
  if (missingScopes(granted, input.scopes).length > 0) {
    return { kind: "refused", decision: { ...base, idpDecision: "issued", providerDecision: "scope_narrowed", description: `${provider.displayName} granted fewer scopes than asked`, scopes: granted } };
  }

  const db = await getDb();
  const { grantId, approvalId } = await db.$transaction(
    async (tx) => {
      // A user who never opened the portal has no row yet; the IdP has just vouched for them.
      const user = await tx.user.upsert({
        where: { issuer_subject: { issuer: subject.issuer, subject: subject.subject } },
        create: { id: newId("usr"), issuer: subject.issuer, subject: subject.subject, email: subject.email, groups: subject.groups ?? [] },
        update: {},
        select: { id: true },
      });
      const saved = await saveGrant({
        tx,
        userId: user.id,
        providerId: provider.id,
        scopes: granted,
        replaceScopes: true,
        via: "cross_app_access",
        credential: { kind: "oauth", accessToken: token.accessToken, refreshToken: token.refreshToken, expiresAt: token.expiresAt, tokenType: token.tokenType },
      });
      const approval = await recordApproval(tx, { grantId: saved.grantId, requester: input.requester, approvedBy: "cross_app_access", approvedById: e.OIDC_ISSUER! });
      return { grantId: saved.grantId, approvalId: approval.id };
    },
    { timeout: 15_000 },
  );
  return { kind: "obtained", grantId, scopes: granted, approvalId, decision: { ...base, idpDecision: "issued", providerDecision: "issued", scopes: granted } };
}
