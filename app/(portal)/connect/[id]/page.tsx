// /connect/<elicitation id> - the consent page (design.md section 4, steps 3-6). Only the user
// the request was made for sees its details; everyone else gets a refusal and an audit record.
import type { Metadata } from "next";
import type { ReactNode } from "react";
import { ConsentSummary, requesterLabel } from "@/components/portal/consent-summary";
import { DelegationOffer } from "@/components/portal/delegation-offer";
import { Alert } from "@/components/ui/alert";
import { SubmitButton } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { Field } from "@/components/ui/field";
import { requireViewer } from "@/lib/auth/session";
import { loadConsentView } from "@/lib/portal/consent-view";
import { createFormToken } from "@/lib/portal/form-guard";
import { readNotice } from "@/lib/portal/notices";
import { refusalMessages } from "@/lib/portal/refusal";
import { apiKeyAction, approveAction, approveRequesterAction, declineAction } from "./actions";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Connect", referrer: "no-referrer" };

/** The approving form; the optional delegation's fields sit outside it and join it by this id. */
const APPROVE_FORM = "consent-approve";

/** Approve (primary) and Decline side by side, wrapping on a phone; Approve comes first in tab order. */
function Decision({ children }: { children: ReactNode }) {
  return <div className="flex flex-wrap items-end gap-3">{children}</div>;
}

export default async function ConnectPage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { id } = await params;
  const notice = readNotice((await searchParams).notice);
  const viewer = await requireViewer(`/connect/${encodeURIComponent(id)}`);
  const view = await loadConsentView(id, viewer);
  const noticeBox = notice ? (
    <Alert tone={notice.tone} title={notice.title}>
      {notice.body}
    </Alert>
  ) : null;

  if (view.kind === "refused") {
    if (view.reason === "completed") {
      return (
        <Card title="Connected">
          {noticeBox}
          <Alert tone="success" title="You can return to your agent">
            The connection is in place. This request is complete and cannot be used again.
          </Alert>
        </Card>
      );
    }
    const message = refusalMessages[view.reason];
    return (
      <Card title={message.title}>
        {noticeBox}
        <Alert tone={view.reason === "declined" ? "info" : "error"}>{message.body}</Alert>
      </Card>
    );
  }

  const { details } = view;
  const formToken = createFormToken(viewer.sessionHash, `consent:${details.elicitationId}`);
  const hidden = (
    <>
      <input type="hidden" name="elicitationId" value={details.elicitationId} />
      <input type="hidden" name="formToken" value={formToken} />
    </>
  );
  const decline = (
    <form action={declineAction}>
      {hidden}
      <SubmitButton variant="secondary" pendingLabel="Declining…">
        Decline
      </SubmitButton>
    </form>
  );
  if (details.mode === "approve_requester") {
    // The connection exists and covers the request: one click approves this requester, no upstream round trip.
    const who = requesterLabel({ gatewayName: details.gatewayName, agentName: details.verifiedAgent?.displayName ?? null });
    return (
      <Card title={`Allow ${who} to use ${details.provider.displayName}?`}>
        {noticeBox}
        <p>
          {details.provider.displayName} is already connected. Allow <strong>{who}</strong> to use it on your behalf? Frontdesk keeps the
          credential; the agent never sees it.
        </p>
        <ConsentSummary details={details} />
        <DelegationOffer details={details} form={APPROVE_FORM} />
        <Decision>
          <form action={approveRequesterAction} id={APPROVE_FORM}>
            {hidden}
            <SubmitButton pendingLabel="Allowing…">Allow</SubmitButton>
          </form>
          {decline}
        </Decision>
      </Card>
    );
  }
  const isApiKey = details.provider.kind === "api_key";
  return (
    <Card title={`Connect ${details.provider.displayName}?`}>
      {noticeBox}
      <p>
        <strong>{details.gatewayName}</strong> asks to use your {details.provider.displayName} account on your behalf. Frontdesk keeps the
        credential; the agent never sees it.
      </p>
      <ConsentSummary details={details} />
      <DelegationOffer details={details} form={APPROVE_FORM} />
      <Decision>
        {isApiKey ? (
          <form action={apiKeyAction} id={APPROVE_FORM} className="space-y-4" aria-label={`Connect ${details.provider.displayName} with an API key`}>
            {hidden}
            <Field
              id="apiKey"
              name="apiKey"
              type="password"
              label={`${details.provider.displayName} API key`}
              hint="Stored encrypted. It is never shown again, here or anywhere else."
              autoComplete="off"
              spellCheck={false}
              required
              minLength={8}
              maxLength={4096}
            />
            <SubmitButton pendingLabel="Connecting…">Connect</SubmitButton>
          </form>
        ) : (
          <form action={approveAction} id={APPROVE_FORM}>
            {hidden}
            <SubmitButton pendingLabel={`Opening ${details.provider.displayName}…`}>Approve and continue to {details.provider.displayName}</SubmitButton>
          </form>
        )}
        {decline}
      </Decision>
    </Card>
  );
}
