// Approve → the upstream authorization request. Only now is `state` created: single use, short
// lived, stored as sha256 with the elicitation, the browser session (sha256 of its token), the
// sealed PKCE verifier and the nonce. The raw state only travels in the redirect.
import * as client from "openid-client";
import type { Viewer } from "@/lib/auth/session";
import { sealFields } from "@/lib/crypto/envelope";
import { sha256Hex } from "@/lib/crypto/hash";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { getOAuthConfig } from "@/lib/providers/oauth-config";
import { presetQuirks } from "@/lib/providers/presets";
import { checkElicitationAccess } from "./access";
import { checkConsentDelegation } from "./consent-delegation";
import { auditElicitationStep } from "./audit";
import { upstreamRedirectUri } from "./redirect-uri";
import { refusalMessages } from "./refusal";
import { scopesToRequest } from "./scopes";

const TRANSACTION_TTL_MS = 10 * 60 * 1000;

export type StartResult = { ok: true; authorizationUrl: string } | { ok: false; reason: keyof typeof refusalMessages };

/** `delegateDays`: the user also chose a standing delegation to the requesting agent (consent-delegation.ts). */
export async function startUpstreamAuthorization(elicitationId: string, viewer: Viewer, opts: { delegateDays?: number | null } = {}): Promise<StartResult> {
  const access = await checkElicitationAccess(elicitationId, viewer, "approve");
  if (!access.ok) return { ok: false, reason: access.reason };
  const { elicitation, provider } = access;
  if (provider.kind === "api_key") throw new AppError("invalid_request", "this service is connected with an API key");
  const delegateDays = opts.delegateDays ?? null;
  checkConsentDelegation(elicitation, delegateDays);

  const config = await getOAuthConfig(provider);
  const db = await getDb();
  const grant = await db.grant.findUnique({
    where: { userId_providerId: { userId: viewer.userId, providerId: provider.id } },
    select: { scopes: true, status: true },
  });
  const scopes = scopesToRequest(provider.defaultScopes, grant?.status === "active" ? grant.scopes : [], elicitation.scopes);
  const isOidc = provider.kind === "oidc" && scopes.includes("openid");

  const state = client.randomState();
  const stateHash = sha256Hex(state);
  const codeVerifier = client.randomPKCECodeVerifier();
  const nonce = isOidc ? client.randomNonce() : null;
  const sealed = await sealFields(
    { table: "OAuthTransaction", id: stateHash, owner: viewer.userId, provider: provider.id },
    { codeVerifier },
  );
  const expiresAt = new Date(Math.min(Date.now() + TRANSACTION_TTL_MS, elicitation.expiresAt.getTime()));

  await db.$transaction(async (tx) => {
    await tx.oAuthTransaction.create({
      data: {
        stateHash,
        elicitationId: elicitation.id,
        sessionHash: viewer.sessionHash,
        codeVerifierCipher: sealed.ciphertexts.codeVerifier!,
        nonce,
        delegateDays,
        wrappedKey: sealed.wrappedKey,
        keyVersion: sealed.keyVersion,
        expiresAt,
      },
    });
    await auditElicitationStep(viewer, elicitation, { action: "elicitation.approved", decision: "info", context: { scopes, ...(delegateDays ? { delegateDays } : {}) } }, tx);
  });

  const quirks = presetQuirks(provider.preset);
  const extra = (provider.extraAuthParams ?? {}) as Record<string, unknown>;
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(extra)) if (typeof v === "string") params[k] = v;
  Object.assign(params, {
    redirect_uri: upstreamRedirectUri(provider.slug),
    response_type: "code",
    [quirks.scopeParam]: scopes.join(provider.scopeSeparator),
    state,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: "S256",
    ...(nonce ? { nonce } : {}),
  });
  return { ok: true, authorizationUrl: client.buildAuthorizationUrl(config, params).href };
}
