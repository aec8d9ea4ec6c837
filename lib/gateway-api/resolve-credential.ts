// The hot path shared by token exchange (interface A) and REST resolve (interface D):
// policy -> grant -> refresh if expiring -> decrypt -> audit -> credential; or an elicitation
// when the user must (re)connect, asking only for the scopes that are missing.
// Every outcome is audited before it is returned; if the audit write fails, no credential leaves.
import type { VerifiedActor } from "@/lib/agents/actor";
import { appendAudit, type AuditEventInput } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { groupedStatement } from "@/lib/db/grouped-statement";
import { getHotPool } from "@/lib/db/hot-pool";
import { createElicitation } from "@/lib/elicitations/create";
import { elicitationMessage, toUrlElicitation, type UrlElicitation } from "@/lib/elicitations/mcp";
import { checkRequesterConsent, type StoredApproval } from "@/lib/consent/check";
import { checkDelegation, recordDelegationUse } from "@/lib/delegations/authorize";
import { noteDelegationFirstUse } from "@/lib/delegations/first-use";
import { delegationDenied } from "@/lib/delegations/subject";
import type { Requester } from "@/lib/consent/requester";
import { AppError } from "@/lib/errors";
import type { ApprovalSource, Provider } from "@/lib/generated/prisma/client";
import { forgetGateway, staleGatewayError, type AuthenticatedGateway } from "@/lib/gateways/authenticate";
import { ensureFreshGrant } from "@/lib/grants/refresh";
import { missingScopes, openGrantCredential, SEALED_GRANT_SELECT, type OpenCredential, type SealedGrant } from "@/lib/grants/sealed";
import { markGrantUsed } from "@/lib/grants/touch";
import { evaluatePolicy } from "@/lib/policy/evaluate";
import { loadPolicyRules } from "@/lib/policy/load";
import type { VerifiedSubject } from "@/lib/subject-tokens/verify";
import { withSpan } from "@/lib/observability/tracing";
import { CrossAppUnavailable, obtainByCrossAppAccess, type CrossAppDecision } from "@/lib/cross-app/obtain";

export interface ResolveContext {
  agentId?: string;
  mcpServer?: string;
  toolName?: string;
  labels?: Record<string, string>;
}

export interface ResolveRequest {
  action: "resolve" | "token_exchange" | "proxy" | "ext_authz";
  gateway: AuthenticatedGateway;
  subject: VerifiedSubject;
  /** The agent acting for the user, from a verified actor token; absent when none was presented. */
  actor?: VerifiedActor;
  provider: Provider;
  /** Requested scopes; empty means the provider's default scopes. */
  scopes: string[];
  context: ResolveContext;
  requestId: string;
  /** Extra, non-secret attributes for the audit row (e.g. that an actor token was presented). */
  auditExtra?: Record<string, unknown>;
  /** Refresh even if the token looks valid (the egress proxy, after the upstream answered 401). */
  forceRefresh?: boolean;
  /**
   * The subject token as presented in this call, when it was one (not a trusted-subject or
   * delegation call): cross-app access may present it to the IdP (lib/cross-app/obtain.ts).
   */
  subjectToken?: string;
  /**
   * Settles when the caller is fully authenticated (a client assertion's single use, stored while
   * this reads: lib/gateway-api/gateway-route.ts overlapSingleUse). Nothing here with an effect
   * (refresh, elicitation, audit, answer) starts before it.
   */
  authenticated?: Promise<void>;
}

export type ResolveOutcome =
  | { kind: "credential"; grantId: string; credential: OpenCredential; scopes: string[] }
  | {
      kind: "elicitation";
      reason: ElicitationReason;
      elicitation: UrlElicitation;
      /** The elicitation's own expiry (a sealed requestState expires no later). */
      expiresAt: Date;
      scopes: string[];
    };

/** requester_not_approved: the connection exists, but this requester has not been approved for it. */
type ElicitationReason = "no_grant" | "insufficient_scope" | "needs_reauth" | "requester_not_approved";

