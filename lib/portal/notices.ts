// Messages shown after a redirect, selected by a code from a closed set: query values are never
// rendered, so a crafted link cannot put text on a Frontdesk page.
export const notices = {
  forbidden: { tone: "error", title: "The form could not be accepted", body: "It did not come from this page in this browser session. Reload the page and try again." },
  upstream_unavailable: { tone: "warning", title: "The service could not be reached", body: "Nothing was changed. Try again in a moment with Approve." },
  upstream_error: { tone: "warning", title: "The connection did not complete", body: "The service returned an error. Nothing was stored. You can try again with Approve." },
  upstream_denied: { tone: "info", title: "Access was not granted", body: "You (or the service) declined access, so the request was declined. Your agent has been told." },
  upstream_invalid_scope: { tone: "error", title: "The service refused the requested permissions", body: "This looks like a configuration problem; the request has been marked failed. Contact your administrator." },
  insufficient_scope: { tone: "warning", title: "Fewer permissions were granted than requested", body: "The connection was saved, but the request was marked failed because some permissions were not granted." },
  invalid_key: { tone: "error", title: "That does not look like an API key", body: "Paste the whole key: at least 8 characters, no spaces." },
  key_rejected: { tone: "error", title: "The service rejected this key", body: "Nothing was stored. Check the key and try again." },
  validation_unavailable: { tone: "warning", title: "The key could not be checked", body: "The service did not answer. Nothing was stored; try again in a moment." },
  revoked: { tone: "success", title: "Connection revoked", body: "Frontdesk deleted its copy of the credential. Agents can no longer use it." },
  revoked_upstream: { tone: "success", title: "Connection revoked", body: "Frontdesk deleted its copy of the credential and the service confirmed the revocation." },
  rate_limited: { tone: "warning", title: "Too many actions in a short time", body: "Nothing was changed. Wait a minute and try again." },
  notices_on: { tone: "success", title: "Notices are on", body: "Frontdesk will tell you when a request starts waiting for you." },
  notices_off: { tone: "info", title: "Notices are off", body: "Waiting requests still appear on this page and in your agent." },
  revoke_not_found: { tone: "error", title: "Connection not found", body: "It may already have been removed." },
  requester_withdrawn: { tone: "success", title: "Access withdrawn", body: "That agent and gateway can no longer use the connection. If they need it again, they will ask you." },
  withdraw_not_found: { tone: "error", title: "Nothing to withdraw", body: "That access may already have been withdrawn." },
  delegation_revoked: { tone: "success", title: "Delegation revoked", body: "The agent can no longer act for you with this connection while you are away." },
  delegation_not_found: { tone: "error", title: "Delegation not found", body: "It may already have been revoked." },
  delegation_created: { tone: "success", title: "Delegation created", body: "The agent may now use this connection for you while you are away, with the permissions you chose, until the date shown. Revoke it here at any time." },
  delegation_no_scopes: { tone: "error", title: "The delegation was not created", body: "Choose at least one permission the agent may use. Nothing was changed." },
  delegation_not_possible: { tone: "error", title: "The delegation was not created", body: "That agent, gateway or connection is not available for a delegation any more. Reload the page and try again. Nothing was changed." },
  delegation_invalid: { tone: "error", title: "The delegation could not be set up", body: "Choose a number of days within the allowed range. Nothing was changed." },
} as const;

export type NoticeCode = keyof typeof notices;

export function readNotice(value: unknown): (typeof notices)[NoticeCode] | null {
  return typeof value === "string" && Object.hasOwn(notices, value) ? notices[value as NoticeCode] : null;
}
