// Chat notices: one webhook per deployment (NOTIFY_CHAT_WEBHOOK_URL, e.g. a Slack or Teams bot
// that forwards to the user), off when unset. The body is a compact JWS signed like the gateway
// webhooks (Frontdesk's key, /.well-known/jwks.json; `jti` = the outbox event id, the same on
// every retry; audience = the webhook URL), with the user's identity, the plain-language text
// and the portal link.
import { env } from "@/lib/env";
import type { OutboxPayload } from "@/lib/outbox/kinds";
import { postToReceiver, type AttemptBudget } from "@/lib/outbox/post";
import { signFrontdeskJwt } from "@/lib/signing/sign";
import { loadElicitationNotice, noticeSubject, noticeText } from "./elicitation-notice";

export const CHAT_NOTICE_JWT_TYPE = "frontdesk-notice+jwt";

export function isChatEnabled(): boolean {
  return !!env().NOTIFY_CHAT_WEBHOOK_URL;
}

export async function deliverChatNotice(
  event: { id: string; payload: OutboxPayload<"notice.chat"> },
  opts: AttemptBudget,
): Promise<"delivered" | "skipped:chat_off" | "skipped:not_pending" | "skipped:notices_off"> {
  const url = env().NOTIFY_CHAT_WEBHOOK_URL;
  if (!url) return "skipped:chat_off";
  const n = await loadElicitationNotice(event.payload.elicitationId);
  if (!n) return "skipped:not_pending";
  if (!n.user.noticesEnabled) return "skipped:notices_off";
  const jws = await signFrontdeskJwt(
    {
      event: "elicitation.created",
      user: { issuer: n.user.issuer, subject: n.user.subject, email: n.user.email, name: n.user.name },
      elicitation_id: n.elicitationId,
      url: n.url,
      expires_at: Math.floor(n.expiresAt.getTime() / 1000),
      requester: { gateway: n.gatewayName, agent: n.agentId ?? null, mcp_server: n.mcpServer ?? null, tool: n.toolName ?? null },
      provider: n.providerName,
      scopes: n.scopes,
      title: noticeSubject(n),
      text: noticeText(n),
    },
    { audience: url, expiresInSeconds: 600, typ: CHAT_NOTICE_JWT_TYPE, jti: event.id },
  );
  await postToReceiver(url, jws, "application/jwt", opts);
  return "delivered";
}
