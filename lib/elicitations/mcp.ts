// Our elicitations in the MCP wire shapes. The URL carries only the opaque id: no user data, no
// tokens, not pre-authenticated.
//  - 2025-11-25 (SEP-1036): a URL-mode elicitation `{mode, elicitationId, url, message}`, which a
//    server wraps into the -32042 error or sends as `elicitation/create`.
//  - 2026-07-28 (multi round-trip requests): an `input_required` result with one URL elicitation
//    under a stable key per provider and a requestState sealed by Frontdesk, which a tool handler
//    returns unchanged; the client retries with the state and the retry comes back to Frontdesk.
import { elicitationUrl } from "./create";

export interface UrlElicitation {
  mode: "url";
  elicitationId: string;
  url: string;
  message: string;
}

export interface InputRequiredResult {
  resultType: "input_required";
  /** Absent on a "still waiting" answer to a retry for the same elicitation (state only). */
  inputRequests?: Record<string, { method: "elicitation/create"; params: { mode: "url"; message: string; url: string } }>;
  requestState: string;
}

/** approve_requester: the user holds the connection but has not approved this requester for it (lib/consent). */
export type ElicitationPurpose = "connect" | "approve_requester";

export function elicitationMessage(provider: { displayName: string }, purpose: ElicitationPurpose = "connect"): string {
  return purpose === "approve_requester"
    ? `Your ${provider.displayName} account is connected in Frontdesk, but not yet for this requester. Open the link, sign in, and approve it.`
    : `Connect your ${provider.displayName} account in Frontdesk to continue. Open the link, sign in, and approve.`;
}

export function toUrlElicitation(elicitation: { id: string }, provider: { displayName: string }, message = elicitationMessage(provider)): UrlElicitation {
  return { mode: "url", elicitationId: elicitation.id, url: elicitationUrl(elicitation.id), message };
}

/** The input key of a provider's consent request: stable, so a client can recognise a repeat. */
export function inputRequestKey(provider: { slug: string }): string {
  return `frontdesk_${provider.slug.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

export function toInputRequired(
  elicitation: UrlElicitation,
  provider: { slug: string },
  requestState: string,
  opts: { stateOnly?: boolean } = {},
): InputRequiredResult {
  if (opts.stateOnly) return { resultType: "input_required", requestState };
  return {
    resultType: "input_required",
    inputRequests: {
      [inputRequestKey(provider)]: { method: "elicitation/create", params: { mode: "url", message: elicitation.message, url: elicitation.url } },
    },
    requestState,
  };
}
