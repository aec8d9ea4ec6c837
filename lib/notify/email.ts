// E-mail notices over SMTP (nodemailer), configured by SMTP_URL and NOTIFY_EMAIL_FROM; off when
// unset: a request waiting for the user, and an agent's first use of a delegation. The message carries the notice text and the portal link only. Its Message-ID is derived
// from the outbox event id, so a retry after a lost SMTP answer is recognisably the same message.
import nodemailer, { type Transporter } from "nodemailer";
import { env, publicUrl } from "@/lib/env";
import type { OutboxPayload } from "@/lib/outbox/kinds";
import { DeliveryError, remainingMs, type AttemptBudget } from "@/lib/outbox/post";
import { delegationNoticeSubject, delegationNoticeText, loadDelegationNotice } from "./delegation-notice";
import { loadElicitationNotice, noticeSubject, noticeText } from "./elicitation-notice";

export function isEmailEnabled(): boolean {
  const e = env();
  return !!e.SMTP_URL && !!e.NOTIFY_EMAIL_FROM;
}

let transport: { url: string; transporter: Transporter } | undefined;

/** Per SMTP step; an attempt does not start without enough of its budget left (remainingMs). */
const SMTP_TIMEOUT_MS = 10_000;

function transporter(): Transporter {
  const url = env().SMTP_URL!;
  if (transport?.url !== url) {
    transport = {
      url,
      transporter: nodemailer.createTransport(url, {
        connectionTimeout: SMTP_TIMEOUT_MS,
        greetingTimeout: SMTP_TIMEOUT_MS,
        socketTimeout: SMTP_TIMEOUT_MS,
        disableFileAccess: true,
        disableUrlAccess: true,
      } as never),
    };
  }
  return transport.transporter;
}

export async function deliverEmailNotice(
  event: { id: string; payload: OutboxPayload<"notice.email"> },
  opts: AttemptBudget,
): Promise<"delivered" | "skipped:email_off" | "skipped:not_pending" | "skipped:notices_off"> {
  if (!isEmailEnabled()) return "skipped:email_off";
  const notice = await loadElicitationNotice(event.payload.elicitationId);
  // Settled or expired before the mail could go out: a stale link helps nobody.
  if (!notice) return "skipped:not_pending";
  if (!notice.user.noticesEnabled) return "skipped:notices_off";
  await sendNotice(event.id, event.payload.to, noticeSubject(notice), noticeText(notice), opts);
  return "delivered";
}

/** An agent used a delegation for the first time: told even if it was revoked since (it did happen). */
export async function deliverDelegationEmailNotice(
  event: { id: string; payload: OutboxPayload<"notice.delegation_email"> },
  opts: AttemptBudget,
): Promise<"delivered" | "skipped:email_off" | "skipped:gone" | "skipped:notices_off"> {
  if (!isEmailEnabled()) return "skipped:email_off";
  const notice = await loadDelegationNotice(event.payload.delegationId, event.payload.gatewayId);
  if (!notice) return "skipped:gone";
  if (!notice.user.noticesEnabled) return "skipped:notices_off";
  await sendNotice(event.id, event.payload.to, delegationNoticeSubject(notice), delegationNoticeText(notice), opts);
  return "delivered";
}

async function sendNotice(eventId: string, to: string, subject: string, text: string, opts: AttemptBudget): Promise<void> {
  const host = new URL(publicUrl()).hostname;
  try {
    remainingMs(opts);
    await transporter().sendMail({
      from: env().NOTIFY_EMAIL_FROM,
      to,
      subject,
      text,
      messageId: `<${eventId}@${host}>`,
      headers: { "Auto-Submitted": "auto-generated" },
    });
  } catch (e) {
    if (e instanceof DeliveryError) throw e;
    const code = e && typeof e === "object" && "responseCode" in e ? `smtp_${String((e as { responseCode: unknown }).responseCode)}` : null;
    throw new DeliveryError(code ?? (e instanceof Error && "code" in e ? `smtp_${String((e as { code: unknown }).code).slice(0, 40)}` : "smtp_error"));
  }
}