interface UserAndGrantRow {
  gatewayStatus: string | null;
  /** The acting agent's status (null when the call has no agent, or its row is gone). */
  agentStatus: string | null;
  gatewaySecretHash: string | null;
  userId: string | null;
  email: string | null;
  groups: string[];
  id: string | null;
  scopes: string[] | null;
  status: SealedGrant["status"] | null;
  tokenType: string | null;
  accessTokenCipher: string | null;
  refreshTokenCipher: string | null;
  apiKeyCipher: string | null;
  wrappedKey: string | null;
  keyVersion: string | null;
  expiresAt: Date | null;
  lastRefreshedAt: Date | null;
  approvalId: string | null;
  approvalBy: ApprovalSource | null;
  approvalWithdrawn: boolean | null;
  /** The reuse candidates (reuseCandidatesSql); null when not read (the grant and approval cover the call, or the embedded database). */
  reuseCandidates: ReuseCandidate[] | null;
}

/** A pending link of this requester for the user and provider, open at least another minute. */
interface ReuseCandidate {
  id: string;
  scopes: string[] | null;
  expiresAtMs: number;
}

/** The SQL expressions a statement reads the call's keys from: parameters, or a grouped batch's columns. */
interface KeySql {
  provider: string;
  issuer: string;
  subject: string;
  gateway: string;
  agent: string;
  scopes: string;
}

// A gateway retrying the same call should hand the user the same link, not a new one each time:
// the same gateway (and agent) asking again for the same scopes gets the pending link it already
// has (matched on scopes in findReusableElicitation). The five newest pending links of this
// requester (gateway, agent) for the user (issuer, subject) and provider that stay
// open at least another minute, newest first, as JSON. The time is the database's: the statement
// is shared by callers (lib/db/grouped-statement.ts), so it carries no time of its own.
// `expiresAt` (timestamp(3) holding UTC wall time) comes back as epoch ms.
const reuseCandidatesSql = (k: Omit<KeySql, "scopes">) => `
  (SELECT coalesce(json_agg(json_build_object('id', c."id", 'scopes', c."scopes", 'expiresAtMs', c."expiresAtMs") ORDER BY c."createdAt" DESC), '[]'::json)
   FROM (SELECT e."id", e."scopes", e."createdAt", floor(extract(epoch FROM e."expiresAt") * 1000) AS "expiresAtMs"
         FROM "Elicitation" e
         WHERE e."userIssuer" = ${k.issuer} AND e."userSubject" = ${k.subject} AND e."gatewayId" = ${k.gateway} AND e."agentId" IS NOT DISTINCT FROM ${k.agent}
           AND e."providerId" = ${k.provider} AND e."status" = 'pending' AND e."expiresAt" > (now() AT TIME ZONE 'UTC') + interval '60 seconds'
         ORDER BY e."createdAt" DESC
         LIMIT 5) c)`;

