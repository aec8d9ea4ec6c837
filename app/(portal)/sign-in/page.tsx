// Sign-in: one button to the organization's identity provider, then back to where the person was.
import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { Alert } from "@/components/ui/alert";
import { Card } from "@/components/ui/card";
import { SubmitButton } from "@/components/ui/button";
import { getViewer } from "@/lib/auth/session";
import { toSameOriginPath } from "@/lib/auth/safe-redirect";
import { env } from "@/lib/env";
import { waitingRequestHint } from "@/lib/portal/sign-in-context";
import { signInAction } from "./actions";

export const metadata: Metadata = { title: "Sign in" };

export default async function SignInPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const callbackUrl = toSameOriginPath(params.callbackUrl);
  if (await getViewer()) redirect(callbackUrl);
  const e = env();
  if (!e.OIDC_ISSUER || !e.OIDC_CLIENT_ID || !e.OIDC_CLIENT_SECRET) {
    return (
      <Card title="Sign-in is not set up">
        <Alert tone="warning">
          This Frontdesk has no identity provider configured. An administrator sets OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET.
        </Alert>
      </Card>
    );
  }
  const waiting = await waitingRequestHint(callbackUrl);
  return (
    <Card title="Sign in to Frontdesk">
      {waiting ? (
        <Alert tone="info" title="A request is waiting for you">
          {waiting.gatewayName} asks to use your {waiting.providerName} account. Sign in to see the details and decide.
        </Alert>
      ) : null}
      <p>Frontdesk keeps the credentials your AI agents use on your behalf. Sign in with your organization account to continue.</p>
      <form action={signInAction}>
        <input type="hidden" name="callbackUrl" value={callbackUrl} />
        <SubmitButton pendingLabel="Redirecting…">Sign in with {e.OIDC_PROVIDER_NAME}</SubmitButton>
      </form>
    </Card>
  );
}
