// Where a rejected upstream callback lands (no elicitation can be shown). Reason codes only.
import type { Metadata } from "next";
import Link from "next/link";
import { Alert } from "@/components/ui/alert";
import { Card } from "@/components/ui/card";

export const metadata: Metadata = { title: "Connection not completed" };

const reasons: Record<string, string> = {
  no_session: "You are not signed in to Frontdesk in this browser. Open the link your agent gave you, sign in, and approve again.",
  missing_state: "The service sent you back without the information Frontdesk needs. Nothing was stored. Start again from the link your agent gave you.",
  invalid_state:
    "This sign-in response is not valid here: it was already used, it expired, or it belongs to another browser session. Nothing was stored. Start again from the link your agent gave you.",
  provider_mismatch: "The response came from a different service than the one you approved. Nothing was stored.",
  not_pending: "This request is no longer waiting for a connection (it was completed, declined or has expired). Nothing was stored.",
};

export default async function OAuthErrorPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { reason } = await searchParams;
  const text = (typeof reason === "string" && Object.hasOwn(reasons, reason) && reasons[reason]) || reasons.invalid_state!;
  return (
    <Card title="The connection was not completed">
      <Alert tone="error">{text}</Alert>
      <p>
        <Link href="/connections" className="font-medium underline">
          Go to my connections
        </Link>
      </p>
    </Card>
  );
}