// The gateway's current state, the user, their grant for the provider and this requester's
// approval for that grant (lib/consent) in one round trip (hot path). The gateway row used to authenticate may come from a short cache (lib/gateways), so its
// status and secret hash are read again here: a gateway disabled or re-keyed on another instance
// gets no credential on its next call. The acting agent's status is read the same way (a disable
// on any instance refuses its next call everywhere; lib/agents/registry.ts caches only its id). On PostgreSQL through the hot-path pool
// (lib/db/hot-pool.ts says why); timestamps are converted to timestamptz in SQL so that pg reads
// the stored UTC wall time as UTC whatever the process's time zone. When the call may end in an
// elicitation (no active grant covering the scopes, or no standing approval of this requester),
// the links it could reuse come along, so creating one needs no lookup of its own; otherwise
// they are not read (a credential is the likely answer, and a later elicitation looks them up).
const userAndGrantSql = (k: KeySql) => `
  SELECT gw."status"::text AS "gatewayStatus", gw."secretHash" AS "gatewaySecretHash", ag."status"::text AS "agentStatus",
         u."id" AS "userId", u."email", u."groups",
         g."id", g."scopes", g."status"::text AS "status", g."tokenType", g."accessTokenCipher", g."refreshTokenCipher",
         g."apiKeyCipher", g."wrappedKey", g."keyVersion",
         g."expiresAt" AT TIME ZONE 'UTC' AS "expiresAt", g."lastRefreshedAt" AT TIME ZONE 'UTC' AS "lastRefreshedAt",
         ra."id" AS "approvalId", ra."approvedBy"::text AS "approvalBy", ra."withdrawnAt" IS NOT NULL AS "approvalWithdrawn",
         CASE WHEN g."id" IS NULL OR g."status" <> 'active' OR NOT (g."scopes" @> ${k.scopes}) OR ra."id" IS NULL OR ra."withdrawnAt" IS NOT NULL
              THEN ${reuseCandidatesSql(k)} END AS "reuseCandidates"
  FROM (SELECT 1) AS one
  LEFT JOIN "Gateway" gw ON gw."id" = ${k.gateway}
  LEFT JOIN "Agent" ag ON ag."id" = ${k.agent}
  LEFT JOIN "User" u ON u."issuer" = ${k.issuer} AND u."subject" = ${k.subject}
  LEFT JOIN "Grant" g ON g."userId" = u."id" AND g."providerId" = ${k.provider}
  LEFT JOIN "RequesterApproval" ra ON ra."grantId" = g."id" AND ra."gatewayId" = ${k.gateway} AND ra."agentId" IS NOT DISTINCT FROM ${k.agent}`;

interface UserAndGrantKey {
  providerId: string;
  issuer: string;
  subject: string;
  gatewayId: string;
  agentId: string | null;
  scopes: string[];
}

// Concurrent calls' reads share one statement (lib/db/grouped-statement.ts), one row per call: the
// lookup runs once per key, as a subquery of its own (OFFSET 0 keeps the planner from turning it
// into joins over whole tables), on the indexes a single call's statement uses.
const readUserAndGrant = groupedStatement<UserAndGrantKey, UserAndGrantRow>(() => getHotPool()!, {
  name: "frontdesk-user-and-grant-grouped",
  maxKeys: 64,
  toJson: (key) => ({ ...key }),
  text: `
    SELECT k.i, q.*
    FROM jsonb_to_recordset($1::jsonb) AS k(i int, "providerId" text, issuer text, subject text, "gatewayId" text, "agentId" text, scopes text[])
    CROSS JOIN LATERAL (${userAndGrantSql({ provider: 'k."providerId"', issuer: "k.issuer", subject: "k.subject", gateway: 'k."gatewayId"', agent: 'k."agentId"', scopes: "k.scopes" })}
                        OFFSET 0) AS q`,
});

async function queryUserAndGrant(subject: VerifiedSubject, providerId: string, requester: Requester, scopes: string[]): Promise<UserAndGrantRow[]> {
  const { gatewayId, agentId } = requester;
  if (getHotPool()) return readUserAndGrant({ providerId, issuer: subject.issuer, subject: subject.subject, gatewayId, agentId, scopes });
  // The embedded database (one connection, no round trip to save) looks reuse candidates up when needed.
  const db = await getDb();
  return db.$queryRaw<UserAndGrantRow[]>`
    SELECT gw."status"::text AS "gatewayStatus", gw."secretHash" AS "gatewaySecretHash", ag."status"::text AS "agentStatus",
           u."id" AS "userId", u."email", u."groups",
           g."id", g."scopes", g."status"::text AS "status", g."tokenType", g."accessTokenCipher", g."refreshTokenCipher",
           g."apiKeyCipher", g."wrappedKey", g."keyVersion", g."expiresAt", g."lastRefreshedAt",
           ra."id" AS "approvalId", ra."approvedBy"::text AS "approvalBy", ra."withdrawnAt" IS NOT NULL AS "approvalWithdrawn",
           NULL AS "reuseCandidates"
    FROM (SELECT 1) AS one
    LEFT JOIN "Gateway" gw ON gw."id" = ${gatewayId}
    LEFT JOIN "Agent" ag ON ag."id" = ${agentId}
    LEFT JOIN "User" u ON u."issuer" = ${subject.issuer} AND u."subject" = ${subject.subject}
    LEFT JOIN "Grant" g ON g."userId" = u."id" AND g."providerId" = ${providerId}
    LEFT JOIN "RequesterApproval" ra ON ra."grantId" = g."id" AND ra."gatewayId" = ${gatewayId} AND ra."agentId" IS NOT DISTINCT FROM ${agentId}::text`;
}

