// API-key providers: the person types the key into the portal. It is checked (optionally)
// against the provider's validation URL, sealed by saveGrant, and never rendered or logged.
import type { Viewer } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { completeElicitation } from "@/lib/elicitations/settle";
import { AppError, isAppError } from "@/lib/errors";
import type { Provider } from "@/lib/generated/prisma/client";
import { notifyElicitationSettled } from "@/lib/gateways/webhook";
import { saveGrant } from "@/lib/grants/save";
import { approveElicitationRequester } from "@/lib/consent/approvals";
import { log } from "@/lib/log";
import { checkElicitationAccess } from "./access";
import { checkConsentDelegation, delegateAtConsent } from "./consent-delegation";
import { auditElicitationStep } from "./audit";
import type { RefusalReason } from "./refusal";

const VALIDATION_TIMEOUT_MS = 10_000;

export type ApiKeyResult =
  | { ok: true }
  | { ok: false; reason: RefusalReason }
  | { ok: false; reason: "invalid_key" | "key_rejected" | "validation_unavailable" };

/** A key is one line of printable characters (no whitespace inside), at most 4 KiB. */
export function isPlausibleApiKey(value: unknown): value is string {
  return typeof value === "string" && value.length >= 8 && value.length <= 4096 && /^[\x21-\x7e]+$/.test(value);
}

export async function connectApiKey(
  elicitationId: string,
  viewer: Viewer,
  apiKey: unknown,
  opts: { delegateDays?: number | null } = {},
): Promise<ApiKeyResult> {
  const access = await checkElicitationAccess(elicitationId, viewer, "api_key");
  if (!access.ok) return { ok: false, reason: access.reason };
  const { elicitation, provider } = access;
  if (provider.kind !== "api_key") throw new AppError("invalid_request", "this service is connected with OAuth");
  const delegateDays = opts.delegateDays ?? null;
  checkConsentDelegation(elicitation, delegateDays);
  if (!isPlausibleApiKey(apiKey)) return { ok: false, reason: "invalid_key" };

  if (provider.validationUrl) {
    const verdict = await validateApiKey(provider, apiKey);
    if (verdict !== "valid") {
      await auditElicitationStep(viewer, elicitation, { action: "elicitation.api_key_rejected", decision: "deny", reason: verdict });
      return { ok: false, reason: verdict === "rejected" ? "key_rejected" : "validation_unavailable" };
    }
  }

  const db = await getDb();
  try {
    await db.$transaction(async (tx) => {
      const { grantId } = await saveGrant({
        userId: viewer.userId,
        providerId: provider.id,
        scopes: elicitation.scopes,
        credential: { kind: "api_key", apiKey },
        tx,
      });
      await approveElicitationRequester(tx, { grantId, userId: viewer.userId, elicitation, how: "connected" });
      await delegateAtConsent(tx, { viewer, grantId, elicitation, days: delegateDays });
      await completeElicitation(elicitation.id, { issuer: viewer.issuer, subject: viewer.subject }, tx);
      await auditElicitationStep(
        viewer,
        elicitation,
        { action: "elicitation.completed", decision: "allow", context: { scopes: elicitation.scopes, method: "api_key" } },
        tx,
      );
    });
  } catch (e) {
    if (isAppError(e) && e.code === "conflict") return { ok: false, reason: "completed" };
    throw e;
  }
  void notifyElicitationSettled(elicitation.id);
  return { ok: true };
}

/** GET the validation URL with the key in the provider's header: 2xx valid, 401/403 rejected. */
export async function validateApiKey(provider: Provider, apiKey: string): Promise<"valid" | "rejected" | "unavailable"> {
  const url = provider.validationUrl;
  if (!url || !provider.apiKeyHeader) return "valid";
  if (url.startsWith("http:") && !provider.allowInsecureHttp) return "unavailable";
  try {
    const response = await fetch(url, {
      method: "GET",
      headers: { [provider.apiKeyHeader]: `${provider.apiKeyPrefix ?? ""}${apiKey}` },
      // Never follow a redirect with the key attached.
      redirect: "manual",
      signal: AbortSignal.timeout(VALIDATION_TIMEOUT_MS),
    });
    await response.body?.cancel();
    if (response.status >= 200 && response.status < 300) return "valid";
    if (response.status === 401 || response.status === 403) return "rejected";
    return "unavailable";
  } catch (e) {
    log.warn("api key validation request failed", { providerId: provider.id, error: e instanceof Error ? e.name : "unknown" });
    return "unavailable";
  }
}
