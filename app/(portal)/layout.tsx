// Portal chrome: who is signed in, navigation, sign-out. Pages check the session themselves.
import Link from "next/link";
import type { ReactNode } from "react";
import { getViewer } from "@/lib/auth/session";
import { countWaitingRequests } from "@/lib/portal/inbox";
import { SubmitButton } from "@/components/ui/button";
import { signOutAction } from "./sign-in/actions";

export const dynamic = "force-dynamic";

export default async function PortalLayout({ children }: { children: ReactNode }) {
  const viewer = await getViewer();
  const waiting = viewer ? await countWaitingRequests({ issuer: viewer.issuer, subject: viewer.subject }) : 0;
  return (
    <div className="min-h-screen">
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex max-w-3xl items-center justify-between gap-4 px-6 py-3">
          <nav aria-label="Portal" className="flex items-center gap-6">
            <Link href="/" className="font-semibold">
              Frontdesk
            </Link>
            {viewer ? (
              <Link href="/requests" className="text-sm text-slate-700 hover:underline">
                Requests
                {waiting > 0 ? (
                  <span aria-label={`${waiting} waiting`} data-testid="waiting-count" className="ml-1.5 rounded-full bg-blue-600 px-2 py-0.5 text-xs font-medium text-white">
                    {waiting}
                  </span>
                ) : null}
              </Link>
            ) : null}
            {viewer ? (
              <Link href="/connections" className="text-sm text-slate-700 hover:underline">
                My connections
              </Link>
            ) : null}
          </nav>
          {viewer ? (
            <div className="flex items-center gap-3 text-sm">
              <span className="text-slate-600">
                Signed in as <span className="font-medium text-slate-900">{viewer.email ?? viewer.name ?? viewer.subject}</span>
              </span>
              <form action={signOutAction}>
                <SubmitButton variant="secondary" pendingLabel="Signing out…">
                  Sign out
                </SubmitButton>
              </form>
            </div>
          ) : null}
        </div>
      </header>
      <main className="mx-auto max-w-3xl px-6 py-10">{children}</main>
    </div>
  );
}