async function findUserAndGrant(subject: VerifiedSubject, providerId: string, gateway: AuthenticatedGateway, requester: Requester, scopes: string[]) {
  const rows = await withSpan("db.user_and_grant", { "db.system.name": "postgresql" }, () => queryUserAndGrant(subject, providerId, requester, scopes));
  const { agentId } = requester;
  const row = rows[0];
  const agentProblem = agentId === null ? null : row?.agentStatus === "active" ? null : row?.agentStatus ? ("agent_disabled" as const) : ("agent_unknown" as const);
  const gatewayProblem =
    row?.gatewayStatus !== "active"
      ? ("gateway_disabled" as const)
      : gateway.checkedSecretHash !== null && row.gatewaySecretHash !== gateway.checkedSecretHash
        ? ("secret_rotated" as const)
        : null;
  const reuseCandidates = row?.reuseCandidates ?? null;
  if (!row || row.userId === null) return { gatewayProblem, agentProblem, approval: null, user: null, reuseCandidates };
  const grant: SealedGrant | undefined =
    row.id === null
      ? undefined
      : {
          id: row.id,
          userId: row.userId,
          providerId,
          scopes: row.scopes ?? [],
          status: row.status!,
          tokenType: row.tokenType,
          accessTokenCipher: row.accessTokenCipher,
          refreshTokenCipher: row.refreshTokenCipher,
          apiKeyCipher: row.apiKeyCipher,
          wrappedKey: row.wrappedKey,
          keyVersion: row.keyVersion,
          expiresAt: row.expiresAt === null ? null : new Date(row.expiresAt),
          lastRefreshedAt: row.lastRefreshedAt === null ? null : new Date(row.lastRefreshedAt),
        };
  const approval: StoredApproval | null =
    row.approvalId === null ? null : { id: row.approvalId, approvedBy: row.approvalBy!, withdrawn: row.approvalWithdrawn === true };
  return {
    gatewayProblem,
    agentProblem,
    approval,
    user: { id: row.userId, email: row.email, groups: row.groups ?? [], grants: grant ? [grant] : [] },
    reuseCandidates,
  };
}

// The candidates on their own, when the user+grant read did not bring them (the embedded
// database, or an elicitation decided after a refresh or an IdP call: candidates read before those
// waits may have been completed meanwhile). A named prepared statement on the hot-path pool.
const REUSABLE_ELICITATIONS_SQL = `SELECT ${reuseCandidatesSql({ provider: "$1", issuer: "$2", subject: "$3", gateway: "$4", agent: "$5::text" })} AS "reuseCandidates"`;

async function lookUpReuseCandidates(req: ResolveRequest, requester: Requester): Promise<ReuseCandidate[]> {
  const pool = getHotPool();
  if (pool) {
    const { rows } = await pool.query<{ reuseCandidates: ReuseCandidate[] }>({
      name: "frontdesk-reusable-elicitations",
      text: REUSABLE_ELICITATIONS_SQL,
      values: [req.provider.id, req.subject.issuer, req.subject.subject, requester.gatewayId, requester.agentId],
    });
    return rows[0]!.reuseCandidates;
  }
  const db = await getDb();
  const rows = await db.elicitation.findMany({
    where: {
      userIssuer: req.subject.issuer,
      userSubject: req.subject.subject,
      gatewayId: requester.gatewayId,
      agentId: requester.agentId,
      providerId: req.provider.id,
      status: "pending",
      expiresAt: { gt: new Date(Date.now() + 60_000) },
    },
    orderBy: { createdAt: "desc" },
    take: 5,
    select: { id: true, scopes: true, expiresAt: true },
  });
  return rows.map((r) => ({ id: r.id, scopes: r.scopes, expiresAtMs: r.expiresAt.getTime() }));
}

