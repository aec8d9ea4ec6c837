// The upstream OAuth callback. Order matters:
// 1. the `state` must match a transaction created by THIS browser session, unexpired; it is
//    consumed in the same statement (DELETE ... RETURNING), so a replay finds nothing;
// 2. the transaction's provider must be the one whose redirect URI was called (mix-up defense);
// 3. the elicitation must still be pending, unexpired and the viewer's own;
// 4. provider errors are mapped (access_denied → declined, invalid_scope → failed, anything
//    transient → left pending so the user can retry from the consent page);
// 5. the code is exchanged with openid-client (PKCE verifier, expected state, nonce, RFC 9207
//    `iss` when the provider offers it), then grant + completion + audit commit together.
// Any rejection before step 5 writes nothing but the audit record.
import * as client from "openid-client";
import { appendUnauthenticatedFailure } from "@/lib/audit/failure-windows";
import { appendAudit } from "@/lib/audit/append";
import type { Viewer } from "@/lib/auth/session";
import { openField } from "@/lib/crypto/envelope";
import { sha256Hex } from "@/lib/crypto/hash";
import { getDb } from "@/lib/db/client";
import { completeElicitation, declineElicitation, failElicitation } from "@/lib/elicitations/settle";
import { isAppError } from "@/lib/errors";
import type { Elicitation, Provider } from "@/lib/generated/prisma/client";
import { notifyElicitationSettled } from "@/lib/gateways/webhook";
import { saveGrant } from "@/lib/grants/save";
import { approveElicitationRequester } from "@/lib/consent/approvals";
import { log } from "@/lib/log";
import { timeUpstream } from "@/lib/observability/metrics";
import { getOAuthConfig } from "@/lib/providers/oauth-config";
import { findProviderById } from "@/lib/providers/find";
import { isOwner } from "./access";
import { auditElicitationStep } from "./audit";
import { upstreamRedirectUri } from "./redirect-uri";
import { delegateAtConsent } from "./consent-delegation";
import { coversScopes, parseScopeString } from "./scopes";

/** Why a callback was rejected outright (no elicitation can be shown). */
export type CallbackRejection = "no_session" | "missing_state" | "invalid_state" | "provider_mismatch" | "not_pending";

/** Outcomes tied to the viewer's elicitation (the consent page shows them). */
export type CallbackNotice = "upstream_denied" | "upstream_invalid_scope" | "insufficient_scope" | "upstream_unavailable" | "upstream_error";

export type CallbackResult =
  | { outcome: "completed"; elicitationId: string }
  | { outcome: "settled"; elicitationId: string; notice: CallbackNotice }
  | { outcome: "retry"; elicitationId: string; notice: CallbackNotice }
  | { outcome: "rejected"; reason: CallbackRejection };

interface TransactionRow {
  elicitationId: string;
  codeVerifierCipher: string;
  nonce: string | null;
  delegateDays: number | null;
  wrappedKey: string;
  keyVersion: string;
}

