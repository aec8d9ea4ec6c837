// The MCP URL-mode elicitation (spec 2025-11-25, SEP-1036) for one of our elicitations.
// The URL carries only the opaque id: no user data, no tokens, not pre-authenticated.
import { elicitationUrl } from "./create";

export function toUrlElicitation(
  elicitation: { id: string },
  provider: { displayName: string },
): { mode: "url"; elicitationId: string; url: string; message: string } {
  return {
    mode: "url",
    elicitationId: elicitation.id,
    url: elicitationUrl(elicitation.id),
    message: `Connect your ${provider.displayName} account in Frontdesk to continue. Open the link, sign in, and approve.`,
  };
}
