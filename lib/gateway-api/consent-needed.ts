// The consent-needed answer in both MCP revisions, side by side, so a gateway or MCP server can
// forward whichever its client speaks without translating: the 2025-11-25 URL elicitation (for
// -32042 or interaction_required) and the 2026-07-28 `input_required` result with a requestState
// sealed by Frontdesk (lib/elicitations/request-state.ts) that binds this call.
import { toInputRequired, type InputRequiredResult, type UrlElicitation } from "@/lib/elicitations/mcp";
import { sealRequestState, type RequestStateBinding } from "@/lib/elicitations/request-state";
import { getRequestStateKeys } from "@/lib/elicitations/request-state-keys";
import type { RetryOutcome } from "./request-state-retry";
import type { ResolveOutcome } from "./resolve-credential";

export interface ConsentNeededForms {
  /** 2025-11-25: `{mode, elicitationId, url, message}`. */
  elicitation: UrlElicitation;
  /** 2026-07-28: return it from the tool handler unchanged. */
  inputRequired: InputRequiredResult;
}

export async function consentNeededForms(
  outcome: Extract<ResolveOutcome, { kind: "elicitation" }>,
  provider: { slug: string },
  binding: RequestStateBinding,
  retry: RetryOutcome | null,
): Promise<ConsentNeededForms> {
  const elicitation =
    retry?.status === "expired" && retry.elicitationId !== outcome.elicitation.elicitationId
      ? { ...outcome.elicitation, message: `The previous link expired. ${outcome.elicitation.message}` }
      : outcome.elicitation;
  const requestState = sealRequestState(await getRequestStateKeys(), {
    ...binding,
    elicitationId: elicitation.elicitationId,
    expiresAt: outcome.expiresAt,
  });
  // A retry that waited for this very elicitation, still pending: the client already has the
  // link, so "still waiting" carries only the state (the SDK v2 client retries it silently).
  const stateOnly = retry?.status === "pending" && retry.elicitationId === elicitation.elicitationId;
  return { elicitation, inputRequired: toInputRequired(elicitation, provider, requestState, { stateOnly }) };
}