export async function completeUpstreamAuthorization(input: {
  providerSlug: string;
  query: URLSearchParams;
  viewer: Viewer | null;
  /** The caller's address (lib/http-edge/client-address.ts): anonymous rejections are aggregated by it. */
  sourceAddress?: string;
}): Promise<CallbackResult> {
  const { viewer, query } = input;
  const state = query.get("state");
  const reject = async (reason: CallbackRejection, refs: { elicitationId?: string; providerId?: string; gatewayId?: string } = {}) => {
    // Without a session nobody is authenticated: one event per reason, source and minute.
    const write = viewer ? appendAudit : (e: Parameters<typeof appendAudit>[0] & { reason: string }) => appendUnauthenticatedFailure(e, input.sourceAddress ?? "unknown");
    await write({
      actorType: "user",
      actorId: viewer?.userId ?? null,
      userId: viewer?.userId ?? null,
      providerId: refs.providerId ?? null,
      gatewayId: refs.gatewayId ?? null,
      action: "oauth.callback_rejected",
      decision: "deny",
      reason,
      context: { provider: input.providerSlug.slice(0, 64), ...(refs.elicitationId ? { elicitationId: refs.elicitationId } : {}) },
    });
    return { outcome: "rejected", reason } as const;
  };

  if (!state || state.length > 200) return reject("missing_state");
  // Without a session the callback cannot be tied to the browser that approved; nothing is consumed.
  if (!viewer) return reject("no_session");

  const db = await getDb();
  const rows = await db.$queryRaw<TransactionRow[]>`
    DELETE FROM "OAuthTransaction"
     WHERE "stateHash" = ${sha256Hex(state)} AND "sessionHash" = ${viewer.sessionHash} AND "expiresAt" > now()
    RETURNING "elicitationId", "codeVerifierCipher", "nonce", "delegateDays", "wrappedKey", "keyVersion"`;
  const transaction = rows[0];
  if (!transaction) return reject("invalid_state");

  const elicitation = await db.elicitation.findUnique({ where: { id: transaction.elicitationId } });
  const provider = elicitation ? await findProviderById(elicitation.providerId) : null;
  if (!elicitation || !provider) return reject("invalid_state");
  const refs = { elicitationId: elicitation.id, providerId: provider.id, gatewayId: elicitation.gatewayId };
  if (provider.slug !== input.providerSlug) return reject("provider_mismatch", refs);
  if (!isOwner(elicitation, viewer) || elicitation.status !== "pending" || elicitation.expiresAt.getTime() <= Date.now()) {
    return reject("not_pending", refs);
  }

  const owner = { issuer: viewer.issuer, subject: viewer.subject };
  let config: client.Configuration;
  try {
    config = await getOAuthConfig(provider);
  } catch {
    return { outcome: "retry", elicitationId: elicitation.id, notice: "upstream_unavailable" };
  }

  // RFC 9207: an `iss` in the response must name this provider, even on an error response.
  const iss = query.get("iss");
  if (iss !== null && iss !== config.serverMetadata().issuer) return reject("provider_mismatch", refs);

  const error = query.get("error");
  if (error) return settleProviderError(error, elicitation, provider, viewer, owner);

  const codeVerifier = await openField(
    { table: "OAuthTransaction", id: sha256Hex(state), owner: viewer.userId, provider: provider.id },
    { wrappedKey: transaction.wrappedKey, keyVersion: transaction.keyVersion },
    "codeVerifier",
    transaction.codeVerifierCipher,
  );

  const redirectUri = upstreamRedirectUri(provider.slug);
  // Built from the exact registered redirect URI (not the request's Host), which openid-client
  // sends as redirect_uri in the code exchange.
  const currentUrl = new URL(redirectUri);
  for (const [k, v] of query) currentUrl.searchParams.append(k, v);

  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  try {
    tokens = await timeUpstream(provider.slug, "code_exchange", () =>
      client.authorizationCodeGrant(config, currentUrl, {
        pkceCodeVerifier: codeVerifier,
        expectedState: state,
        ...(transaction.nonce ? { expectedNonce: transaction.nonce, idTokenExpected: true } : {}),
      }),
    );
  } catch (e) {
    return handleExchangeError(e, elicitation, provider, viewer);
  }

  const granted = parseScopeString(tokens.scope) ?? elicitation.scopes;
  const covers = coversScopes(granted, elicitation.scopes);
  const expiresIn = tokens.expiresIn();
  try {
    await db.$transaction(async (tx) => {
      const { grantId } = await saveGrant({
        userId: viewer.userId,
        providerId: provider.id,
        scopes: granted,
        credential: {
          kind: "oauth",
          accessToken: tokens.access_token,
          refreshToken: tokens.refresh_token ?? null,
          expiresAt: expiresIn !== undefined ? new Date(Date.now() + expiresIn * 1000) : null,
          tokenType: tokens.token_type ?? null,
        },
        tx,
      });
      // Approving on the consent page approved this requester for the connection too.
      await approveElicitationRequester(tx, { grantId, userId: viewer.userId, elicitation, how: "connected" });
      // The standing delegation chosen on the consent page, only when the request is satisfied.
      if (covers) await delegateAtConsent(tx, { viewer, grantId, elicitation, days: transaction.delegateDays });
      // The user may have narrowed the scopes at the provider: the grant is still stored (it is
      // theirs), but the request is failed rather than reported as satisfied.
      if (covers) await completeElicitation(elicitation.id, owner, tx);
      else await failElicitation(elicitation.id, owner, "insufficient_scope", tx);
      await auditElicitationStep(
        viewer,
        elicitation,
        {
          action: covers ? "elicitation.completed" : "elicitation.failed",
          decision: covers ? "allow" : "deny",
          reason: covers ? null : "insufficient_scope",
          context: { scopes: granted },
        },
        tx,
      );
    });
  } catch (e) {
    // The elicitation stopped being pending (expired, settled elsewhere) while the code was
    // exchanged: the transaction rolled back, so no grant was written.
    if (isAppError(e) && e.code === "conflict") return reject("not_pending", refs);
    throw e;
  }
  void notifyElicitationSettled(elicitation.id);
  return covers
    ? { outcome: "completed", elicitationId: elicitation.id }
    : { outcome: "settled", elicitationId: elicitation.id, notice: "insufficient_scope" };
}