/** The pending link that asks for exactly these scopes, if the requester has one. */
function findReusableElicitation(candidates: readonly ReuseCandidate[], scopes: string[]): { id: string; expiresAt: Date } | null {
  const wanted = [...scopes].sort().join(" ");
  const found = candidates.find((c) => [...(c.scopes ?? [])].sort().join(" ") === wanted);
  return found ? { id: found.id, expiresAt: new Date(found.expiresAtMs) } : null;
}

export async function resolveCredential(req: ResolveRequest): Promise<ResolveOutcome> {
  const { gateway, subject, provider } = req;
  const scopes = [...new Set(req.scopes.length > 0 ? req.scopes : provider.defaultScopes)];
  const { actor } = req;
  // Consent is per requester: the gateway and the verified agent (never an unverified label).
  const requester: Requester = { gatewayId: gateway.id, agentId: req.actor?.agentId ?? null };
  const [lookup, rules] = await Promise.all([findUserAndGrant(subject, provider.id, gateway, requester, scopes), loadPolicyRules(provider.id, gateway.id), req.authenticated]);
  // Reuse candidates read with the grant hold until the call waits on something else (below).
  let reuseCandidates = lookup.reuseCandidates;
  const claimed = req.context;
  const hasClaimedContext = Object.values(claimed).some((v) => v !== undefined);
  const found = lookup.user;
  const grant: SealedGrant | undefined = found?.grants[0];

  const auditEvent = (decision: "allow" | "deny", reason: string | null, extra: Record<string, unknown> = {}): AuditEventInput => ({
      actorType: "gateway",
      actorId: gateway.id,
      userId: found?.id ?? null,
      gatewayId: gateway.id,
      agentId: actor?.agentId ?? null,
      providerId: provider.id,
      action: req.action,
      decision,
      reason,
      requestId: req.requestId,
      context: {
        scopes,
        subjectSource: subject.source,
        subject: found ? undefined : { issuer: subject.issuer, subject: subject.subject },
        // The delegation chain: the verified agent, and the actors before it (RFC 8693 act).
        actor: actor ? { issuer: actor.issuer, subject: actor.subject, name: actor.displayName, act: actor.actChain } : undefined,
        // A subject token minted for a delegation (e.g. by ToolHive) names its own actors.
        subjectAct: subject.act,
        // What the gateway says the call is for; nobody vouches for it.
        agentId: claimed.agentId,
        mcpServer: claimed.mcpServer,
        toolName: claimed.toolName,
        labels: claimed.labels,
        contextUnverified: hasClaimedContext ? true : undefined,
        authMethod: gateway.usedMethod,
        ...req.auditExtra,
        ...extra,
      },
    });
  const audit = (decision: "allow" | "deny", reason: string | null, extra: Record<string, unknown> = {}) => appendAudit(auditEvent(decision, reason, extra));

  if (lookup.gatewayProblem) {
    // Disabled or re-keyed since this instance cached the gateway: refuse, and stop trusting the cache.
    forgetGateway(gateway.id);
    await audit("deny", `gateway:${lookup.gatewayProblem}`);
    throw staleGatewayError(gateway, lookup.gatewayProblem);
  }
  if (lookup.agentProblem) {
    // Read in the same query as the grant: a disable on any instance counts on the next call.
    await audit("deny", `agent:${lookup.agentProblem}`);
    throw new AppError("forbidden", lookup.agentProblem === "agent_disabled" ? "This agent is disabled" : "This agent is not registered", {
      oauthError: "invalid_grant",
    });
  }

  // Delegation mode: an agent named the user instead of presenting their subject token. Checked
  // before anything else about the user is looked at, and every refusal looks the same to the
  // caller (the audit row says why): the agent learns nothing about users who did not delegate.
  let delegationId: string | null = null;
  if (subject.source === "delegation") {
    const check =
      req.actor && found && grant
        ? await checkDelegation({
            userId: found.id,
            grantId: grant.id,
            agentId: req.actor.agentId,
            gatewayId: gateway.id,
            scopes,
            delegationId: subject.delegationId,
          })
        : ({ ok: false, reason: req.actor ? "no_delegation" : "no_actor" } as const);
    if (!check.ok) {
      await audit("deny", `delegation:${check.reason}`, { mode: "delegation", delegationId: subject.delegationId });
      throw delegationDenied();
    }
    delegationId = check.delegationId;
  }

  const policySubject = {
    userId: found?.id ?? null,
    subject: subject.subject,
    email: subject.email ?? found?.email ?? null,
    groups: subject.groups ?? found?.groups ?? [],
  };
  const decision = evaluatePolicy({
    rules,
    gatewayId: gateway.id,
    providerId: provider.id,
    subject: policySubject,
    scopes,
    agent: actor ? { agentId: actor.agentId, issuer: actor.issuer, subject: actor.subject } : null,
    agentsExplicit: provider.agentsExplicit,
  });
  if (!decision.allowed) {
    await audit("deny", `policy:${decision.reason}`, { deniedScopes: decision.deniedScopes });
    const scopeProblem = decision.reason.startsWith("scope_");
    throw new AppError("policy_denied", scopeProblem ? "Policy does not allow these scopes" : "Policy does not allow this request", {
      oauthError: scopeProblem ? "invalid_scope" : "invalid_target",
    });
  }

  // Cross-app access (lib/cross-app): an ID-JAG from the enterprise IdP instead of a consent click.
  // Asked for everything the grant should hold afterwards; a user's withdrawal of this requester
  // is theirs to undo, never the IdP's.
  let crossApp: CrossAppDecision | { notApplicable: string } | undefined;
  const tryCrossAppAccess = async (): Promise<ResolveOutcome | null> => {
    if (provider.crossAppAccess === "off" || lookup.approval?.withdrawn) return null;
    const held = grant && grant.status !== "revoked" ? grant.scopes : [];
    let xaa;
    reuseCandidates = null;
    try {
      xaa = await obtainByCrossAppAccess({ provider, subject, subjectToken: req.subjectToken, requester, scopes: [...new Set([...held, ...scopes])] });
    } catch (e) {
      // An outage decides nothing: 503 + Retry-After, audited, and no URL-consent fallback.
      if (e instanceof CrossAppUnavailable) {
        await audit("deny", `cross_app_access:${e.decision.providerDecision === "unavailable" ? "provider" : "idp"}_unavailable`, { crossAppAccess: e.decision });
      }
      throw e;
    }
    if (xaa.kind === "not_applicable") {
      crossApp = { notApplicable: xaa.reason };
      return null;
    }
    crossApp = xaa.decision;
    if (xaa.kind === "refused") {
      if (provider.crossAppAccessFallback === "consent") return null;
      await audit("deny", `cross_app_access:${xaa.decision.providerDecision ?? xaa.decision.idpDecision}`, { crossAppAccess: xaa.decision });
      throw new AppError("policy_denied", `Your organization's identity provider does not allow ${provider.displayName} for this request`, {
        oauthError: "access_denied",
      });
    }
    const db = await getDb();
    const stored = await db.grant.findUnique({ where: { id: xaa.grantId }, select: SEALED_GRANT_SELECT });
    if (!stored || stored.status !== "active") throw new AppError("service_unavailable", "The new connection could not be read back; retry");
    const credential = await openGrantCredential(stored);
    await audit("allow", null, {
      grantId: stored.id,
      obtainedBy: "cross_app_access",
      crossAppAccess: xaa.decision,
      consent: { approvalId: xaa.approvalId, via: "cross_app_access" },
    });
    markGrantUsed(stored.id, gateway.id, xaa.approvalId);
    return { kind: "credential", grantId: stored.id, credential, scopes: stored.scopes };
  };

  const elicit = async (reason: ElicitationReason, askScopes: string[]): Promise<ResolveOutcome> => {
    if (delegationId) {
      // Nobody is at a browser to answer, and an agent's call must not make links for the user.
      await audit("deny", `delegation:user_must_reconnect:${reason}`, { mode: "delegation", delegationId });
      throw delegationDenied("The user must reconnect this service before the delegation can be used");
    }
    const viaIdp = await tryCrossAppAccess();
    if (viaIdp) return viaIdp;
    const reusable = findReusableElicitation(reuseCandidates ?? (await lookUpReuseCandidates(req, requester)), askScopes);
    const denied = (elicitationId: string) =>
      auditEvent("deny", `interaction_required:${reason}`, { elicitationId, missingScopes: askScopes, ...(crossApp ? { crossAppAccess: crossApp } : {}) });
    if (reusable) await appendAudit(denied(reusable.id));
    const created =
      reusable ??
      (await createElicitation({
        userIssuer: subject.issuer,
        userSubject: subject.subject,
        gatewayId: gateway.id,
        providerId: provider.id,
        agentId: requester.agentId,
        scopes: askScopes,
        context: req.context,
        requestId: req.requestId,
        userEmail: subject.email,
        knownUser: found ? { id: found.id } : null,
        // The refusal is audited in the same batch as the new elicitation and its creation event.
        alsoAudit: (id) => [denied(id)],
      }));
    const message = elicitationMessage(provider, reason === "requester_not_approved" ? "approve_requester" : "connect");
    return { kind: "elicitation", reason, elicitation: toUrlElicitation(created, provider, message), expiresAt: created.expiresAt, scopes: askScopes };
  };

  if (!grant || grant.status === "revoked") return elicit("no_grant", scopes);
  // Re-authorization asks for everything the grant had plus what is asked now.
  if (grant.status === "needs_reauth") return elicit("needs_reauth", [...new Set([...grant.scopes, ...scopes])]);
  const missing = missingScopes(grant.scopes, scopes);
  if (missing.length > 0) return elicit("insufficient_scope", missing);
  // A delegation is the user's approval of that agent (through its gateway, if it names one).
  const consent = delegationId
    ? ({ approved: true, approvalId: undefined, via: "delegation" } as const)
    : await checkRequesterConsent({
    approval: lookup.approval,
    grantId: grant.id,
    userId: found!.id,
    providerId: provider.id,
    requester,
    rules,
    subject: policySubject,
    scopes,
    requestId: req.requestId,
  });
  if (!consent.approved) return elicit("requester_not_approved", scopes);

  let fresh;
  reuseCandidates = null;
  try {
    fresh = await ensureFreshGrant(grant, provider, { gatewayId: gateway.id, requestId: req.requestId }, { force: req.forceRefresh });
  } catch (e) {
    if (e instanceof AppError) await audit("deny", e.code);
    throw e;
  }
  if (fresh.kind === "gone") return elicit("no_grant", scopes);
  if (fresh.kind === "needs_reauth") return elicit("needs_reauth", [...new Set([...fresh.grant.scopes, ...scopes])]);
  // A refresh may come back with fewer scopes than before.
  const stillMissing = missingScopes(fresh.grant.scopes, scopes);
  if (stillMissing.length > 0) return elicit("insufficient_scope", stillMissing);

  // A refresh flight hands its waiters the credential it opened once.
  const credential = fresh.credential ?? (await openGrantCredential(fresh.grant));
  await audit("allow", null, {
    grantId: fresh.grant.id,
    refreshed: fresh.refreshed,
    consent: { approvalId: consent.approvalId, via: consent.via, ruleId: "ruleId" in consent ? consent.ruleId : undefined },
    // "agent on behalf of user by delegation D"
    ...(delegationId ? { mode: "delegation", delegationId } : {}),
  });
  markGrantUsed(fresh.grant.id, gateway.id, consent.approvalId);
  if (delegationId && (await recordDelegationUse(delegationId))) {
    await noteDelegationFirstUse({ delegationId, userId: found!.id, gatewayId: gateway.id, providerId: provider.id, agentId: req.actor?.agentId, requestId: req.requestId });
  }
  return { kind: "credential", grantId: fresh.grant.id, credential, scopes: fresh.grant.scopes };
}
