// RFC 6749 5.2 / RFC 8693 2.2.2 error responses for the token endpoint. The description is
// written for the gateway's operator and never carries internals.
import { RETRY_AFTER_SECONDS, toAppError } from "@/lib/errors";
import type { GatewayAuthFailureDetails } from "@/lib/gateways/authenticate";
import { retryAfterOf } from "@/lib/rate-limit/limited";
import { json, type Reply } from "./http";

export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "invalid_scope"
  | "invalid_target"
  | "unsupported_grant_type"
  | "interaction_required"
  /** RFC 8628 3.5 uses it at the token endpoint for "the user declined": so do we. */
  | "access_denied"
  /** Extension (RFC 6749 8.5): a retry's request_state does not verify or is not this caller's. */
  | "invalid_request_state"
  | "temporarily_unavailable"
  | "server_error";

export function oauthErrorResponse(error: unknown): Reply {
  // A database outage becomes temporarily_unavailable (503, Retry-After), never server_error.
  const e = toAppError(error);
  const description = e.message;
  const explicit = e.details?.oauthError as OAuthErrorCode | undefined;
  if (explicit) return json({ error: explicit, error_description: description }, 400);
  switch (e.code) {
    case "invalid_client": {
      const challenge = (e.details as unknown as GatewayAuthFailureDetails | undefined)?.challengeBasic;
      return json(
        { error: "invalid_client", error_description: description },
        401,
        challenge ? { "WWW-Authenticate": 'Basic realm="frontdesk", charset="UTF-8"' } : {},
      );
    }
    case "invalid_request":
    case "invalid_body":
    case "invalid_query":
    case "invalid_params":
    case "unsupported_media_type":
    // RFC 8693 2.2.2: an invalid or unacceptable subject_token or actor_token is invalid_request.
    case "invalid_subject":
    // The same for a subject named by an agent that no delegation covers ("unacceptable based on policy").
    case "delegation_denied":
    case "invalid_actor":
      return json({ error: "invalid_request", error_description: description }, 400);
    // RFC 6749 has no rate-limit code; temporarily_unavailable with 429 + Retry-After says "wait".
    case "rate_limited":
      return json({ error: "temporarily_unavailable", error_description: description }, 429, { "Retry-After": retryAfterOf(e) });
    case "payload_too_large":
      return json({ error: "invalid_request", error_description: description }, 413);
    case "not_found":
    case "policy_denied":
      return json({ error: "invalid_target", error_description: description }, 400);
    case "upstream_unavailable":
    case "upstream_error":
    // The audit log could not record the decision (fail closed): retryable, like the REST 503.
    case "service_unavailable":
      return json({ error: "temporarily_unavailable", error_description: description }, 503, { "Retry-After": String(RETRY_AFTER_SECONDS) });
    default:
      return json({ error: "server_error", error_description: "Internal error" }, 500);
  }
}