async function settleProviderError(
  error: string,
  elicitation: Elicitation,
  provider: Provider,
  viewer: Viewer,
  owner: { issuer: string; subject: string },
): Promise<CallbackResult> {
  // access_denied: the person said no at the provider, a definite answer → declined.
  // invalid_scope / unauthorized_client: configuration the person cannot fix by retrying → failed.
  // Anything else (server_error, temporarily_unavailable, …): left pending for a retry.
  const settle =
    error === "access_denied"
      ? ({ status: "declined", notice: "upstream_denied" } as const)
      : error === "invalid_scope" || error === "unauthorized_client" || error === "unsupported_response_type"
        ? ({ status: "failed", notice: "upstream_invalid_scope" } as const)
        : null;
  const reason = `upstream_${error.replace(/[^a-z_]/g, "").slice(0, 40)}`;
  if (!settle) {
    await auditElicitationStep(viewer, elicitation, { action: "elicitation.retryable_error", decision: "info", reason });
    return { outcome: "retry", elicitationId: elicitation.id, notice: "upstream_error" };
  }
  const db = await getDb();
  try {
    await db.$transaction(async (tx) => {
      if (settle.status === "declined") await declineElicitation(elicitation.id, owner, tx);
      else await failElicitation(elicitation.id, owner, reason, tx);
      await auditElicitationStep(viewer, elicitation, { action: `elicitation.${settle.status}`, decision: "deny", reason }, tx);
    });
  } catch (e) {
    if (isAppError(e) && e.code === "conflict") return { outcome: "rejected", reason: "not_pending" };
    throw e;
  }
  void notifyElicitationSettled(elicitation.id);
  return { outcome: "settled", elicitationId: elicitation.id, notice: settle.notice };
}

async function handleExchangeError(e: unknown, elicitation: Elicitation, provider: Provider, viewer: Viewer): Promise<CallbackResult> {
  // A token-endpoint error (invalid_grant: a code from another session, a replayed or expired
  // code, a PKCE mismatch) or an unreachable provider: no grant is written and the elicitation
  // stays pending, so the person can approve again. Only the error code is logged.
  const code =
    e instanceof client.ResponseBodyError || e instanceof client.AuthorizationResponseError
      ? e.error
      : isAppError(e)
        ? e.code
        : e instanceof Error && "code" in e && typeof e.code === "string"
          ? e.code
          : "unknown";
  const transient = isTransient(e);
  log.warn("upstream code exchange failed", { providerId: provider.id, elicitationId: elicitation.id, error: code });
  await auditElicitationStep(viewer, elicitation, { action: "oauth.exchange_failed", decision: "deny", reason: String(code).slice(0, 60) });
  return { outcome: "retry", elicitationId: elicitation.id, notice: transient ? "upstream_unavailable" : "upstream_error" };
}

/** Unreachable, timed out, or a 5xx: worth retrying as is. Anything else is a real refusal or a bad response. */
function isTransient(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e.name === "TimeoutError" || e.name === "AbortError" || e instanceof TypeError) return true;
  const status = (e as { status?: unknown }).status ?? ((e as { cause?: { status?: unknown } }).cause?.status);
  return typeof status === "number" && status >= 500 && status <= 599;
}
