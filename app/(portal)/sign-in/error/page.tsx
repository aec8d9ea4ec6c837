// Sign-in errors from next-auth, by code (never echoing the query).
import type { Metadata } from "next";
import Link from "next/link";
import { Alert } from "@/components/ui/alert";
import { Card } from "@/components/ui/card";

export const metadata: Metadata = { title: "Sign-in problem" };

const messages: Record<string, string> = {
  Configuration: "Sign-in is not configured correctly. Contact your administrator.",
  AccessDenied: "Your account is not allowed to sign in to Frontdesk.",
  Verification: "The sign-in link is no longer valid.",
};

export default async function SignInErrorPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { error } = await searchParams;
  const message = (typeof error === "string" && Object.hasOwn(messages, error) && messages[error]) || "Sign-in did not complete. Please try again.";
  return (
    <Card title="Sign-in did not work">
      <Alert tone="error">{message}</Alert>
      <p>
        <Link href="/sign-in" className="font-medium underline">
          Try signing in again
        </Link>
      </p>
    </Card>
  );
}
